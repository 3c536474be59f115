"""The real path: a TrackedConsumer (durable "notification") on a real nats-server, the sender
and the stand-ins. NATS redelivers every event (published again under other Msg-Ids) and the
provider fails twice per message: each recipient still gets each message exactly once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import nats
import pytest

from aduan.contract.envelopes import subject_for
from aduan.core.settings import ServiceSettings
from aduan.messaging.jetstream import NatsLink, TrackedConsumer, ensure_stream
from aduan.v1 import events_pb2
from aduan_devtools.natsserver import EmbeddedNats
from aduan_devtools.testing.notification import (
    ALL_LIVE,
    FAST_RETRIES,
    Answer,
    FakeIntake,
    StandInProvider,
    Upstream,
    sqlite_app,
    stand_in_worker,
    story,
)
from aduan_notification.consumer import DURABLE, UPSTREAMS, NotificationProcessor
from aduan_notification.domain import DeliveryStatus

pytestmark = pytest.mark.integration


async def publish(url: str, envelopes: list[events_pb2.Envelope], msg_id_prefix: str = "") -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js)
    for envelope in envelopes:
        await js.publish(
            subject_for(envelope.service, envelope.event_type),
            envelope.SerializeToString(),
            headers={"Nats-Msg-Id": f"{msg_id_prefix}{envelope.event_id}"},
        )
    await nc.close()


async def test_exactly_one_send_per_recipient_through_redelivery_and_provider_failures(
    nats_server: EmbeddedNats, tmp_path: Path, provider: StandInProvider, intake_server: FakeIntake
) -> None:
    provider.failures_per_key = [Answer(500), Answer(429, {"Retry-After": "0.05"})]
    app = sqlite_app(tmp_path / "notification.sqlite", channels=ALL_LIVE, retry_policy=FAST_RETRIES)
    settings = ServiceSettings.from_env("notification", env={"ADUAN_NATS_URL": nats_server.url})
    link = NatsLink(settings)
    consumer = TrackedConsumer(
        link, durable=DURABLE, upstreams=UPSTREAMS, processor=NotificationProcessor(app)
    )
    worker = stand_in_worker(app, provider, intake_server)
    intake, routing = Upstream("intake"), Upstream("routing")
    envelopes = story(intake, routing, "c-1", "ADU-2026-AAAAAA") + story(
        intake, routing, "c-2", "ADU-2026-BBBBBB"
    )
    await publish(nats_server.url, envelopes)
    # Redelivery beyond JetStream's duplicate window: the same events under other message ids.
    await publish(nats_server.url, envelopes, msg_id_prefix="again:")

    tasks = [asyncio.create_task(w.run()) for w in (link, consumer, worker)]
    try:
        deadline = time.monotonic() + 30
        expected = 2 * 11
        while not (
            consumer.stats.processed == len(envelopes)
            and consumer.stats.duplicates >= len(envelopes)
            and provider.sends == expected
            and app.index.pending_count() == 0
        ):
            assert time.monotonic() < deadline, (consumer.stats, provider.sends)
            await asyncio.sleep(0.05)
    finally:
        for w in (consumer, worker, link):
            w.stop()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)
        await link.drain()

    deliveries = app.list_deliveries("c-1") + app.list_deliveries("c-2")
    assert len(deliveries) == expected
    assert {d.status for d in deliveries} == {DeliveryStatus.SENT}
    for delivery in deliveries:
        assert provider.accept_counts[delivery.provider_key] == 1
        assert provider.requests_for(delivery.provider_key) == 3
    # One message per (event, recipient): the two complaints' reporters got 7 each.
    per_recipient: dict[tuple[str, str], int] = {}
    for delivery in deliveries:
        key = (delivery.source_event_id, delivery.recipient)
        per_recipient[key] = per_recipient.get(key, 0) + 1
    assert set(per_recipient.values()) == {1}
    app.close()
