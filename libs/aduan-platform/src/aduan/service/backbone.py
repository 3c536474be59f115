"""Wiring shared by the services' composition roots.

A write service's composition root builds its application and translator, then calls
`WriteBackbone(...)` (store + NATS link + outbox relay + EventLog servicer) and adds
`backbone.registrars`, `backbone.workers`, `backbone.health_checks`, ... to its runtime. Every
service that follows its upstreams builds its consumer with `upstream_consumer`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc

from aduan.contract.envelopes import EnvelopeTranslator
from aduan.contract.eventlog import EventLogServicer
from aduan.core.settings import ServiceSettings
from aduan.eventstore.checkpoint import CheckpointSealer
from aduan.eventstore.leader import Leadership, leadership_for
from aduan.eventstore.store import AduanApplication
from aduan.messaging.jetstream import (
    EnvelopeProcessor,
    LinkPublisher,
    NatsLink,
    TrackedConsumer,
    observe_consumer,
)
from aduan.messaging.outbox import OutboxRelay, observe_relay
from aduan.service.auth import ServiceAuth
from aduan.service.health import HealthCheck
from aduan.service.peers import ServiceEventLogReader
from aduan.service.runtime import Hook, Registrar, Worker
from aduan.v1 import eventlog_pb2, eventlog_pb2_grpc


class WriteBackbone:
    def __init__(
        self, settings: ServiceSettings, app: AduanApplication, translator: EnvelopeTranslator
    ) -> None:
        self.settings = settings
        self.app = app
        self.translator = translator
        self.link = NatsLink(settings)
        # With replicas on PostgreSQL, one instance relays; the others stand by.
        self.leadership = leadership_for(settings.store_url, f"aduan:{settings.service}:relay")
        self.relay = OutboxRelay(
            app,
            translator,
            LinkPublisher(self.link),
            poll_seconds=settings.relay_poll_seconds,
            leadership=self.leadership,
        )
        self.eventlog = EventLogServicer(app, translator)
        # Seals the log under a signed Merkle root (tamper evidence); the relay's leader seals.
        self.sealer = CheckpointSealer.from_settings(
            app, settings.service, settings.extra, self.leadership
        )
        observe_relay(self.relay)

    @property
    def service_names(self) -> Sequence[str]:
        return [eventlog_pb2.DESCRIPTOR.services_by_name["EventLog"].full_name]

    @property
    def registrars(self) -> Sequence[Registrar]:
        def register(server: grpc.aio.Server) -> None:
            eventlog_pb2_grpc.add_EventLogServicer_to_server(self.eventlog, server)

        return [register]

    @property
    def workers(self) -> Sequence[Worker]:
        return [self.leadership, self.link, self.relay, self.sealer]

    def store_check(self, *, gates_readiness: bool) -> HealthCheck:
        """The service's own store (a read of its notification log's head)."""
        return HealthCheck("store", self.store_reachable, gates_readiness=gates_readiness)

    def nats_check(self, *, gates_readiness: bool) -> HealthCheck:
        """The NATS connection (with the ADUAN stream ensured)."""
        return HealthCheck("nats", self.link.healthy, gates_readiness=gates_readiness)

    @property
    def health_checks(self) -> Sequence[HealthCheck]:
        """A write service is ready when its store answers: its RPCs read and write the store
        only, while NATS feeds its consumer and carries what the relay publishes later, both of
        which catch up after an outage. So a NATS outage leaves it ready (docs/operations.md,
        Probes)."""
        return [self.store_check(gates_readiness=True), self.nats_check(gates_readiness=False)]

    @property
    def shutdown_hooks(self) -> Sequence[Hook]:
        return [self.flush_relay, self.link.drain, self.close_store]

    async def store_reachable(self) -> bool:
        """The store answers a read (the runner of the check applies the timeout)."""
        await asyncio.to_thread(self.app.head_position)
        return True

    async def flush_relay(self) -> None:
        if self.link.is_connected():
            await self.relay.flush(within_seconds=5.0)

    async def close_store(self) -> None:
        self.app.close()


def upstream_consumer(
    settings: ServiceSettings,
    auth: ServiceAuth,
    link: NatsLink,
    leadership: Leadership,
    *,
    durable: str,
    upstreams: Sequence[str],
    processor: EnvelopeProcessor,
) -> tuple[TrackedConsumer, ServiceEventLogReader]:
    """The tracked consumer of a service's upstreams, which repairs a gap (and checks how far
    behind it is) from the upstreams' EventLogs, driven by whoever holds `leadership`, with its
    metrics observed. Returns the EventLog reader too, for the caller to close at shutdown."""
    reader = ServiceEventLogReader(
        {name: settings.peers[name] for name in upstreams}, settings, auth
    )
    consumer = TrackedConsumer(
        link,
        durable=durable,
        upstreams=upstreams,
        processor=processor,
        gap_filler=reader.read_range,
        head_reader=reader.head,
        leadership=leadership,
    )
    observe_consumer(consumer)
    return consumer, reader
