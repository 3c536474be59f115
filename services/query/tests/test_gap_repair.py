"""A message lost on the way (the TrackedConsumer's `dropped` hook) is repaired from the EventLog:
a real nats-server, the query projector as the processor, an in-process EventLog server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from aduan.contract.envelopes import subject_for
from aduan.contract.eventlog import EventLogReader
from aduan.core.settings import WRITE_SERVICES, ServiceSettings
from aduan.messaging.jetstream import NatsLink, TrackedConsumer
from aduan.v1 import events_pb2
from aduan_devtools.natsserver import EmbeddedNats
from aduan_devtools.testing.query import scenario, serve_eventlogs
from aduan_query.projector import Projector
from aduan_query.readmodels import make_engine, migrate
from aduan_query.rebuild import verify

pytestmark = pytest.mark.integration


async def wait_until(condition: Callable[[], bool], within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await asyncio.to_thread(condition):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_dropped_messages_are_repaired_from_the_eventlog(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    history, _ = scenario(25, seed=21)
    engine = make_engine(f"sqlite:///{tmp_path / 'query.sqlite'}")
    migrate(engine)
    projector = Projector(engine)
    heads = {service: len(log) for service, log in history.logs.items()}
    # Lose one message in the middle of each service's stream, and a run of three in routing.
    lost = {f"{service}:{heads[service] // 2}" for service in WRITE_SERVICES}
    lost |= {f"routing:{p}" for p in (10, 11, 12)}
    dropped: list[str] = []

    def drop(envelope: events_pb2.Envelope) -> bool:
        if envelope.event_id in lost:
            dropped.append(envelope.event_id)
            return True
        return False

    settings = ServiceSettings.from_env(
        "query", env={"ADUAN_NATS_URL": nats_server.url, "ADUAN_DATA_DIR": str(tmp_path)}
    )
    link = NatsLink(settings)
    tasks = [asyncio.create_task(link.run())]
    async with serve_eventlogs(history.logs) as (addresses, _):
        reader = EventLogReader(addresses)
        try:
            js = await asyncio.wait_for(link.ready(), timeout=15)
            for envelope in history.in_history_order():
                await js.publish(
                    subject_for(envelope.service, envelope.event_type),
                    envelope.SerializeToString(),
                    headers={"Nats-Msg-Id": envelope.event_id},
                )
            consumer = TrackedConsumer(
                link,
                durable="query-gap-test",
                upstreams=WRITE_SERVICES,
                processor=projector,
                gap_filler=reader.read_range,
                dropped=drop,
            )
            tasks.append(asyncio.create_task(consumer.run()))
            await wait_until(lambda: projector.positions() == heads)
            consumer.stop()
            assert sorted(dropped) == sorted(lost)
            assert consumer.stats.repaired == len(lost)
            report = await verify(engine, reader, WRITE_SERVICES, scratch_dir=tmp_path)
            assert report.ok, [str(d) for d in report.differences[:5]]
        finally:
            link.stop()
            await link.drain()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await reader.close()
