{{/*
The four services, in start-up order. Each has a block of the same name in values.yaml.
*/}}
{{- define "aduan.components" -}}
intake routing notification query
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
