"""The desk's settings, read once from the environment by the composition root (`__main__`).

The desk is no gRPC service (it serves HTTP), so it has its own small settings object; what it
shares with the services (the peers' addresses, TLS, the token settings, logs) is read by the
platform's readers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aduan.core.settings import (
    DEFAULT_GRPC_PORTS,
    AuthSettings,
    SettingsError,
    TlsSettings,
    extra_secret,
)

DEFAULT_DESK_PORT = 8090
DEFAULT_DESK_METRICS_PORT = 9468
# The services the desk calls, with the user's token.
PEERS = ("intake", "routing", "query", "notification")
LANGUAGES = ("id", "en")


@dataclass(frozen=True)
class DeskSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_DESK_PORT
    metrics_port: int = 0
    # Where users reach the desk; an https URL makes the session cookie Secure.
    public_url: str = ""
    peers: Mapping[str, str] = field(default_factory=dict)
    tls: TlsSettings = field(default_factory=TlsSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    # Signs the session cookie. Development generates one per process.
    session_secret: str = field(default="", repr=False)
    # Times are shown, and a date-time picker's value is read, in this zone.
    timezone: str = "Asia/Jakarta"
    language: str = "id"
    log_level: str = "INFO"
    log_format: str = "json"

    @property
    def dev_sign_in(self) -> bool:
        """The development sign-in (pick a role and an office) is offered only where the
        services themselves run in development mode with a shared HS256 secret (`make up`)."""
        return self.auth.dev and bool(self.auth.jwt_secret)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeskSettings:
        env = os.environ if env is None else env
        extra = {k[len("ADUAN_") :]: v for k, v in env.items() if k.startswith("ADUAN_")}

        def get(name: str, default: str = "") -> str:
            return extra.get(name, default).strip() or default

        def port(name: str, default: int) -> int:
            raw = get(name, str(default))
            if not raw.isdigit() or int(raw) > 65535:
                raise SettingsError(f"ADUAN_{name} must be a port number, not {raw!r}")
            return int(raw)

        auth = AuthSettings.from_env(env)
        session_secret = extra_secret(extra, "DESK_SESSION_SECRET")
        if not session_secret:
            if not auth.dev:
                raise SettingsError(
                    "ADUAN_DESK_SESSION_SECRET (or _FILE) is required outside development"
                )
            session_secret = secrets.token_urlsafe(32)
        elif len(session_secret) < 32:
            raise SettingsError("ADUAN_DESK_SESSION_SECRET must be at least 32 characters")
        settings = cls(
            host=get("DESK_HOST", "127.0.0.1"),
            port=port("DESK_PORT", DEFAULT_DESK_PORT),
            metrics_port=port("METRICS_PORT", DEFAULT_DESK_METRICS_PORT),
            public_url=get("DESK_PUBLIC_URL"),
            peers={
                name: get(f"{name.upper()}_ADDR", f"127.0.0.1:{DEFAULT_GRPC_PORTS[name]}")
                for name in PEERS
            },
            tls=TlsSettings.from_env(env),
            auth=auth,
            session_secret=session_secret,
            timezone=get("DESK_TIMEZONE", "Asia/Jakarta"),
            language=get("DESK_LANGUAGE", "id"),
            log_level=get("LOG_LEVEL", "INFO").upper(),
            log_format=get("LOG_FORMAT", "json"),
        )
        try:
            settings.zone  # noqa: B018 - fail at start-up, not on the first page
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"ADUAN_DESK_TIMEZONE {settings.timezone!r} is no time zone"
            ) from None
        if settings.language not in LANGUAGES:
            raise SettingsError(f"ADUAN_DESK_LANGUAGE must be one of {', '.join(LANGUAGES)}")
        if not settings.dev_sign_in:
            # Production sign-in (OpenID Connect) is not built yet (docs/desk.md); without it
            # nobody could sign in, so the desk refuses to start rather than serve a dead end.
            raise SettingsError(
                "the desk signs users in only in development (ADUAN_AUTH_DEV=true with "
                "ADUAN_JWT_SECRET); OpenID Connect sign-in is not built yet"
            )
        return settings
