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
from urllib.parse import urlsplit
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
DEFAULT_OIDC_SCOPES = "openid profile"
CALLBACK_PATH = "/signin/callback"


@dataclass(frozen=True)
class OidcSettings:
    """Production sign-in by OpenID Connect (authorization code + PKCE) at the ministry's
    identity provider. Empty `issuer`: not configured."""

    issuer: str = ""
    client_id: str = ""
    # Empty for a public client (PKCE alone).
    client_secret: str = field(default="", repr=False)
    scopes: str = DEFAULT_OIDC_SCOPES

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)

    @property
    def origin(self) -> str:
        """The issuer's origin (scheme://host[:port]), which the desk's pages may send forms
        to (sign-out goes on to its end-session endpoint)."""
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def from_extra(cls, extra: Mapping[str, str]) -> OidcSettings:
        def get(name: str) -> str:
            return extra.get(name, "").strip()

        issuer = get("DESK_OIDC_ISSUER")
        client_id = get("DESK_OIDC_CLIENT_ID")
        scopes = " ".join(get("DESK_OIDC_SCOPES").replace(",", " ").split())
        client_secret = extra_secret(extra, "DESK_OIDC_CLIENT_SECRET")
        if not issuer:
            if client_id or client_secret or scopes:
                raise SettingsError(
                    "ADUAN_DESK_OIDC_CLIENT_ID, _CLIENT_SECRET and _SCOPES need "
                    "ADUAN_DESK_OIDC_ISSUER (the identity provider's issuer URL)"
                )
            return cls()
        parts = urlsplit(issuer)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.query:
            raise SettingsError(
                f"ADUAN_DESK_OIDC_ISSUER must be the identity provider's issuer URL, not {issuer!r}"
            )
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SettingsError(
                "ADUAN_DESK_OIDC_ISSUER must be an https URL (plain http only on this machine)"
            )
        if not client_id:
            raise SettingsError(
                "ADUAN_DESK_OIDC_CLIENT_ID is required with ADUAN_DESK_OIDC_ISSUER (the desk's "
                "client id at the identity provider)"
            )
        scopes = scopes or DEFAULT_OIDC_SCOPES
        if "openid" not in scopes.split():
            raise SettingsError(f"ADUAN_DESK_OIDC_SCOPES must include openid, not {scopes!r}")
        return cls(issuer=issuer, client_id=client_id, client_secret=client_secret, scopes=scopes)


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
    oidc: OidcSettings = field(default_factory=OidcSettings)
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
    def redirect_uri(self) -> str:
        """Where the identity provider sends the user back (register it there)."""
        return self.public_url.rstrip("/") + CALLBACK_PATH

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
            oidc=OidcSettings.from_extra(extra),
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
        if settings.oidc.enabled:
            check_oidc(settings)
        elif not settings.dev_sign_in:
            # Nobody could sign in: refuse to start rather than serve a dead end.
            raise SettingsError(
                "no sign-in configured: set ADUAN_DESK_OIDC_ISSUER and ADUAN_DESK_OIDC_CLIENT_ID "
                "(OpenID Connect, production), or run in development (ADUAN_AUTH_DEV=true with "
                "ADUAN_JWT_SECRET) for the development sign-in"
            )
        return settings


def check_oidc(settings: DeskSettings) -> None:
    """What OpenID Connect sign-in needs besides the client: where users come back to, and the
    keys the services verify the identity provider's access tokens with (the desk checks the
    token with them before accepting a sign-in)."""
    public = urlsplit(settings.public_url)
    if public.scheme not in ("https", "http") or not public.netloc or public.query:
        raise SettingsError(
            "ADUAN_DESK_PUBLIC_URL (how users reach the desk, e.g. https://desk.example.go.id) "
            "is required with OpenID Connect sign-in: the redirect URI is it + "
            f"{CALLBACK_PATH}"
        )
    if public.scheme == "http" and public.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SettingsError(
            "ADUAN_DESK_PUBLIC_URL must be an https URL with OpenID Connect sign-in (plain http "
            "only on this machine)"
        )
    auth = settings.auth
    if not (auth.jwks_file or auth.jwks_url or auth.jwt_secret):
        raise SettingsError(
            "OpenID Connect sign-in checks the identity provider's access token as the services "
            "do: set ADUAN_JWT_JWKS_URL (or ADUAN_JWT_JWKS_FILE), ADUAN_JWT_ISSUER and "
            "ADUAN_JWT_AUDIENCE as for the services"
        )
