"""A server span for every request the desk answers, so that the gRPC calls a page makes (traced
by the platform's client interceptors, which carry the context to the services) hang under the
page that caused them.

Hand-written rather than opentelemetry-instrumentation-asgi because that one records the full
URL: the desk's query strings hold search words, and its logs and traces carry no personal
data (docs/desk.md). The span is named by the route's template (`GET /cases/{complaint_id}`)
and keeps only the method, the route and the status.
"""

from __future__ import annotations

from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aduan.core import telemetry


def route_template(scope: Scope) -> str:
    """The path template of the route that answers `scope` ("" when none does)."""
    for route in scope["app"].router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", "")) or "/"
    return ""


class RequestSpans:
    """ASGI middleware: one SERVER span per HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        route = route_template(scope)
        name = f"{method} {route}" if route else method
        with telemetry.tracer().start_as_current_span(name, kind=SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", method)
            if route:
                span.set_attribute("http.route", route)

            async def send_recording_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            await self.app(scope, receive, send_recording_status)
