{{/*
Environment of one service container. Call with (dict "root" $ "component" "intake" "svc" $svc).
Only references to existing Secrets carry secret material; nothing secret is read from values.
*/}}
{{- define "aduan.env" -}}
{{- $root := .root }}
{{- $v := .root.Values }}
{{- $svc := .svc }}
{{- $component := .component -}}
- name: TMPDIR
  value: /tmp
- name: ADUAN_GRPC_HOST
  value: "0.0.0.0"
- name: ADUAN_GRPC_PORT
  value: {{ $svc.grpcPort | quote }}
- name: ADUAN_METRICS_HOST
  value: "0.0.0.0"
- name: ADUAN_METRICS_PORT
  value: {{ $v.metrics.port | quote }}
- name: ADUAN_LOG_LEVEL
  value: {{ $svc.config.logLevel | default $v.global.logLevel | quote }}
- name: ADUAN_LOG_FORMAT
  value: {{ $v.global.logFormat | quote }}
- name: ADUAN_REFLECTION
  value: {{ $v.global.reflection | toString | quote }}
{{- if $v.store.embeddedSqlite }}
- name: ADUAN_DATA_DIR
  value: /data
- name: ADUAN_STORE_URL
  value: {{ printf "sqlite:////data/%s.sqlite" $component | quote }}
{{- else }}
- name: ADUAN_STORE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "global.storeSecret.name (or <service>.store.secretName) is required unless store.embeddedSqlite" (include "aduan.storeSecretName" .) }}
      key: {{ $svc.store.secretKey }}
{{- end }}
{{- if and $v.secrets.checkpointKeys.name (ne $component "query") }}
- name: ADUAN_CHECKPOINT_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $v.secrets.checkpointKeys.name }}
      key: {{ index $v.secrets.checkpointKeys.keys $component }}
{{- end }}
{{- include "aduan.authEnv" . }}
{{- include "aduan.tlsEnv" . }}
- name: ADUAN_NATS_URL
  value: {{ include "aduan.natsUrl" $root | quote }}
- name: ADUAN_STREAM_REPLICAS
  value: {{ $v.natsConnection.streamReplicas | quote }}
- name: ADUAN_STREAM_MAX_AGE
  value: {{ $v.natsConnection.streamMaxAge | quote }}
{{- with $v.natsConnection.auth }}
{{- if and .existingSecret .userKey }}
- name: ADUAN_NATS_USER
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .userKey }}
{{- end }}
{{- if and .existingSecret .passwordKey }}
- name: ADUAN_NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .passwordKey }}
{{- end }}
{{- if and .existingSecret .credsKey }}
- name: ADUAN_NATS_CREDS
  value: {{ printf "/etc/aduan/nats/%s" .credsKey | quote }}
{{- end }}
{{- end }}
{{- include "aduan.peerEnv" . }}
{{- include "aduan.otelEnv" . }}
{{- if eq $component "intake" }}
- name: ADUAN_WEBHOOK_HOST
  value: "0.0.0.0"
- name: ADUAN_WEBHOOK_PORT
  value: {{ $svc.webhookPort | quote }}
{{- with $svc.config.contactAllowlist }}
- name: ADUAN_CONTACT_ALLOWLIST
  value: {{ . | quote }}
{{- end }}
{{- with $v.secrets.masterKey }}
{{- if .name }}
- name: ADUAN_MASTER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- with $v.secrets.whatsapp }}
{{- if .name }}
- name: ADUAN_WHATSAPP_APP_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .appSecretKey }}
- name: ADUAN_WHATSAPP_VERIFY_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .verifyTokenKey }}
{{- end }}
{{- end }}
- name: ADUAN_WHATSAPP_ANSWER_SECONDS
  value: {{ $svc.config.whatsappAnswerSeconds | quote }}
{{- with $svc.config.whatsappBaseUrl }}
- name: ADUAN_WHATSAPP_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.secrets.whatsapp }}
{{- if .name }}
- name: ADUAN_WHATSAPP_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .tokenKey }}
{{- end }}
{{- end }}
{{- with $svc.config.media }}
- name: ADUAN_MEDIA_STORE
  value: {{ .store | quote }}
{{- if eq .store "local" }}
- name: ADUAN_MEDIA_DIR
  value: /var/lib/aduan/media
{{- end }}
{{- if eq .store "s3" }}
- name: ADUAN_MEDIA_S3_BUCKET
  value: {{ required "intake.config.media.s3Bucket is required when media.store is s3" .s3Bucket | quote }}
{{- with .s3Prefix }}
- name: ADUAN_MEDIA_S3_PREFIX
  value: {{ . | quote }}
{{- end }}
{{- with .s3Endpoint }}
- name: ADUAN_MEDIA_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .s3Region }}
- name: ADUAN_MEDIA_S3_REGION
  value: {{ . | quote }}
{{- end }}
{{- if .s3CredentialsSecret }}
- name: ADUAN_MEDIA_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .s3CredentialsSecret }}
      key: {{ .s3CredentialsKeys.accessKeyId }}
