"""The event backbone against a real nats-server and real stores (SQLite; PostgreSQL when
ADUAN_TEST_POSTGRES_URL is set): relay -> JetStream -> tracked consumer, exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest
from integration.workers import running, until
from notes_service import Note, NotesApplication, notes_translator

from aduan.core.context import Actor, CommandContext
from aduan.core.settings import ServiceSettings
from aduan.eventstore.store import AduanApplication, store_env
from aduan.messaging.jetstream import (
    STREAM_NAME,
    LinkPublisher,
    NatsLink,
    TrackedConsumer,
    ensure_stream,
)
from aduan.messaging.outbox import OutboxRelay
from aduan.v1 import events_pb2
from aduan_devtools.natsserver import EmbeddedNats

pytestmark = pytest.mark.integration


StoreFor = Callable[[str], dict[str, str]]


@pytest.fixture(params=["sqlite", "postgres"])
def store_for(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFor:
    """A separate store per service name: a SQLite file each, or a PostgreSQL schema each."""
    if request.param == "sqlite":
        return lambda service: store_env(f"sqlite:///{tmp_path}/{service}.sqlite", service)
    url = str(request.getfixturevalue("postgres_url"))
    return lambda service: store_env(url, service)


class NotesProjector:
    """Consumer side: copies each upstream note into its own store with a tracking record."""

    def __init__(self, app: NotesApplication) -> None:
        self.app = app

    def last_position(self, upstream: str) -> int:
        return self.app.tracked_position(upstream)

    def process(self, envelope: events_pb2.Envelope) -> None:
        ctx = CommandContext(actor=Actor.service("projector"), causation_id=envelope.event_id)
        note = Note(text=envelope.complaint_filed.description, meta=ctx.meta())
        self.app.save_reaction(envelope.service, envelope.position, note)

    def texts(self) -> list[str]:
        notifications = self.app.read_notifications(0, 10_000)
        return [self.app.decode(n).text for n in notifications]  # type: ignore[attr-defined]


async def has_count(url: str, expected: int) -> bool:
    return await stream_count(url) == expected


async def stream_count(url: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info(STREAM_NAME)
        return int(info.state.messages)
    except nats.js.errors.NotFoundError:
        return 0
    finally:
        await nc.close()


class _ForgetfulPositions:
    """The application, but with the relay's position kept in memory from zero."""

    def __init__(self, app: AduanApplication) -> None:
        self._app = app
        self._position = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    def tracked_position(self, upstream: str) -> int:
        return self._position

    def save_tracking(self, upstream: str, position: int) -> None:
        self._position = position


def settings_for(service: str, nats_server: EmbeddedNats) -> ServiceSettings:
    return ServiceSettings.from_env(service, env={"ADUAN_NATS_URL": nats_server.url})


async def test_relay_publishes_every_stored_event_once_even_when_republishing(
    nats_server: EmbeddedNats, store_for: StoreFor
) -> None:
    app = NotesApplication(env=store_for("upstream"))
    for i in range(20):
        app.write(f"keluhan {i}")
    link = NatsLink(settings_for("intake", nats_server))
    relay = OutboxRelay(app, notes_translator(), LinkPublisher(link))

    async with running(link, relay):
        await until(lambda: has_count(nats_server.url, 20))
        # As if the position had been lost after publishing: a relay over a fresh (in-memory)
        # position republishes the same events, and JetStream's duplicate window drops every one
        # of them (Nats-Msg-Id).
        rewound = OutboxRelay(app, notes_translator(), LinkPublisher(link), batch_size=7)
        rewound.app = _ForgetfulPositions(app)  # type: ignore[assignment]
        while await rewound.relay_once():
            pass
    assert await stream_count(nats_server.url) == 20
    assert app.tracked_position(AduanApplication.OUTBOX_TRACKING_NAME) == 20
    app.close()


