"""One trace follows an event from the command that stored it, through the relay's publish, to a
consumer's processing and the events it stores in reaction; the lag metrics rise while NATS is
down and fall back to zero when it returns."""

from __future__ import annotations

from pathlib import Path

import pytest
from integration.workers import running, until
from notes_service import Note, NotesApplication, notes_translator
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aduan.contract.envelopes import reaction_context
from aduan.core.context import Actor, CommandContext
from aduan.core.settings import ServiceSettings
from aduan.core.telemetry import current_trace_headers, tracer
from aduan.eventstore.store import store_env
from aduan.messaging.jetstream import LinkPublisher, NatsLink, TrackedConsumer
from aduan.messaging.outbox import OutboxRelay, observe_relay
from aduan.v1 import events_pb2
from aduan_devtools.natsserver import EmbeddedNats

pytestmark = pytest.mark.integration

SPANS = InMemorySpanExporter()
METRICS = InMemoryMetricReader()


@pytest.fixture(scope="module", autouse=True)
def telemetry() -> None:
    # The tracer provider is process-global and set once: this module owns it in the test
    # process (composition roots set it only in service processes).
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SPANS))
    trace.set_tracer_provider(provider)


class ReactingProjector:
    """Stores a note in reaction to each event, with the context a real consumer would use."""

    def __init__(self, app: NotesApplication) -> None:
        self.app = app
        self.contexts: list[CommandContext] = []

    def last_position(self, upstream: str) -> int:
        return self.app.tracked_position(upstream)

    def process(self, envelope: events_pb2.Envelope) -> None:
        ctx = reaction_context(envelope, Actor.service("router"))
        self.contexts.append(ctx)
        self.app.save_reaction(
            envelope.service, envelope.position, Note(text="reaksi", meta=ctx.meta())
        )


async def test_one_trace_links_command_publish_consumption_and_reaction(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    upstream = NotesApplication(env=store_env(f"sqlite:///{tmp_path}/up.sqlite", "up"))
    downstream = NotesApplication(env=store_env(f"sqlite:///{tmp_path}/down.sqlite", "down"))
    projector = ReactingProjector(downstream)
    link = NatsLink(ServiceSettings.from_env("intake", env={"ADUAN_NATS_URL": nats_server.url}))
    relay = OutboxRelay(upstream, notes_translator(), LinkPublisher(link))
    consumer = TrackedConsumer(
        link, durable="trace-test", upstreams=["intake"], processor=projector
    )

    with tracer().start_as_current_span("FileComplaint") as command_span:
        headers = current_trace_headers()
        ctx = CommandContext(actor=Actor.system("test"), traceparent=headers["traceparent"])
        upstream.save(Note(text="keluhan", meta=ctx.meta()))
    trace_id = command_span.get_span_context().trace_id

    async with running(link, relay, consumer):
        await until(lambda: len(projector.contexts) == 1)

    spans = {s.name: s for s in SPANS.get_finished_spans() if s.context.trace_id == trace_id}
    assert "publish aduan.intake.complaint_filed" in spans
    assert "process ComplaintFiled" in spans
    assert (
        spans["publish aduan.intake.complaint_filed"].parent.span_id
        == command_span.get_span_context().span_id
    )
    assert (
        spans["process ComplaintFiled"].parent.span_id
        == spans["publish aduan.intake.complaint_filed"].context.span_id
    )
    # The reaction is stored with the same trace, so the downstream relay continues it.
    assert projector.contexts[0].traceparent.split("-")[1] == format(trace_id, "032x")


def metric_value(name: str, **attributes: str) -> float | None:
    data = METRICS.get_metrics_data()
    if data is None:
        return None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        if all(point.attributes.get(k) == v for k, v in attributes.items()):
                            return float(point.value)  # type: ignore[union-attr]
    return None


async def test_relay_lag_rises_while_nats_is_down_and_returns_to_zero(tmp_path: Path) -> None:
    nats_server = EmbeddedNats(tmp_path / "nats").start()
    app = NotesApplication(env=store_env(f"sqlite:///{tmp_path}/lag.sqlite", "lag"))
    link = NatsLink(ServiceSettings.from_env("routing", env={"ADUAN_NATS_URL": nats_server.url}))
    relay = OutboxRelay(app, notes_translator("routing"), LinkPublisher(link))
    # A meter of its own: relays built by other tests registered instruments on the global one.
    observe_relay(relay, MeterProvider(metric_readers=[METRICS]).get_meter("aduan"))
    try:
        async with running(link, relay):
            app.write("pertama")
            await until(
                lambda: (
                    metric_value("aduan.relay.lag", service="routing") == 0
                    and relay.stats.published == 1
                )
            )
            nats_server.kill()
            for i in range(5):
                app.write(f"saat NATS mati {i}")
            await until(lambda: metric_value("aduan.relay.lag", service="routing") == 5)
            nats_server.start()
            await until(lambda: metric_value("aduan.relay.lag", service="routing") == 0, within=30)
    finally:
        nats_server.stop()
    assert relay.stats.published == 6