- name: ADUAN_MEDIA_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .s3CredentialsSecret }}
      key: {{ .s3CredentialsKeys.secretAccessKey }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if eq $component "routing" }}
{{- if $svc.config.rulesFromChart }}
- name: ADUAN_ROUTING_RULES_FILE
  value: /etc/aduan/routing/routing-rules.yaml
{{- end }}
- name: ADUAN_SLA_TICKER
  value: {{ $svc.config.slaTicker | toString | quote }}
- name: ADUAN_SLA_TICK_SECONDS
  value: {{ $svc.config.slaTickSeconds | quote }}
- name: ADUAN_PING_PONG_LIMIT
  value: {{ $svc.config.pingPongLimit | quote }}
{{- end }}
{{- if eq $component "notification" }}
- name: ADUAN_NOTIFY_CHANNEL_MODE
  value: {{ $svc.config.channelMode | quote }}
{{- if $svc.templates.enabled }}
- name: ADUAN_TEMPLATES_DIR
  value: /etc/aduan/templates
{{- end }}
{{- with $svc.config.whatsappBaseUrl }}
- name: ADUAN_WHATSAPP_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- with $svc.config.whatsappPhoneNumberId }}
- name: ADUAN_WHATSAPP_PHONE_NUMBER_ID
  value: {{ . | quote }}
{{- end }}
{{- with $v.secrets.whatsapp }}
{{- if .name }}
- name: ADUAN_WHATSAPP_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .tokenKey }}
{{- end }}
{{- end }}
{{- with $svc.config.smtpHost }}
- name: ADUAN_SMTP_HOST
  value: {{ . | quote }}
- name: ADUAN_SMTP_PORT
  value: {{ $svc.config.smtpPort | quote }}
{{- end }}
{{- with $svc.config.smtpUsername }}
- name: ADUAN_SMTP_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- with $svc.config.smtpFrom }}
- name: ADUAN_SMTP_FROM
  value: {{ . | quote }}
{{- end }}
{{- with $v.secrets.smtp }}
{{- if .name }}
- name: ADUAN_SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .passwordKey }}
{{- end }}
{{- end }}
{{- with $svc.config.officeWebhookUrl }}
- name: ADUAN_OFFICE_WEBHOOK_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.secrets.officeWebhook }}
{{- if .name }}
- name: ADUAN_OFFICE_WEBHOOK_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .secretKey }}
{{- end }}
{{- end }}
{{- end }}
{{- include "aduan.extraEnv" . }}
{{- end }}

{{/*
Environment of the desk's container (aduan_desk.settings.DeskSettings.from_env). Call with
(dict "root" $ "component" "desk" "svc" $.Values.desk).
*/}}
{{- define "aduan.deskEnv" -}}
{{- $root := .root }}
{{- $v := .root.Values }}
{{- $svc := .svc -}}
- name: TMPDIR
  value: /tmp
- name: ADUAN_DESK_HOST
  value: "0.0.0.0"
- name: ADUAN_DESK_PORT
  value: {{ $svc.httpPort | quote }}
- name: ADUAN_METRICS_HOST
  value: "0.0.0.0"
- name: ADUAN_METRICS_PORT
  value: {{ $v.metrics.port | quote }}
- name: ADUAN_LOG_LEVEL
  value: {{ $svc.config.logLevel | default $v.global.logLevel | quote }}
- name: ADUAN_LOG_FORMAT
  value: {{ $v.global.logFormat | quote }}
- name: ADUAN_DESK_PUBLIC_URL
  value: {{ $svc.publicUrl | quote }}
{{- with $svc.sessionSecret }}
{{- if .existingSecret }}
- name: ADUAN_DESK_SESSION_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- with $svc.oidc }}
{{- if .issuer }}
- name: ADUAN_DESK_OIDC_ISSUER
  value: {{ .issuer | quote }}
- name: ADUAN_DESK_OIDC_CLIENT_ID
  value: {{ .clientId | quote }}
{{- with .scopes }}
- name: ADUAN_DESK_OIDC_SCOPES
  value: {{ . | quote }}
{{- end }}
{{- if .clientSecret.existingSecret }}
- name: ADUAN_DESK_OIDC_CLIENT_SECRET_FILE
  value: /etc/aduan/oidc/client-secret
{{- end }}
{{- end }}
{{- end }}
- name: ADUAN_DESK_TIMEZONE
  value: {{ $svc.timezone | quote }}
