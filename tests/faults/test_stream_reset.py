"""The JetStream stream deleted under a running relay and consumer: the stream and the durable
consumer are re-created, the relay republishes its whole log into the new stream, and the
consumer ends with every event exactly once (real nats-server, SQLite stores)."""

from __future__ import annotations

from pathlib import Path

import nats
import nats.js.errors
import pytest
from integration.workers import running, until
from notes_service import Note, NotesApplication, notes_translator

from aduan.core.context import Actor, CommandContext
from aduan.core.settings import ServiceSettings
from aduan.eventstore.store import store_env
from aduan.messaging.jetstream import STREAM_NAME, LinkPublisher, NatsLink, TrackedConsumer
from aduan.messaging.outbox import OutboxRelay
from aduan.v1 import events_pb2
from aduan_devtools.natsserver import EmbeddedNats

pytestmark = [pytest.mark.integration, pytest.mark.faults]


class Copier:
    def __init__(self, app: NotesApplication) -> None:
        self.app = app

    def last_position(self, upstream: str) -> int:
        return self.app.tracked_position(upstream)

    def process(self, envelope: events_pb2.Envelope) -> None:
        ctx = CommandContext(actor=Actor.service("copier"), causation_id=envelope.event_id)
        note = Note(text=envelope.complaint_filed.description, meta=ctx.meta())
        self.app.save_reaction(envelope.service, envelope.position, note)

    def texts(self) -> list[str]:
        return [
            self.app.decode(n).text  # type: ignore[attr-defined]
            for n in self.app.read_notifications(0, 10_000)
        ]


async def stream_messages(url: str) -> int:
    nc = await nats.connect(url)
    try:
        return int((await nc.jetstream().stream_info(STREAM_NAME)).state.messages)
    except nats.js.errors.NotFoundError:
        return -1
    finally:
        await nc.close()


async def delete_stream(url: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(STREAM_NAME)
    finally:
        await nc.close()


async def test_deleted_stream_is_recreated_and_refilled_from_the_store(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    upstream = NotesApplication(env=store_env(f"sqlite:///{tmp_path}/up.sqlite", "up"))
    downstream = NotesApplication(env=store_env(f"sqlite:///{tmp_path}/down.sqlite", "down"))
    copier = Copier(downstream)
    settings = ServiceSettings.from_env("intake", env={"ADUAN_NATS_URL": nats_server.url})
    link = NatsLink(settings)
    relay = OutboxRelay(upstream, notes_translator(), LinkPublisher(link), poll_seconds=0.2)
    # No EventLog repair here: only the republished stream can bring the consumer the events.
    consumer = TrackedConsumer(link, durable="copier", upstreams=["intake"], processor=copier)
    for i in range(15):
        upstream.write(f"sebelum {i}")

    async with running(link, relay, consumer):
        await until(lambda: len(copier.texts()) == 15)
        await delete_stream(nats_server.url)
        for i in range(10):
            upstream.write(f"sesudah {i}")
        # The new stream holds the whole log again, and the consumer got the new events.
        await until(lambda: stream_messages_is(nats_server.url, 25), within=30)
        await until(lambda: len(copier.texts()) == 25, within=30)

    assert copier.texts() == [f"sebelum {i}" for i in range(15)] + [
        f"sesudah {i}" for i in range(10)
    ]
    assert consumer.stats.duplicates >= 15  # the republished ones, skipped
    upstream.close()
    downstream.close()


async def test_stream_deleted_while_idle_is_refilled_at_the_next_look(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    upstream = NotesApplication(env=store_env(f"sqlite:///{tmp_path}/up.sqlite", "up"))
    for i in range(8):
        upstream.write(f"keluhan {i}")
    settings = ServiceSettings.from_env("intake", env={"ADUAN_NATS_URL": nats_server.url})
    link = NatsLink(settings)
    relay = OutboxRelay(upstream, notes_translator(), LinkPublisher(link), poll_seconds=0.2)
    async with running(link, relay):
        await until(lambda: stream_messages_is(nats_server.url, 8))
        await delete_stream(nats_server.url)
        # Nothing new is written: the relay's periodic look finds the stream gone.
        await until(lambda: stream_messages_is(nats_server.url, 8), within=30)
    upstream.close()


async def stream_messages_is(url: str, expected: int) -> bool:
    return await stream_messages(url) == expected
