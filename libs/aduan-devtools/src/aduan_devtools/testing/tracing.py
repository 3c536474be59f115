"""Spans recorded in memory, for tests of what the code traces."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aduan.core import telemetry

if TYPE_CHECKING:
    import pytest


def record_spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """Every span started through `aduan.core.telemetry.tracer` from now until the test ends,
    in a provider of the test's own: the process's tracer provider is global and set once."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(telemetry, "tracer", lambda: provider.get_tracer("test"))
    return exporter
