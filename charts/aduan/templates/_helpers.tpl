{{/*
The four services, in start-up order. Each has a block of the same name in values.yaml.
*/}}
{{- define "aduan.components" -}}
intake routing notification query
{{- end }}

{{/*
Every workload block of values.yaml: the four services and the desk (the web workplace, HTTP).
Templates common to all of them (ServiceAccount, HPA, PDB, ServiceMonitor, Deployment, Service)
range over these; what only the gRPC services have ranges over aduan.components.
*/}}
{{- define "aduan.workloads" -}}
{{ include "aduan.components" . }} desk
{{- end }}

{{/*
The services the desk calls with the signed-in user's token (aduan_desk.settings.PEERS): its
ADUAN_<PEER>_ADDR and its NetworkPolicy egress.
*/}}
{{- define "aduan.deskPeers" -}}
intake routing query notification
{{- end }}

{{/*
Chart name, overridable with nameOverride.
*/}}
{{- define "aduan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Release-wide name prefix (truncated so that "-notification" still fits in 63 characters).
*/}}
{{- define "aduan.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of one component's resources. Call with (dict "root" $ "component" "intake").
*/}}
{{- define "aduan.componentName" -}}
{{- printf "%s-%s" (include "aduan.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aduan.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels shared by every object of the release. Call with (dict "root" $ "component" "intake");
component may be "" for release-wide objects.
*/}}
{{- define "aduan.labels" -}}
helm.sh/chart: {{ include "aduan.chart" .root }}
app.kubernetes.io/name: {{ include "aduan.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: aduan
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Metadata of one object: name, namespace, labels (with commonLabels) and annotations
(commonAnnotations plus the object's own). Call with
(dict "root" $ "component" "intake" "name" "aduan-intake" "labels" dict "annotations" dict);
name defaults to the component's name, labels and annotations are optional.
*/}}
{{- define "aduan.metadata" -}}
name: {{ .name | default (include "aduan.componentName" .) }}
namespace: {{ .root.Release.Namespace }}
labels:
  {{- include "aduan.labels" . | nindent 2 }}
  {{- with .labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $annotations := merge (deepCopy (.annotations | default dict)) (deepCopy (.root.Values.commonAnnotations | default dict)) }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Selector labels of one component (immutable in a Deployment: never add to these).
*/}}
{{- define "aduan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aduan.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Every pod of this release's services (not the NATS subchart's, which lack part-of).
*/}}
{{- define "aduan.releasePodSelector" -}}
app.kubernetes.io/name: {{ include "aduan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: aduan
{{- end }}

{{/*
Image reference: [registry/]repository(:tag|@digest); the tag defaults to the appVersion.
Call with (dict "root" $ "svc" $svc).
*/}}
{{- define "aduan.image" -}}
{{- $registry := .root.Values.global.image.registry | default "" | trimSuffix "/" }}
{{- $repo := .svc.image.repository }}
{{- if $registry }}
{{- $repo = printf "%s/%s" $registry $repo }}
{{- end }}
{{- if .svc.image.digest }}
{{- printf "%s@%s" $repo .svc.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (.svc.image.tag | default .root.Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{- define "aduan.pullPolicy" -}}
{{- .svc.image.pullPolicy | default .root.Values.global.image.pullPolicy }}
{{- end }}

{{/*
host:port of a component's gRPC Service, for ADUAN_<NAME>_ADDR.
*/}}
{{- define "aduan.grpcAddr" -}}
{{- $svc := index .root.Values .component }}
{{- printf "%s:%d" (include "aduan.componentName" .) (int $svc.grpcPort) }}
{{- end }}

{{/*
NATS URL: the subchart's client Service when nats.enabled, else natsConnection.url. The NATS
chart names its Service like this chart does (<release>-nats, or <release> when it contains "nats").
*/}}
{{- define "aduan.natsUrl" -}}
{{- if .Values.nats.enabled }}
{{- $natsName := "" }}
{{- if .Values.nats.fullnameOverride }}
{{- $natsName = .Values.nats.fullnameOverride }}
{{- else if contains "nats" .Release.Name }}
{{- $natsName = .Release.Name }}
{{- else }}
{{- $natsName = printf "%s-nats" .Release.Name }}
{{- end }}
{{- printf "nats://%s:4222" ($natsName | trunc 63 | trimSuffix "-") }}
{{- else }}
{{- required "natsConnection.url is required when nats.enabled is false" .Values.natsConnection.url }}
{{- end }}
{{- end }}

{{/*
Name of the Secret holding a component's store DSN.
*/}}
{{- define "aduan.storeSecretName" -}}
{{- .svc.store.secretName | default .root.Values.global.storeSecret.name }}
{{- end }}

{{/*
The kubernetes.io/tls Secret of one component when tls.enabled. Call with (dict "root" $ "component" "intake").
*/}}
{{- define "aduan.tlsSecretName" -}}
{{- $tls := .root.Values.tls }}
{{- $name := index ($tls.secretNames | default dict) .component | default $tls.secretName }}
{{- required (printf "tls.enabled needs tls.secretName or tls.secretNames.%s" .component) $name }}
{{- end }}

{{/*
The port the kubelet probes: the gRPC port, or the plaintext health port when the API speaks TLS.
*/}}
{{- define "aduan.probePort" -}}
{{- if .root.Values.tls.enabled }}{{ .root.Values.tls.healthPort }}{{ else }}{{ .svc.grpcPort }}{{ end }}
{{- end }}

{{/*
The ServiceAccount a component's pods run as: its own (serviceAccount.create), or the one named.
*/}}
{{- define "aduan.serviceAccountName" -}}
{{- if .svc.serviceAccount.create }}
{{- .svc.serviceAccount.name | default (include "aduan.componentName" .) }}
{{- else }}
{{- .svc.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/*
Host and port of a URL: (dict "url" "https://idp.example/certs" "default" 443) -> "443". The port
written in the URL, else 443 for https, 80 for http, else the default.
*/}}
{{- define "aduan.urlPort" -}}
{{- $u := urlParse .url }}
{{- $hostport := splitList ":" $u.host }}
{{- if gt (len $hostport) 1 }}
{{- last $hostport }}
{{- else if eq $u.scheme "https" }}443
{{- else if eq $u.scheme "http" }}80
{{- else }}{{ .default }}
{{- end }}
{{- end }}

{{/*
The security contexts (values podSecurityContext / containerSecurityContext; a key set to null is
left out, e.g. runAsUser and fsGroup on OpenShift, which assigns a random UID).
*/}}
{{- define "aduan.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "aduan.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext }}
{{- end }}

{{/*
The three probes. For a gRPC service the kubelet asks a health service name each: startup (start-up
work done), readiness (this replica can serve its own API), liveness (the process and its event
loop are alive, never a dependency); the desk answers the same questions over HTTP. Timings from
values probes for every workload. Call with the component context.
*/}}
{{- define "aduan.probes" -}}
{{- $probes := .root.Values.probes }}
{{- $desk := eq .component "desk" }}
{{- $port := ternary 0 (include "aduan.probePort" . | int) $desk }}
{{- /* The desk answers HTTP: /healthz (the process answers), /readyz (query and routing answer). */}}
{{- $paths := dict "startup" "/healthz" "readiness" "/readyz" "liveness" "/healthz" }}
{{- range $probe := list "startup" "readiness" "liveness" }}
{{- $timing := index $probes $probe }}
{{ $probe }}Probe:
  {{- if $desk }}
  httpGet:
    path: {{ index $paths $probe }}
    port: http
  {{- else }}
  grpc:
    port: {{ $port }}
    service: {{ $probe }}
  {{- end }}
  periodSeconds: {{ $timing.periodSeconds }}
  failureThreshold: {{ $timing.failureThreshold }}
  timeoutSeconds: {{ $timing.timeoutSeconds }}
  {{- with $timing.initialDelaySeconds }}
  initialDelaySeconds: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
The component's kubernetes.io/tls Secret as the volume "tls", and its identity key as "identity".
*/}}
{{- define "aduan.tlsVolume" -}}
- name: tls
  secret:
    secretName: {{ include "aduan.tlsSecretName" . }}
    defaultMode: 0440
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
      - key: ca.crt
        path: ca.crt
{{- end }}

{{- define "aduan.identityVolume" -}}
{{- with .root.Values.secrets.serviceIdentity -}}
- name: identity
  secret:
    secretName: {{ .name }}
    defaultMode: 0440
    items:
      - key: {{ index .keys $.component }}
        path: key.pem
      {{- with .jwksKey }}
      - key: {{ . }}
        path: jwks.json
      {{- end }}
{{- end }}
{{- end }}

{{/*
The outbound calls the configuration implies, beyond DNS, NATS, PostgreSQL and the peers: a YAML
list of {key (under networkPolicy.egress), what, url, ports, components}. The network policies
allow each to networkPolicy.egress.<key>.cidrs/.to on its ports (refused when neither is set).
*/}}
{{- define "aduan.egressDestinations" -}}
{{- $v := .Values }}
{{- $all := list }}
{{- range $c := splitList " " (include "aduan.components" .) }}{{ if (index $v $c).enabled }}{{ $all = append $all $c }}{{ end }}{{ end }}
{{- $live := and $v.notification.enabled (eq $v.notification.config.channelMode "live") }}
{{- $out := list }}
{{- /* The identity provider: its JWKS for every service (auth.jwksUrl); for the desk with
OpenID Connect sign-in also its issuer (discovery, authorization code exchange, end session). */}}
{{- $idp := list }}
{{- $idpUrls := list }}
{{- with $v.auth.jwksUrl }}
{{- $idp = $all }}
{{- $idpUrls = append $idpUrls . }}
{{- end }}
{{- if and $v.desk.enabled $v.desk.oidc.issuer }}
{{- $idp = append $idp "desk" }}
{{- $idpUrls = append $idpUrls $v.desk.oidc.issuer }}
{{- end }}
{{- if $idp }}
{{- $idpPorts := list }}
{{- range $idpUrls }}{{ $idpPorts = append $idpPorts (include "aduan.urlPort" (dict "url" . "default" 443)) }}{{ end }}
{{- $out = append $out (dict "key" "identityProvider" "what" (ternary "the identity provider's JWKS" "the identity provider" (and (ne $v.auth.jwksUrl "") (eq (len $idpUrls) 1))) "url" (join ", " $idpUrls) "ports" (uniq $idpPorts) "components" $idp) }}
{{- end }}
{{- $wa := list }}
{{- $waUrl := "" }}
{{- if and $live $v.notification.config.whatsappBaseUrl }}
{{- $wa = append $wa "notification" }}
{{- $waUrl = $v.notification.config.whatsappBaseUrl }}
{{- end }}
{{- if and $v.intake.enabled $v.secrets.whatsapp.name }}
{{- $wa = append $wa "intake" }}
{{- $waUrl = $v.intake.config.whatsappBaseUrl | default $waUrl | default "https://graph.facebook.com" }}
{{- end }}
{{- if $wa }}
{{- $out = append $out (dict "key" "whatsapp" "what" "the WhatsApp Cloud API" "url" $waUrl "ports" (list (include "aduan.urlPort" (dict "url" $waUrl "default" 443))) "components" $wa) }}
{{- end }}
{{- if and $live $v.notification.config.smtpHost }}
{{- $out = append $out (dict "key" "smtp" "what" "the SMTP relay" "url" $v.notification.config.smtpHost "ports" (list (toString $v.notification.config.smtpPort)) "components" (list "notification")) }}
{{- end }}
{{- if and $live $v.notification.config.officeWebhookUrl }}
{{- $out = append $out (dict "key" "officeWebhook" "what" "the office webhook" "url" $v.notification.config.officeWebhookUrl "ports" (list (include "aduan.urlPort" (dict "url" $v.notification.config.officeWebhookUrl "default" 443))) "components" (list "notification")) }}
{{- end }}
{{- if and $v.intake.enabled (eq $v.intake.config.media.store "s3") }}
{{- $s3 := $v.intake.config.media.s3Endpoint | default "https://s3.amazonaws.com" }}
{{- $out = append $out (dict "key" "mediaStore" "what" "the S3 media bucket" "url" $s3 "ports" (list (include "aduan.urlPort" (dict "url" $s3 "default" 443))) "components" (list "intake")) }}
{{- end }}
{{- with $v.global.otel.endpoint }}
{{- $traced := ternary (append $all "desk") $all $v.desk.enabled }}
{{- $out = append $out (dict "key" "otel" "what" "the OpenTelemetry collector" "url" . "ports" (list (include "aduan.urlPort" (dict "url" . "default" 4317))) "components" $traced) }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
The NATS subchart's server pods (its StatefulSet's selector labels).
*/}}
{{- define "aduan.natsSelectorLabels" -}}
app.kubernetes.io/name: {{ .Values.nats.nameOverride | default "nats" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: nats
{{- end }}