async def test_consumer_applies_each_event_exactly_once_despite_redelivery(
    nats_server: EmbeddedNats, store_for: StoreFor
) -> None:
    upstream = NotesApplication(env=store_for("upstream"))
    downstream = NotesApplication(env=store_for("downstream"))
    projector = NotesProjector(downstream)
    link = NatsLink(settings_for("intake", nats_server))
    relay = OutboxRelay(upstream, notes_translator(), LinkPublisher(link))
    consumer = TrackedConsumer(
        link, durable="notes-test", upstreams=["intake"], processor=projector
    )
    for i in range(10):
        upstream.write(f"pesan {i}")

    async with running(link, relay, consumer):
        await until(lambda: len(projector.texts()) == 10)
        # Redeliver: the same envelopes again under new message ids (beyond the duplicate window).
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        for notification in upstream.read_notifications(0, 100):
            envelope = notes_translator().translate(notification, upstream.decode(notification))
            assert envelope is not None
            await js.publish(
                "aduan.intake.complaint_filed",
                envelope.SerializeToString(),
                headers={"Nats-Msg-Id": f"replay:{notification.id}"},
            )
        await js.publish("aduan.intake.complaint_filed", b"\x00garbage")
        await until(lambda: consumer.stats.duplicates >= 10 and consumer.stats.dead_lettered == 1)
        dead = await js.pull_subscribe(
            "aduan.deadletter.notes-test", durable="dlq-reader", stream=STREAM_NAME
        )
        [dead_message] = await dead.fetch(1, timeout=5)
        await nc.close()

    assert projector.texts() == [f"pesan {i}" for i in range(10)]
    assert downstream.tracked_position("intake") == 10
    assert dead_message.data == b"\x00garbage"
    assert dead_message.headers is not None
    assert "undecodable" in dead_message.headers["Aduan-Dead-Letter-Reason"]
    upstream.close()
    downstream.close()


async def test_stream_set_up_is_idempotent(nats_server: EmbeddedNats) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_stream(js)
    await ensure_stream(js)
    info = await js.stream_info(STREAM_NAME)
    await nc.close()

    assert info.config.subjects == ["aduan.>"]
    assert info.config.duplicate_window is not None
    assert info.config.duplicate_window >= 600
    assert info.config.max_age == 7 * 86400


async def test_the_age_limit_follows_the_settings(nats_server: EmbeddedNats) -> None:
    """A service started with another ADUAN_STREAM_MAX_AGE brings the stream to it (0: for
    ever), so an operator's change takes effect at the next start."""
    for raw, seconds in (("30d", 30 * 86400), ("0", 0)):
        settings = ServiceSettings.from_env(
            "routing", env={"ADUAN_NATS_URL": nats_server.url, "ADUAN_STREAM_MAX_AGE": raw}
        )
        link = NatsLink(settings)
        async with running(link):
            await link.ready()
            assert link.js is not None
            info = await link.js.stream_info(STREAM_NAME)
        assert (info.config.max_age or 0) == seconds


async def test_events_the_stream_aged_out_reach_a_late_consumer_from_the_eventlog(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    """A consumer away for longer than the stream keeps events (or a new one) still gets every
    event, in order, exactly once: the first event it does receive reveals the gap, and the
    upstream's EventLog fills it."""
    upstream = NotesApplication(env=store_env(f"sqlite:///{tmp_path}/up.sqlite", "up"))
    downstream = NotesApplication(env=store_env(f"sqlite:///{tmp_path}/down.sqlite", "down"))
    projector = NotesProjector(downstream)
    settings = ServiceSettings.from_env(
        "intake", env={"ADUAN_NATS_URL": nats_server.url, "ADUAN_STREAM_MAX_AGE": "1s"}
    )
    translator = notes_translator()

    async def from_the_eventlog(service: str, after: int, up_to: int) -> list[events_pb2.Envelope]:
        envelopes = []
        for notification in upstream.read_notifications(after, up_to - after):
            envelope = translator.translate(notification, upstream.decode(notification))
            if envelope is not None:
                envelope.previous_position = notification.id - 1
                envelopes.append(envelope)
        return envelopes

    link = NatsLink(settings)
    relay = OutboxRelay(upstream, translator, LinkPublisher(link), poll_seconds=0.2)
    for i in range(5):
        upstream.write(f"lama {i}")
    async with running(link, relay):
        await until(lambda: has_count(nats_server.url, 5))
        # The age limit passes with no consumer reading.
        await until(lambda: has_count(nats_server.url, 0), within=15)
        consumer = TrackedConsumer(
            link,
            durable="late",
            upstreams=["intake"],
            processor=projector,
            gap_filler=from_the_eventlog,
        )
        async with running(consumer):
            for i in range(3):
                upstream.write(f"baru {i}")
            await until(lambda: len(projector.texts()) == 8, within=20)

    assert projector.texts() == [f"lama {i}" for i in range(5)] + [f"baru {i}" for i in range(3)]
    assert consumer.stats.repaired == 5
    upstream.close()
    downstream.close()
