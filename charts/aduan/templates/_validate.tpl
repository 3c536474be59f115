{{/*
Render-time refusals: every combination of values with which a service would refuse to start (or
could not work) fails `helm install`/`helm template` here, with the message saying what to set.
The services' own start-up checks are the reference (aduan.service.auth.ServiceAuth.build,
aduan.core.settings, intake's media settings, notification's config).
*/}}
{{- define "aduan.validate" -}}
{{- $v := .Values }}
{{- $jwtKeys := ternary ($v.secrets.jwt.keys | default dict) dict (ne $v.secrets.jwt.name "") }}
{{- range $component := splitList " " (include "aduan.components" .) }}
{{- $svc := index $v $component }}
{{- if $svc.enabled }}
{{- /* Variables a service gets from env/extraEnv count as set; extraEnvFrom cannot be read. */}}
{{- $names := keys ($svc.env | default dict) }}
{{- range $svc.extraEnv }}{{ $names = append $names .name }}{{ end }}
{{- $opaque := not (empty $svc.extraEnvFrom) }}

{{- /* Authentication (aduan.service.auth.ServiceAuth.build). */}}
{{- $secret := or (hasKey $jwtKeys "SECRET") (has "ADUAN_JWT_SECRET" $names) }}
{{- $jwks := or $v.auth.jwksUrl (has "ADUAN_JWT_JWKS_URL" $names) (has "ADUAN_JWT_JWKS_FILE" $names) }}
{{- $dev := or $v.auth.dev (has "ADUAN_AUTH_DEV" $names) }}
{{- if not (or $secret $jwks $dev $opaque) }}
{{- fail (printf "%s cannot start: no token key configured. Set auth.jwksUrl (the identity provider's JWKS, production; with secrets.serviceIdentity.name), or secrets.jwt.name with keys.SECRET (an HS256 shared secret of at least 32 bytes), or auth.dev=true (development only)" $component) }}
{{- end }}
{{- $signer := or $v.secrets.serviceIdentity.name (has "ADUAN_JWT_SIGNING_KEY_FILE" $names) $secret (and $dev (not $jwks)) }}
{{- if not (or $signer $opaque) }}
{{- fail (printf "%s cannot call its peers: with auth.jwksUrl set secrets.serviceIdentity.name (a Secret with each service's PEM signing key; its public key, kid aduan-<service>, must be in the JWKS), or give an HS256 secret in secrets.jwt (keys.SECRET)" $component) }}
{{- end }}
{{- if $v.secrets.serviceIdentity.name }}
{{- if not (index $v.secrets.serviceIdentity.keys $component) }}
{{- fail (printf "secrets.serviceIdentity.keys.%s is required: the key of %s's PEM signing key in Secret %s" $component $component $v.secrets.serviceIdentity.name) }}
{{- end }}
{{- end }}

{{- /* Ports of one pod must differ (each server binds its own). */}}
{{- $ports := list (int $svc.grpcPort) (int $v.metrics.port) }}
{{- if eq $component "intake" }}{{ $ports = append $ports (int $svc.webhookPort) }}{{ end }}
{{- if $v.tls.enabled }}{{ $ports = append $ports (int $v.tls.healthPort) }}{{ end }}
{{- if ne (len $ports) (len (uniq $ports)) }}
{{- fail (printf "%s cannot start: its ports %v must all differ (grpcPort, metrics.port%s%s)" $component $ports (ternary ", webhookPort" "" (eq $component "intake")) (ternary ", tls.healthPort" "" $v.tls.enabled)) }}
{{- end }}

{{- /* One replica only with per-pod storage. */}}
{{- if and $v.store.embeddedSqlite (or (gt (int $svc.replicas) 1) $svc.autoscaling.enabled) }}
{{- fail (printf "%s: store.embeddedSqlite keeps SQLite on a per-pod emptyDir, so it needs replicas <= 1 and autoscaling off" $component) }}
{{- end }}

{{- end }}
{{- end }}

{{- /* Every workload (the services and the desk). */}}
{{- range $component := splitList " " (include "aduan.workloads" .) }}
{{- $svc := index $v $component }}
{{- if $svc.enabled }}
{{- /* Selector labels are the chart's: a podLabels entry would change or break the selector. */}}
{{- range $label := list "app.kubernetes.io/name" "app.kubernetes.io/instance" "app.kubernetes.io/component" }}
{{- if hasKey ($svc.podLabels | default dict) $label }}
{{- fail (printf "%s.podLabels must not set %s: it is a selector label of the chart" $component $label) }}
{{- end }}
{{- end }}
{{- if and (not $svc.serviceAccount.create) $svc.serviceAccount.annotations }}
{{- fail (printf "%s.serviceAccount.annotations need serviceAccount.create=true (the chart annotates only the accounts it creates)" $component) }}
{{- end }}
{{- end }}
{{- end }}