- name: ADUAN_DESK_LANGUAGE
  value: {{ $svc.language | quote }}
{{- include "aduan.authEnv" . }}
{{- include "aduan.tlsEnv" . }}
{{- range $peer := splitList " " (include "aduan.deskPeers" $root) }}
- name: {{ printf "ADUAN_%s_ADDR" (upper $peer) }}
  value: {{ include "aduan.grpcAddr" (dict "root" $root "component" $peer) | quote }}
{{- end }}
{{- include "aduan.otelEnv" . }}
{{- include "aduan.extraEnv" . }}
{{- end }}

{{/*
OpenTelemetry: the service name, the collector (global.otel) and the resource attributes.
*/}}
{{- define "aduan.otelEnv" -}}
{{- $root := .root }}
{{- $v := .root.Values }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "aduan-%s" .component | quote }}
{{- with $v.global.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=aduan,service.version=%s,k8s.namespace.name=%s%s" $root.Chart.AppVersion $root.Release.Namespace (ternary (printf ",%s" $v.global.otel.resourceAttributes) "" (ne $v.global.otel.resourceAttributes "")) | quote }}
{{- end }}

{{/*
A workload's own variables: env (NAME: value) and extraEnv (EnvVar objects), last so they win.
*/}}
{{- define "aduan.extraEnv" -}}
{{- range $name, $value := .svc.env }}
- name: {{ $name }}
  {{- /* Whole numbers as integers (8388608, not 8.388608e+06). */}}
  value: {{ ternary ($value | int64) $value (and (kindIs "float64" $value) (eq $value (floor $value))) | toString | quote }}
{{- end }}
{{- with .svc.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}


{{/*
Authentication of callers and this service's own identity for its peers (docs/security.md).
*/}}
{{- define "aduan.authEnv" -}}
{{- $root := .root }}
{{- $v := .root.Values }}
{{- $component := .component }}
{{- if $v.auth.dev }}
- name: ADUAN_AUTH_DEV
  value: "true"
{{- end }}
{{- with $v.auth.jwksUrl }}
- name: ADUAN_JWT_JWKS_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.auth.issuer }}
- name: ADUAN_JWT_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- with $v.auth.audience }}
- name: ADUAN_JWT_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- /* The desk presents its users' tokens, never its own: no service identity. */}}
{{- with $v.secrets.serviceIdentity }}
{{- if and .name (ne $component "desk") }}
- name: ADUAN_JWT_SIGNING_KEY_FILE
  value: /etc/aduan/identity/key.pem
- name: ADUAN_JWT_KID
  value: {{ index (.kids | default dict) $component | default (printf "aduan-%s" $component) | quote }}
{{- if .jwksKey }}
- name: ADUAN_JWT_JWKS_FILE
  value: /etc/aduan/identity/jwks.json
{{- end }}
{{- end }}
{{- end }}
{{- with $v.secrets.jwt }}
{{- if .name }}
{{- range $envName, $key := .keys }}
- name: {{ printf "ADUAN_JWT_%s" $envName }}
  valueFrom:
    secretKeyRef:
      name: {{ $v.secrets.jwt.name }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
gRPC over TLS: the mounted kubernetes.io/tls Secret, and the plaintext health-only port.
*/}}
{{- define "aduan.tlsEnv" -}}
{{- $root := .root }}
{{- $v := .root.Values }}
{{- $component := .component }}
{{- if and $v.tls.enabled (eq $component "desk") }}
{{- /* The desk only calls gRPC over TLS (it serves HTTP behind the ingress): the CA, and its
certificate as the client's when the services require one. */}}
- name: ADUAN_TLS_CA
  value: /etc/aduan/tls/ca.crt
{{- if eq $v.tls.clientAuth "require" }}
- name: ADUAN_TLS_CLIENT_CERT
  value: /etc/aduan/tls/tls.crt
- name: ADUAN_TLS_CLIENT_KEY
  value: /etc/aduan/tls/tls.key
{{- end }}
{{- with $v.tls.serverName }}
- name: ADUAN_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- else if $v.tls.enabled }}
- name: ADUAN_TLS_CERT
  value: /etc/aduan/tls/tls.crt
- name: ADUAN_TLS_KEY
  value: /etc/aduan/tls/tls.key
- name: ADUAN_TLS_CA
  value: /etc/aduan/tls/ca.crt
- name: ADUAN_TLS_CLIENT_AUTH
  value: {{ $v.tls.clientAuth | quote }}
{{- with $v.tls.serverName }}
- name: ADUAN_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
- name: ADUAN_HEALTH_PORT
  value: {{ $v.tls.healthPort | quote }}
{{- end }}
{{- end }}

{{/*
ADUAN_<PEER>_ADDR of every service.
*/}}
{{- define "aduan.peerEnv" -}}
{{- $root := .root }}
{{- range $peer := splitList " " (include "aduan.components" $root) }}
- name: {{ printf "ADUAN_%s_ADDR" (upper $peer) }}
  value: {{ include "aduan.grpcAddr" (dict "root" $root "component" $peer) | quote }}
{{- end }}
{{- end }}
