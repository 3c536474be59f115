"""A fake OpenID Connect identity provider for the desk's tests: discovery, JWKS, an
authorization endpoint with a small sign-in page (pick a user), a token endpoint that checks
the PKCE verifier (S256), and an end-session endpoint. It signs RS256 ID tokens (audience: the
client) and RS256 access tokens with the claims the services expect (`sub`, `roles`, `office`;
audience: the API's), under one key id published in its JWKS.

Tests break one thing at a time through its knobs: `id_token_claims` / `access_token_claims`
override claims of the next tokens, `forged_key` signs them with a key not in the JWKS, `deny` makes the authorization endpoint answer with that
OAuth error. `app` is a Starlette application: in-process through `transport()` (httpx), or
over HTTP with `serve()` (the browser test)."""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

KID = "fake-idp-1"


@dataclass(frozen=True)
class FakeUser:
    sub: str
    roles: tuple[str, ...]
    office: str = ""
    name: str = ""


DEFAULT_USERS = {
    "siti": FakeUser("officer:siti", ("officer",), "KANTAH.32.73", "Siti Rahma"),
    "budi": FakeUser("supervisor:budi", ("supervisor",), "KANWIL.32", "Budi Santoso"),
    "ani": FakeUser("auditor:ani", ("auditor",), "", "Ani Wijaya"),
}


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class FakeIdentityProvider:
    issuer: str
    client_id: str = "aduan-desk"
    # Empty: a public client (PKCE alone); else the token endpoint wants HTTP Basic.
    client_secret: str = ""
    # The `aud` of the access tokens (the services' ADUAN_JWT_AUDIENCE).
    audience: str = "aduan"
    users: Mapping[str, FakeUser] = field(default_factory=lambda: dict(DEFAULT_USERS))
    access_ttl: int = 3600
    # Knobs: claims that override those of the next tokens; an OAuth error to answer with.
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    access_token_claims: dict[str, Any] = field(default_factory=dict)
    deny: str = ""
    # Signs the next tokens with this key instead of the published one (a forger's key).
    forged_key: rsa.RSAPrivateKey | None = None
    # What it saw: authorization requests, token requests, end-session requests.
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    logouts: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, dict[str, str]] = {}
        # Refresh token -> user key; each use rotates it. Clearing it ends every session.
        self.refresh_tokens: dict[str, str] = {}
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks_endpoint),
                Route("/authorize", self.authorize, methods=["GET", "POST"]),
                Route("/token", self.token, methods=["POST"]),
                Route("/logout", self.logout),
            ]
        )

    # -- keys and tokens -----------------------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        public = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}

    def sign(self, claims: Mapping[str, Any]) -> str:
        key = self.forged_key or self.key
        return jwt.encode(dict(claims), key, algorithm="RS256", headers={"kid": KID})

    def access_token(
        self, sub: str, roles: list[str] | tuple[str, ...], office: str = "", ttl: int = 0
    ) -> str:
        """An access token as the provider issues it (also for a gateway's calls in tests)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "roles": list(roles),
            "iat": now,
            "exp": now + (ttl or self.access_ttl),
            "jti": secrets.token_hex(8),
        }
        if office:
            claims["office"] = office
        claims.update(self.access_token_claims)
        return self.sign({k: v for k, v in claims.items() if v is not None})

    def id_token(self, user: FakeUser, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": user.sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": user.name,
        }
        claims.update(self.id_token_claims)
        return self.sign({k: v for k, v in claims.items() if v is not None})

    # -- endpoints -----------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "end_session_endpoint": f"{self.issuer}/logout",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "profile"],
                "token_endpoint_auth_methods_supported": (
                    ["client_secret_basic"] if self.client_secret else ["none"]
                ),
            }
        )

    async def jwks_endpoint(self, request: Request) -> Response:
        return JSONResponse(self.jwks())

    async def authorize(self, request: Request) -> Response:
        if request.method == "GET":
            params = dict(request.query_params)
            self.authorizations.append(params)
        else:
            params = {k: str(v) for k, v in (await request.form()).items()}
        redirect_uri = params.get("redirect_uri", "")
        if (
            params.get("client_id") != self.client_id
            or params.get("response_type") != "code"
            or not redirect_uri.startswith(("http://", "https://"))
        ):
            return HTMLResponse("invalid authorization request", status_code=400)
        state = params.get("state", "")
        if self.deny:
            return self.back(redirect_uri, error=self.deny, state=state)
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return self.back(redirect_uri, error="invalid_request", state=state)
        if request.method == "GET":
            return HTMLResponse(self.login_page(params))
        user = params.get("user", "")
        if user not in self.users:
            return HTMLResponse(self.login_page(params), status_code=400)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "user": user,
            "redirect_uri": redirect_uri,
            "nonce": params.get("nonce", ""),
            "challenge": params["code_challenge"],
        }
        return self.back(redirect_uri, code=code, state=state)

    def login_page(self, params: Mapping[str, str]) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k != "user"
        )
        options = "".join(
            f'<option value="{html.escape(name)}">{html.escape(user.name or name)}</option>'
            for name, user in self.users.items()
        )
        return (
            '<!doctype html><html lang="en"><head><title>Ministry sign-in</title></head><body>'
            "<h1>Ministry sign-in (test identity provider)</h1>"
            f'<form method="post" action="/authorize">{hidden}'
            f'<label for="user">Account</label><select id="user" name="user">{options}</select>'
            '<button type="submit">Sign in</button></form></body></html>'
        )

    @staticmethod
    def back(redirect_uri: str, **params: str) -> Response:
        separator = "&" if urlsplit(redirect_uri).query else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode(params)}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        client_id = form.get("client_id", "")
        if self.client_secret:
            scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
            basic = base64.b64decode(encoded).decode() if scheme.lower() == "basic" else ":"
            client_id, _, secret = basic.partition(":")
            if secret != self.client_secret:
                return self.refuse("invalid_client", 401)
        if client_id != self.client_id:
            return self.refuse("invalid_client", 401)
        if form.get("grant_type") == "refresh_token":
            held = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if held is None:
                return self.refuse("invalid_grant")
            return self.tokens(self.users[held], held)
        if form.get("grant_type") != "authorization_code":
            return self.refuse("unsupported_grant_type")
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return self.refuse("invalid_grant")
        # PKCE (RFC 7636 4.6): the verifier must hash to the challenge of the authorization.
        if s256(form.get("code_verifier", "")) != grant["challenge"]:
            return self.refuse("invalid_grant")
        return self.tokens(self.users[grant["user"]], grant["user"], grant["nonce"])

    def tokens(self, user: FakeUser, key: str, nonce: str = "") -> Response:
        """A token response: an access token, a fresh refresh token and, for a sign-in, the ID
        token with the authorization's nonce."""
        refresh = secrets.token_urlsafe(32)
        self.refresh_tokens[refresh] = key
        body: dict[str, Any] = {
            "access_token": self.access_token(user.sub, user.roles, user.office),
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
        }
        if nonce:
            body["id_token"] = self.id_token(user, nonce)
        return JSONResponse(body, headers={"cache-control": "no-store"})

    @staticmethod
    def refuse(error: str, status: int = 400) -> Response:
        return JSONResponse({"error": error}, status_code=status)

    async def logout(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.logouts.append(params)
        target = params.get("post_logout_redirect_uri", "")
        if target:
            return RedirectResponse(target, status_code=302)
        return HTMLResponse("<!doctype html><title>Signed out</title><p>Signed out.</p>")

    # -- driving it ----------------------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        """The desk's way to this provider in-process (`OidcSignIn(transport=...)`)."""
        return httpx.ASGITransport(app=self.app)

    def sign_in(self, authorization_url: str, user: str = "siti") -> str:
        """What a browser does at the provider: open the authorization URL, pick `user`,
        submit. Returns where the provider sends the browser back (the desk's callback URL)."""
        params = dict(parse_qsl(urlsplit(authorization_url).query))
        with TestClient(self.app) as client:
            page = client.get("/authorize", params=params, follow_redirects=False)
            if page.status_code != 200:
                return str(page.headers["location"])
            answer = client.post(
                "/authorize", data={**params, "user": user}, follow_redirects=False
            )
        assert answer.status_code == 302, answer.text
        return str(answer.headers["location"])

    @contextmanager
    def serve(self, port: int) -> Iterator[FakeIdentityProvider]:
        """Serves the provider over HTTP on 127.0.0.1:`port` (its issuer) in a thread."""
        server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, name="fake-idp", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake identity provider did not start")
            time.sleep(0.05)
        try:
            yield self
        finally:
            server.should_exit = True
            thread.join(timeout=10)
