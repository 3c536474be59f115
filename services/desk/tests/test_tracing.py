"""The desk's request spans: one per page, named by the route's template, holding no URL or
search words, and the parent of the gRPC calls the page makes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from aduan_desk.app import build_app
from aduan_desk.settings import DeskSettings
from aduan_devtools.testing.desk import NOW, FakeBackend
from aduan_devtools.testing.tracing import record_spans

SECRET = "s" * 40


class SpanNotingBackend(FakeBackend):
    """Notes the span that is current when the desk calls a service (the gRPC client
    interceptor makes its span a child of that one)."""

    parents: list[int]

    def _call(self, kind: str, token: str, request: Any) -> None:
        self.parents.append(trace.get_current_span().get_span_context().span_id)
        super()._call(kind, token, request)


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    # The desk takes its tracer from `telemetry.tracer`.
    return record_spans(monkeypatch)


@pytest.fixture
def backend() -> SpanNotingBackend:
    backend = SpanNotingBackend()
    backend.parents = []
    return backend


@pytest.fixture
def client(backend: SpanNotingBackend) -> Iterator[TestClient]:
    settings = DeskSettings.from_env({"ADUAN_AUTH_DEV": "true", "ADUAN_JWT_SECRET": SECRET})
    with TestClient(build_app(settings, backend, clock=lambda: NOW)) as test_client:
        yield test_client


def test_a_page_is_one_server_span_over_its_service_calls(
    client: TestClient, backend: SpanNotingBackend, spans: InMemorySpanExporter
) -> None:
    client.cookies.clear()
    signin = client.get("/signin").text
    csrf = signin.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.post(
        "/signin",
        data={"csrf": csrf, "role": "officer", "office": "KANTAH.32.73", "name": "siti"},
    )
    spans.clear()
    backend.parents.clear()
    assert client.get("/cases/c-1").status_code == 200
    assert client.get("/queue", params={"text": "Dewi Lestari"}).status_code == 200

    finished = spans.get_finished_spans()
    assert [s.name for s in finished] == ["GET /cases/{complaint_id}", "GET /queue"]
    case_span, queue_span = finished
    assert all(s.kind == trace.SpanKind.SERVER for s in finished)
    assert dict(case_span.attributes or {}) == {
        "http.request.method": "GET",
        "http.route": "/cases/{complaint_id}",
        "http.response.status_code": 200,
    }
    # No URL, no complaint id, no search words anywhere in the spans.
    recorded = repr([dict(s.attributes or {}) for s in finished]) + repr([s.name for s in finished])
    for private in ("c-1", "Dewi", "Lestari"):
        assert private not in recorded
    # The case page's three calls (complaint, trail, case) ran inside its span.
    case_calls = backend.parents[:3]
    assert case_calls == [case_span.context.span_id] * 3
    assert backend.parents[3:] == [queue_span.context.span_id] * (len(backend.parents) - 3)


def test_a_failing_page_marks_its_span_as_an_error(
    client: TestClient, backend: SpanNotingBackend, spans: InMemorySpanExporter
) -> None:
    backend.is_ready = False
    spans.clear()
    assert client.get("/readyz").status_code == 503
    (span,) = spans.get_finished_spans()
    assert span.name == "GET /readyz"
    assert span.status.status_code == trace.StatusCode.ERROR
    assert client.get("/no-such-page").status_code == 404
    assert spans.get_finished_spans()[-1].name == "GET"
