"""One typed settings object per service, read from environment variables.

Every service's composition root calls `ServiceSettings.from_env(...)` once and passes the
result down; nothing else reads the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

WRITE_SERVICES = ("intake", "routing", "notification")
ALL_SERVICES = (*WRITE_SERVICES, "query")
DEFAULT_GRPC_PORTS = {"intake": 50051, "routing": 50052, "notification": 50053, "query": 50054}
DEFAULT_METRICS_PORTS = {"intake": 9464, "routing": 9465, "notification": 9466, "query": 9467}
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the service refuses to start."""


def _bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {value!r}")


def _int(value: str, name: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, not {value!r}") from None
    if number < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {number}")
    return number


_DURATION = re.compile(r"(\d+)\s*([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: str, name: str) -> int:
    """Seconds from `90s`, `15m`, `12h`, `7d` or a bare number of seconds."""
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise SettingsError(f"{name} must be a duration such as 7d, 12h, 15m or 90s, not {value!r}")
    return int(match[1]) * _UNIT_SECONDS[match[2]]


# How long the NATS stream keeps an event (ADUAN_STREAM_MAX_AGE). The stream is a distribution
# channel, not a store of record: a consumer that was away longer repairs from the upstream's
# EventLog (docs/architecture.md, "Stream"), and the envelopes carry redacted texts and masked
# contacts that an erasure cannot reach in the stream, so they are not kept for ever.
DEFAULT_STREAM_MAX_AGE_SECONDS = 7 * 86400


# Readers of a service's own settings in `ServiceSettings.extra` (ADUAN_* without the prefix), for
# the composition roots and their config modules: each names the variable when it refuses a value.


def extra_secret(extra: Mapping[str, str], name: str) -> str:
    """`ADUAN_<name>`, or the content of the file named by `ADUAN_<name>_FILE` (a mounted
    Secret), stripped."""
    path = extra.get(f"{name}_FILE", "").strip()
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SettingsError(f"ADUAN_{name}_FILE cannot be read: {error.strerror}") from None
    return extra.get(name, "").strip()


def extra_number(extra: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    """`ADUAN_<name>` as a number of at least `minimum`; `default` when unset."""
    raw = extra.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"ADUAN_{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"ADUAN_{name} must be at least {minimum}, not {raw}")
    return value


def extra_int(extra: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    """`ADUAN_<name>` as a whole number of at least `minimum`; `default` when unset."""
    raw = extra.get(name, "").strip()
    return default if not raw else _int(raw, f"ADUAN_{name}", minimum)


def extra_positive(extra: Mapping[str, str], name: str, default: float) -> float:
    """`ADUAN_<name>` as a number above zero (an interval, a timeout); `default` when unset."""
    value = extra_number(extra, name, default, float("-inf"))
    if value <= 0:
        raise SettingsError(f"ADUAN_{name} must be positive, not {extra.get(name, '').strip()}")
    return value


def extra_flag(extra: Mapping[str, str], name: str, default: bool | None) -> bool | None:
    """`ADUAN_<name>` as true/false (1/0, yes/no, on/off); `default` when unset."""
    raw = extra.get(name, "").strip()
    return default if not raw else _bool(raw, f"ADUAN_{name}")


@dataclass(frozen=True)
class AuthSettings:
    """Bearer-token settings (docs/security.md). With none of secret, JWKS file or JWKS URL a
    service refuses to start unless `dev` (ADUAN_AUTH_DEV=true)."""

    jwt_secret: str = ""  # ADUAN_JWT_SECRET: HS256 shared secret (development)
    jwks_file: str = ""  # ADUAN_JWT_JWKS_FILE: public keys (RS256/ES256)
    jwks_url: str = ""  # ADUAN_JWT_JWKS_URL
    issuer: str = ""  # ADUAN_JWT_ISSUER: checked when set
    audience: str = ""  # ADUAN_JWT_AUDIENCE: checked when set
    signing_key_file: str = ""  # ADUAN_JWT_SIGNING_KEY_FILE: PEM private key of this service
    kid: str = ""  # ADUAN_JWT_KID: key id of the signing key in the JWKS
    dev: bool = False  # ADUAN_AUTH_DEV

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthSettings:
        def get(name: str) -> str:
            return env.get(f"ADUAN_{name}", "").strip()

        return cls(
            jwt_secret=get("JWT_SECRET"),
            jwks_file=get("JWT_JWKS_FILE"),
            jwks_url=get("JWT_JWKS_URL"),
            issuer=get("JWT_ISSUER"),
            audience=get("JWT_AUDIENCE"),
            signing_key_file=get("JWT_SIGNING_KEY_FILE"),
            kid=get("JWT_KID"),
            dev=_bool(get("AUTH_DEV") or "false", "ADUAN_AUTH_DEV"),
        )


@dataclass(frozen=True)
class TlsSettings:
    """gRPC transport security. The server uses TLS when `cert` and `key` are set; clients when
    `ca` is set (or the service itself serves TLS). `client_auth` "require" demands a client
    certificate signed by `ca` (mutual TLS)."""

    cert: str = ""  # ADUAN_TLS_CERT: PEM certificate chain of this service
    key: str = ""  # ADUAN_TLS_KEY
    ca: str = ""  # ADUAN_TLS_CA: CA bundle that peers' (and clients') certificates chain to
    client_auth: str = "none"  # ADUAN_TLS_CLIENT_AUTH: none | require
    client_cert: str = ""  # ADUAN_TLS_CLIENT_CERT (default: ADUAN_TLS_CERT)
    client_key: str = ""  # ADUAN_TLS_CLIENT_KEY (default: ADUAN_TLS_KEY)
    server_name: str = ""  # ADUAN_TLS_SERVER_NAME: expected name in peers' certificates

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TlsSettings:
        def get(name: str) -> str:
            return env.get(f"ADUAN_TLS_{name}", "").strip()

        client_auth = (get("CLIENT_AUTH") or "none").lower()
        if client_auth not in {"none", "require"}:
            raise SettingsError(
                f"ADUAN_TLS_CLIENT_AUTH must be none or require, not {client_auth!r}"
            )
        settings = cls(
            cert=get("CERT"),
            key=get("KEY"),
            ca=get("CA"),
            client_auth=client_auth,
            client_cert=get("CLIENT_CERT") or get("CERT"),
            client_key=get("CLIENT_KEY") or get("KEY"),
            server_name=get("SERVER_NAME"),
        )
        if bool(settings.cert) != bool(settings.key):
            raise SettingsError("ADUAN_TLS_CERT and ADUAN_TLS_KEY go together")
        if client_auth == "require" and not (settings.cert and settings.ca):
            raise SettingsError("ADUAN_TLS_CLIENT_AUTH=require needs ADUAN_TLS_CERT/KEY and _CA")
        return settings

    @property
    def server_enabled(self) -> bool:
        return bool(self.cert and self.key)

    @property
    def client_enabled(self) -> bool:
        return bool(self.ca) or self.server_enabled


@dataclass(frozen=True)
class ServiceSettings:
    service: str
    grpc_host: str
    grpc_port: int
    store_url: str
    nats_url: str
    nats_user: str = ""
    nats_password: str = ""
    nats_creds: str = ""
    # NATS over TLS (ADUAN_NATS_TLS_CA, _CERT, _KEY) and an nkeys seed file (ADUAN_NATS_NKEYS_SEED).
    nats_tls_ca: str = ""
    nats_tls_cert: str = ""
    nats_tls_key: str = ""
    nats_nkeys_seed: str = ""
    stream_replicas: int = 1
    # 0: the stream keeps events for ever.
    stream_max_age_seconds: int = DEFAULT_STREAM_MAX_AGE_SECONDS
    peers: Mapping[str, str] = field(default_factory=dict)
    log_level: str = "INFO"
    log_format: str = "json"
    reflection: bool = True
    # Largest gRPC message a server receives or sends (ADUAN_MAX_MESSAGE_BYTES, at least 1024):
    # gRPC itself refuses a bigger request with RESOURCE_EXHAUSTED before any handler runs. The
    # domain's field limits (e.g. 5,000 characters of description) are far below it and answer
    # INVALID_ARGUMENT. tests/fuzz checks both.
    max_message_bytes: int = 4 * 1024 * 1024
    # Prometheus endpoint; 0 disables it.
    metrics_port: int = 0
    # Plaintext port serving only grpc.health (0 = none): kubelet's native gRPC probes cannot speak
    # TLS, so with TLS on the chart points the probes here. Health reveals nothing but SERVING.
    health_port: int = 0
    relay_poll_seconds: float = 1.0
    shutdown_grace_seconds: float = 10.0
    data_dir: Path = Path("var")
    auth: AuthSettings = field(default_factory=AuthSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if env is None else env
        if service not in ALL_SERVICES:
            raise SettingsError(f"unknown service {service!r}")

        def get(name: str, default: str = "") -> str:
            return env.get(f"ADUAN_{name}", default)

        data_dir = Path(get("DATA_DIR", "var"))
        default_store = f"sqlite:///{data_dir / (service + '.sqlite')}"
        peers = {
            name: get(f"{name.upper()}_ADDR", f"127.0.0.1:{DEFAULT_GRPC_PORTS[name]}")
            for name in ALL_SERVICES
        }
        log_format = get("LOG_FORMAT", "json")
        if log_format not in {"json", "text"}:
            raise SettingsError(f"ADUAN_LOG_FORMAT must be json or text, not {log_format!r}")
        return cls(
            service=service,
            grpc_host=get("GRPC_HOST", "127.0.0.1"),
            grpc_port=_int(get("GRPC_PORT", str(DEFAULT_GRPC_PORTS[service])), "ADUAN_GRPC_PORT"),
            store_url=get("STORE_URL", default_store),
            nats_url=get("NATS_URL", env.get("NATS_URL", DEFAULT_NATS_URL)),
            nats_user=get("NATS_USER"),
            nats_password=get("NATS_PASSWORD"),
            nats_creds=get("NATS_CREDS"),
            nats_tls_ca=get("NATS_TLS_CA"),
            nats_tls_cert=get("NATS_TLS_CERT"),
            nats_tls_key=get("NATS_TLS_KEY"),
            nats_nkeys_seed=get("NATS_NKEYS_SEED"),
            stream_replicas=_int(get("STREAM_REPLICAS", "1"), "ADUAN_STREAM_REPLICAS", 1),
            stream_max_age_seconds=_duration(
                get("STREAM_MAX_AGE", f"{DEFAULT_STREAM_MAX_AGE_SECONDS}s"),
                "ADUAN_STREAM_MAX_AGE",
            ),
            peers=peers,
            log_level=get("LOG_LEVEL", "INFO").upper(),
            log_format=log_format,
            reflection=_bool(get("REFLECTION", "true"), "ADUAN_REFLECTION"),
            max_message_bytes=_int(
                get("MAX_MESSAGE_BYTES", str(4 * 1024 * 1024)), "ADUAN_MAX_MESSAGE_BYTES", 1024
            ),
            metrics_port=_int(
                get("METRICS_PORT", str(DEFAULT_METRICS_PORTS[service])), "ADUAN_METRICS_PORT"
            ),
            health_port=_int(get("HEALTH_PORT", "0"), "ADUAN_HEALTH_PORT"),
            relay_poll_seconds=float(get("RELAY_POLL_SECONDS", "1.0")),
            shutdown_grace_seconds=float(get("SHUTDOWN_GRACE_SECONDS", "10")),
            data_dir=data_dir,
            auth=AuthSettings.from_env(env),
            tls=TlsSettings.from_env(env),
            extra={k[len("ADUAN_") :]: v for k, v in env.items() if k.startswith("ADUAN_")},
        )

    @property
    def grpc_address(self) -> str:
        return f"{self.grpc_host}:{self.grpc_port}"
