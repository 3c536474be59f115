"""Production sign-in: OpenID Connect, authorization code with PKCE (S256), at the ministry's
identity provider (docs/desk.md, "Sign-in"). Authlib does the protocol: the discovery
document, state, nonce and code verifier kept in the signed session, the code exchange, and the
ID token's signature, `iss`, `aud`, `exp` and `nonce`. The access token the provider issues is
what the desk then sends to the services as bearer; before accepting the sign-in the desk checks
it with the platform's own `TokenVerifier`, configured as the services' (`ADUAN_JWT_*`), so a
token they would refuse is a sign-in error here rather than a broken queue."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import Response

from aduan.core.errors import UnauthenticatedError
from aduan.service.auth import LEEWAY_SECONDS, TokenVerifier, token_verifier
from aduan_desk.settings import DeskSettings

log = logging.getLogger("aduan.desk.oidc")

PROVIDER = "idp"
# Where the user asked to go, kept in the session while they are at the identity provider.
NEXT_KEY = "signin_next"
DISCOVERY = "/.well-known/openid-configuration"
HTTP_TIMEOUT = 10.0
MAX_PENDING = 3
# An access token this close to its expiry is renewed with the refresh token before a page is
# served (identity providers often issue tokens for only five minutes).
REFRESH_MARGIN_SECONDS = 60
# A refresh token longer than this is not kept: the session cookie holds it beside the access
# token and must stay under the browsers' 4 kB.
MAX_REFRESH_TOKEN_CHARS = 1200
# The desk's own roles, in the order one is shown as the user's role.
DESK_ROLES = ("officer", "supervisor", "auditor")
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class SignInError(Exception):
    """A sign-in that failed; `message` is the catalogue key of what the page says, `detail`
    a short reason safe to show (an OAuth error code), never a token."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message, detail)
        self.message = message
        self.detail = detail


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class OidcSignIn:
    def __init__(
        self,
        settings: DeskSettings,
        verifier: TokenVerifier | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`transport`: how the desk reaches the identity provider (tests pass a fake's)."""
        self.settings = settings.oidc
        self.redirect_uri = settings.redirect_uri
        self.post_logout_uri = settings.public_url.rstrip("/") + "/signin"
        # The services' own verifier, from the same settings (no development fallback).
        self.verifier = verifier or token_verifier(settings.auth, settings.auth.jwt_secret)
        client_kwargs: dict[str, Any] = {
            "scope": self.settings.scopes,
            "code_challenge_method": "S256",
            "timeout": HTTP_TIMEOUT,
            # A public client (no secret) authenticates by PKCE alone.
            "token_endpoint_auth_method": (
                "client_secret_basic" if self.settings.client_secret else "none"
            ),
        }
        if transport is not None:
            client_kwargs["transport"] = transport
        self.oauth = OAuth()
        self.client: Any = self.oauth.register(
            PROVIDER,
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret or None,
            server_metadata_url=self.settings.issuer.rstrip("/") + DISCOVERY,
            client_kwargs=client_kwargs,
        )

    @property
    def form_origins(self) -> list[str]:
        """Origins a form on the desk's pages may end up at: the issuer's, and those of its
        authorization and end-session endpoints once discovery told them."""
        origins = [self.settings.origin]
        metadata = self.client.server_metadata
        for name in ("authorization_endpoint", "end_session_endpoint"):
            url = metadata.get(name)
            # Only a plain scheme://host[:port] goes into the header.
            if (
                isinstance(url, str)
                and ORIGIN.fullmatch(origin(url))
                and origin(url) not in origins
            ):
                origins.append(origin(url))
        return origins

    async def metadata(self) -> dict[str, Any]:
        """The discovery document; its issuer must be the configured one (OpenID Connect
        Discovery 4.3), so the ID token's `iss` is checked against the configured issuer."""
        try:
            metadata: dict[str, Any] = await self.client.load_server_metadata()
        except (httpx.HTTPError, ValueError) as error:
            log.warning("the identity provider's discovery document: %s", error)
            raise SignInError("signin.idp_unreachable") from None
        if metadata.get("issuer") != self.settings.issuer:
            log.warning(
                "the discovery document names issuer %r, not the configured %r",
                metadata.get("issuer"),
                self.settings.issuer,
            )
            self.client.server_metadata.pop("_loaded_at", None)
            raise SignInError("signin.failed", "issuer")
        return metadata

    async def start(self, request: Request, next_path: str) -> Response:
        """Sends the user to the identity provider's authorization endpoint."""
        await self.metadata()
        try:
            response: Response = await self.client.authorize_redirect(request, self.redirect_uri)
        except (httpx.HTTPError, ValueError, RuntimeError) as error:
            log.warning("cannot start an OpenID Connect sign-in: %s", error)
            raise SignInError("signin.idp_unreachable") from None
        request.session[NEXT_KEY] = next_path
        # Each pending sign-in (state, nonce, verifier) rides in the cookie: keep the latest
        # few (another tab may be signing in too) so the cookie stays well under 4 kB.
        prefix = f"_state_{PROVIDER}_"
        pending = sorted(
            (key for key in request.session if key.startswith(prefix)),
            key=lambda key: float((request.session[key] or {}).get("exp") or 0),
        )
        for key in pending[:-MAX_PENDING]:
            del request.session[key]
        return response

    async def finish(self, request: Request) -> dict[str, str]:
        """The callback: the user (for the session) once every check passed."""
        params = request.query_params
        refusal = params.get("error")
        if refusal:
            # The provider refused (the user cancelled, or is not allowed this client).
            state = params.get("state", "")
            await self.client.framework.clear_state_data(request.session, state)
            code = refusal if ERROR_CODE.fullmatch(refusal) else "error"
            log.info("the identity provider answered the sign-in with %s", code)
            raise SignInError("signin.idp_error", code)
        await self.metadata()
        try:
            token = await self.client.authorize_access_token(request, leeway=LEEWAY_SECONDS)
        except OAuthError as error:
            # A state the session never sent ("mismatching_state"), or the token endpoint's
            # refusal (a code for another sign-in fails PKCE: "invalid_grant").
            code = error.error if ERROR_CODE.fullmatch(error.error or "") else "error"
            log.warning("OpenID Connect sign-in refused: %s %s", code, error.description or "")
            raise SignInError("signin.failed", code) from None
        except JoseError as error:
            # The ID token: signature, iss, aud, exp, iat or nonce.
            log.warning("OpenID Connect sign-in: the ID token is not valid: %r", error)
            raise SignInError("signin.failed", "id_token") from None
        except (httpx.HTTPError, ValueError) as error:
            log.warning("OpenID Connect sign-in: the identity provider failed: %s", error)
            raise SignInError("signin.idp_unreachable") from None
        if not token.get("userinfo"):
            # No ID token (or none checked against a nonce): not an OpenID Connect sign-in.
            log.warning("OpenID Connect sign-in: the token response carries no ID token")
            raise SignInError("signin.failed", "id_token")
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise SignInError("signin.failed", "access_token")
        return await self._user(token)

    async def _user(self, token: Mapping[str, Any], kept_refresh: str = "") -> dict[str, Any]:
        """The session's user from a token response, once the services' verifier accepts its
        access token: role, office and subject as the services will see them, the expiry and
        the refresh token (the previous one when the provider did not rotate it)."""
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise SignInError("signin.failed", "access_token")
        try:
            if self.verifier.blocking:
                principal = await asyncio.to_thread(self.verifier.verify, access_token)
            else:
                principal = self.verifier.verify(access_token)
        except UnauthenticatedError as refused:
            log.warning("OpenID Connect sign-in: the services would refuse the token: %s", refused)
            raise SignInError("signin.token_refused") from None
        role = next((r for r in DESK_ROLES if r in principal.roles), "")
        if not role:
            raise SignInError("signin.no_role")
        refresh = token.get("refresh_token") or kept_refresh
        if not isinstance(refresh, str) or len(refresh) > MAX_REFRESH_TOKEN_CHARS:
            refresh = ""
        return {
            "token": access_token,
            "role": role,
            "office": principal.office,
            "sub": principal.sub,
            "via": "oidc",
            "expires_at": int(token.get("expires_at") or 0),
            "refresh": refresh,
        }

    @staticmethod
    def due_for_refresh(user: Mapping[str, Any], now: float) -> bool:
        expires_at = int(user.get("expires_at") or 0)
        return bool(user.get("refresh")) and 0 < expires_at - now < REFRESH_MARGIN_SECONDS

    async def refresh(self, user: Mapping[str, Any]) -> dict[str, Any] | None:
        """A renewed user (new access token) from the refresh token, or None when the provider
        refuses (its session ended) or cannot be reached: then the current token serves until
        the services refuse it, and the user signs in again. The renewed token passes the same
        checks as at sign-in; a changed subject is refused."""
        try:
            token = await self.client.fetch_access_token(
                grant_type="refresh_token", refresh_token=str(user["refresh"])
            )
            renewed = await self._user(token, kept_refresh=str(user["refresh"]))
        except (OAuthError, httpx.HTTPError, ValueError, SignInError) as error:
            log.info("the access token could not be renewed: %s", type(error).__name__)
            return None
        if renewed["sub"] != user.get("sub"):
            log.warning("the renewed access token names another subject; not used")
            return None
        return renewed

    async def end_session_url(self) -> str:
        """The provider's end-session endpoint (RP-initiated logout) when it has one."""
        try:
            metadata = await self.metadata()
        except SignInError:
            return ""
        endpoint = metadata.get("end_session_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            return ""
        query = urlencode(
            {"client_id": self.settings.client_id, "post_logout_redirect_uri": self.post_logout_uri}
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