{{- /* intake: the media store (aduan_intake.media.media_store_from_settings). */}}
{{- with $v.intake }}
{{- if .enabled }}
{{- if and (eq .config.media.store "s3") (not .config.media.s3Bucket) }}
{{- fail "intake.config.media.s3Bucket is required when media.store is s3" }}
{{- end }}
{{- if and (eq .config.media.store "local") $v.secrets.whatsapp.name (not .config.media.localVolume.existingClaim) (or (gt (int .replicas) 1) .autoscaling.enabled) }}
{{- fail "intake downloads WhatsApp media (secrets.whatsapp.name is set) and runs more than one replica: media.store local keeps them per pod. Set intake.config.media.store=s3 (with s3Bucket), or intake.config.media.localVolume.existingClaim (a ReadWriteMany claim)" }}
{{- end }}
{{- end }}
{{- end }}

{{- /* notification: its providers (aduan_notification.config.NotificationConfig.from_extra). */}}
{{- with $v.notification }}
{{- if .enabled }}
{{- $wa := dict "secrets.whatsapp.name" $v.secrets.whatsapp.name "notification.config.whatsappBaseUrl" .config.whatsappBaseUrl "notification.config.whatsappPhoneNumberId" .config.whatsappPhoneNumberId }}
{{- $missing := list }}
{{- range $key, $value := $wa }}{{ if not $value }}{{ $missing = append $missing $key }}{{ end }}{{ end }}
{{- if and $missing (lt (len $missing) 3) }}
{{- fail (printf "notification cannot start: WhatsApp is partly configured; also set %s (the Cloud API base URL, e.g. https://graph.facebook.com/v21.0, the sending phone number id and the Secret with the access token)" (join ", " (sortAlpha $missing))) }}
{{- end }}
{{- if and .config.officeWebhookUrl (not $v.secrets.officeWebhook.name) }}
{{- fail "notification cannot start: notification.config.officeWebhookUrl needs secrets.officeWebhook.name (the Secret with the webhook's HMAC key)" }}
{{- end }}
{{- end }}
{{- end }}

{{- /* The desk (aduan_desk.settings.DeskSettings.from_env). */}}
{{- with $v.desk }}
{{- if .enabled }}
{{- $names := keys (.env | default dict) }}
{{- range .extraEnv }}{{ $names = append $names .name }}{{ end }}
{{- $opaque := not (empty .extraEnvFrom) }}
{{- $dev := or $v.auth.dev (has "ADUAN_AUTH_DEV" $names) }}
{{- if not .publicUrl }}
{{- fail "desk.publicUrl is required: the URL users reach the desk at (e.g. https://desk.example.go.id; https makes the session cookie Secure)" }}
{{- end }}
{{- $sessionSecret := or .sessionSecret.existingSecret (has "ADUAN_DESK_SESSION_SECRET" $names) (has "ADUAN_DESK_SESSION_SECRET_FILE" $names) $opaque }}
{{- if and (not $sessionSecret) (not $dev) }}
{{- fail "desk cannot start: desk.sessionSecret.existingSecret is required outside development (auth.dev): an existing Secret whose key desk.sessionSecret.key holds at least 32 random characters signing the session cookie" }}
{{- end }}
{{- if and (not $sessionSecret) (or (gt (int .replicas) 1) .autoscaling.enabled) }}
{{- fail "desk runs more than one replica without desk.sessionSecret.existingSecret: each pod would sign sessions with a random secret of its own and refuse the others' cookies. Set desk.sessionSecret.existingSecret" }}
{{- end }}
{{- /* Sign-in: OpenID Connect (aduan_desk.settings.OidcSettings, check_oidc) or the development
sign-in (DeskSettings.dev_sign_in: auth.dev with an HS256 secret). */}}
{{- $hs256 := or (hasKey $jwtKeys "SECRET") (has "ADUAN_JWT_SECRET" $names) }}
{{- $oidc := or .oidc.issuer (has "ADUAN_DESK_OIDC_ISSUER" $names) }}
{{- if not (or $oidc (and $dev $hs256) $opaque) }}
{{- fail "desk cannot start: no sign-in configured. Set desk.oidc.issuer and desk.oidc.clientId (OpenID Connect at the identity provider, production; with auth.jwksUrl), or auth.dev=true with an HS256 secret (secrets.jwt.name with keys.SECRET, or ADUAN_JWT_SECRET in desk.env) for the development sign-in (docs/desk.md)" }}
{{- end }}
{{- with .oidc }}
{{- if and (not .issuer) (or .clientId .clientSecret.existingSecret .scopes) }}
{{- fail "desk.oidc.clientId, clientSecret and scopes need desk.oidc.issuer (the identity provider's issuer URL)" }}
{{- end }}
{{- if .issuer }}
{{- $issuer := urlParse .issuer }}
{{- if and (ne $issuer.scheme "https") (not (has (regexReplaceAll ":[0-9]+$" $issuer.host "") (list "127.0.0.1" "localhost"))) }}
{{- fail (printf "desk.oidc.issuer must be an https URL (plain http only on this machine), not %s" .issuer) }}
{{- end }}
{{- if not .clientId }}
{{- fail "desk.oidc.clientId is required with desk.oidc.issuer: the desk's client id at the identity provider" }}
{{- end }}
{{- if and .scopes (not (has "openid" (splitList " " (replace "," " " .scopes)))) }}
{{- fail (printf "desk.oidc.scopes must include openid, not %q" .scopes) }}
{{- end }}
{{- end }}
{{- end }}
{{- if $oidc }}
{{- $public := urlParse .publicUrl }}
{{- if and (ne $public.scheme "https") (not (has (regexReplaceAll ":[0-9]+$" $public.host "") (list "127.0.0.1" "localhost"))) }}
{{- fail (printf "desk.publicUrl must be an https URL with OpenID Connect sign-in (desk.oidc.issuer; plain http only on this machine): the identity provider sends users back to it + /signin/callback, not to %s" .publicUrl) }}
{{- end }}
{{- $jwks := or $v.auth.jwksUrl (has "ADUAN_JWT_JWKS_URL" $names) (has "ADUAN_JWT_JWKS_FILE" $names) $opaque }}
{{- if not $jwks }}
{{- fail "desk cannot start: OpenID Connect sign-in checks the identity provider's access token as the services do. Set auth.jwksUrl (the identity provider's JWKS; or ADUAN_JWT_JWKS_FILE in desk.env with the file in desk.extraVolumes), with auth.issuer and auth.audience as for the services" }}
{{- end }}
{{- end }}
{{- range $peer := splitList " " (include "aduan.deskPeers" $) }}
{{- if not (index $v $peer).enabled }}
{{- fail (printf "desk calls %s: set %s.enabled=true (or disable the desk)" $peer $peer) }}
{{- end }}
{{- end }}
{{- if eq (int .httpPort) (int $v.metrics.port) }}
{{- fail (printf "desk cannot start: desk.httpPort and metrics.port (%d) must differ" (int .httpPort)) }}
{{- end }}
{{- if and .ingress.enabled (not .ingress.hosts) }}
{{- fail "desk.ingress.enabled needs desk.ingress.hosts (the host names it answers)" }}
{{- end }}
{{- if and .httpRoute.enabled (not $v.gatewayApi.parentRefs) }}
{{- fail "desk.httpRoute.enabled needs gatewayApi.parentRefs (the Gateway, e.g. [{name: public, namespace: gateway}])" }}
{{- end }}
{{- end }}
{{- end }}

