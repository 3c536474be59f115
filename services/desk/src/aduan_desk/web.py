"""Web plumbing shared by the pages: the session (who is signed in, their token, the CSRF
token), the security headers every answer carries, and the error pages."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere: htmx and the desk's script come from /static, and htmx is
# told not to inject its indicator styles (base.html). `connect-src 'self'` covers htmx and the
# queue's event stream.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
CSRF_FIELD = "csrf"


def content_security_policy(form_origins: Sequence[str] = ()) -> str:
    """The policy, with `form-action` also allowing `form_origins`: with OpenID Connect the
    sign-out form ends at the identity provider's end-session endpoint, and browsers check
    form-action on a form's redirects too."""
    if not form_origins:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", "form-action 'self' " + " ".join(form_origins)
    )


class SecurityHeaders:
    """Adds the security headers to every answer, and `Cache-Control: no-store` to every page
    (they show complaints; only /static may be cached)."""

    def __init__(
        self, app: ASGIApp, policy: Callable[[], str] = lambda: CONTENT_SECURITY_POLICY
    ) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["content-security-policy"] = self.policy()
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not static:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use; every POST form carries it."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def csrf_ok(request: Request, form: Mapping[str, Any]) -> bool:
    expected = request.session.get(CSRF_FIELD)
    given = form.get(CSRF_FIELD)
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(expected, given)
    )


def local_path(target: str, default: str = "/queue") -> str:
    """`target` when it is a path on this site, else `default` (no open redirects): one
    leading slash, no backslash, no control character or space (browsers drop tabs and
    newlines, so `/<TAB>/evil.example` would become `//evil.example`)."""
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(" " < char < "\x7f" for char in target)
    ):
        return target
    return default
