"""Without an exporter no span is recorded, yet trace context still flows to peers and events."""

from __future__ import annotations

import pytest
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import use_span

from aduan.core.telemetry import unexported_sampler


def test_nothing_exported_means_nothing_recorded_but_context_propagates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    sampler = unexported_sampler()
    assert sampler is ALWAYS_OFF
    tracer = TracerProvider(sampler=sampler).get_tracer("test")
    span = tracer.start_span("FileComplaint")
    assert not span.is_recording()
    carrier: dict[str, str] = {}
    with use_span(span, end_on_exit=True):
        inject(carrier)
    trace_id = format(span.get_span_context().trace_id, "032x")
    # traceparent: version-traceid-spanid-flags; unsampled, but the ids correlate logs and peers.
    assert carrier["traceparent"].split("-")[1] == trace_id
    assert int(carrier["traceparent"].split("-")[3], 16) & 0x01 == 0  # not sampled


def test_an_explicit_sampler_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    assert unexported_sampler() is None