{{- /* NATS credentials. */}}
{{- with $v.natsConnection.auth }}
{{- if and .existingSecret (not (or .credsKey (and .userKey .passwordKey))) }}
{{- fail "natsConnection.auth.existingSecret needs userKey and passwordKey, or credsKey" }}
{{- end }}
{{- if and (not .existingSecret) (or .userKey .passwordKey .credsKey) }}
{{- fail "natsConnection.auth keys need natsConnection.auth.existingSecret (the Secret holding them)" }}
{{- end }}
{{- if and .existingSecret (or .userKey .passwordKey) (not (and .userKey .passwordKey)) }}
{{- fail "natsConnection.auth.userKey and passwordKey go together" }}
{{- end }}
{{- end }}

{{- /* TLS. */}}
{{- if $v.tls.enabled }}
{{- range $component := splitList " " (include "aduan.components" .) }}
{{- if (index $v $component).enabled }}
{{- $_ := include "aduan.tlsSecretName" (dict "root" $ "component" $component) }}
{{- end }}
{{- end }}
{{- end }}

{{- /* Routes and ingresses. */}}
{{- range $name, $ing := $v.ingress }}
{{- if and $ing.enabled (not $ing.hosts) }}
{{- fail (printf "ingress.%s.enabled needs ingress.%s.hosts (the host names it answers)" $name $name) }}
{{- end }}
{{- end }}
{{- if and (or $v.gatewayApi.httpRoute.enabled $v.gatewayApi.grpcRoute.enabled) (not $v.gatewayApi.parentRefs) }}
{{- fail "gatewayApi routes need gatewayApi.parentRefs (the Gateway, e.g. [{name: public, namespace: gateway}])" }}
{{- end }}
{{- if and (or $v.ingress.webhook.enabled $v.gatewayApi.httpRoute.enabled) (not $v.intake.enabled) }}
{{- fail "the WhatsApp webhook route needs intake.enabled" }}
{{- end }}

{{- /* Network policies: every outbound call the configuration implies needs its destination. */}}
{{- if $v.networkPolicy.enabled }}
{{- range $dest := include "aduan.egressDestinations" . | fromYamlArray }}
{{- $to := index $v.networkPolicy.egress $dest.key }}
{{- if not (or $to.cidrs $to.to) }}
{{- fail (printf "networkPolicy.enabled and %s reaches %s (%s, port %v): set networkPolicy.egress.%s.cidrs (or .to); NetworkPolicy matches addresses, not host names" (join "/" $dest.components) $dest.what $dest.url (join ", " $dest.ports) $dest.key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
