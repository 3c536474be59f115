"""`aduan.v1.EventLog`: a write service's stored events, in order, as envelopes.

The authoritative history: the query service rebuilds from it, consumers repair gaps from it,
auditors replay it. The client side (`EventLogReader`) is used by those readers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import grpc
from eventsourcing.persistence import Notification

from aduan.contract.envelopes import EnvelopeTranslator, undecodable_envelope
from aduan.eventstore.store import AduanApplication
from aduan.v1 import eventlog_pb2, eventlog_pb2_grpc, events_pb2

READ_BATCH = 500


class EventLogServicer(eventlog_pb2_grpc.EventLogServicer):
    def __init__(
        self, app: AduanApplication, translator: EnvelopeTranslator, poll_seconds: float = 1.0
    ) -> None:
        self.app = app
        self.translator = translator
        self.poll_seconds = poll_seconds

    async def Read(  # noqa: N802 - gRPC method name
        self, request: eventlog_pb2.ReadEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[events_pb2.Envelope]:
        if request.after_position < 0 or request.limit < 0:
            from aduan.core.errors import ValidationError

            raise ValidationError("after_position and limit must not be negative")
        async for envelope in self.read(
            request.after_position,
            request.limit,
            request.follow,
            include_stored=request.include_stored,
        ):
            yield envelope

    async def read(
        self, after: int, limit: int = 0, follow: bool = False, *, include_stored: bool = False
    ) -> AsyncIterator[events_pb2.Envelope]:
        sent = 0
        previous = after
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_saved(_: int) -> None:
            loop.call_soon_threadsafe(wake.set)

        if follow:
            self.app.add_listener(on_saved)
        try:
            while True:
                wake.clear()
                batch_size = READ_BATCH if not limit else min(READ_BATCH, limit - sent)
                notifications = await asyncio.to_thread(
                    self.app.read_notifications, after, batch_size
                )
                for notification in notifications:
                    envelope = self._translate(notification, include_stored)
                    after = notification.id
                    if envelope is None:
                        continue
                    envelope.previous_position = previous
                    previous = notification.id
                    yield envelope
                    sent += 1
                    if limit and sent >= limit:
                        return
                if notifications:
                    continue
                if not follow:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=self.poll_seconds)
        finally:
            if follow:
                self.app.remove_listener(on_saved)

    def _translate(
        self, notification: Notification, include_stored: bool
    ) -> events_pb2.Envelope | None:
        if not include_stored:
            return self.translator.translate(notification, self.app.decode(notification))
        # A verifier must see every stored event, even one altered beyond decoding.
        try:
            event = self.app.decode(notification)
        except Exception:
            return undecodable_envelope(self.translator.service, notification)
        envelope = self.translator.translate(notification, event, include_stored=True)
        return envelope or undecodable_envelope(self.translator.service, notification)

    async def GetHead(  # noqa: N802 - gRPC method name
        self, request: eventlog_pb2.GetHeadRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> eventlog_pb2.GetHeadResponse:
        position = await asyncio.to_thread(self.app.head_position)
        return eventlog_pb2.GetHeadResponse(service=self.translator.service, position=position)


class EventLogReader:
    """Reads the EventLogs of the write services over gRPC (addresses by service name)."""

    def __init__(
        self, addresses: Mapping[str, str], channel_options: list[tuple[str, Any]] | None = None
    ) -> None:
        self.addresses = dict(addresses)
        self._options = channel_options or []
        self._channels: dict[str, grpc.aio.Channel] = {}

    def _stub(self, service: str) -> eventlog_pb2_grpc.EventLogStub:
        if service not in self.addresses:
            raise KeyError(f"no EventLog address for service {service!r}")
        channel = self._channels.get(service)
        if channel is None:
            channel = grpc.aio.insecure_channel(self.addresses[service], options=self._options)
            self._channels[service] = channel
        return eventlog_pb2_grpc.EventLogStub(channel)

    async def read(
        self,
        service: str,
        after: int = 0,
        limit: int = 0,
        follow: bool = False,
        *,
        include_stored: bool = False,
    ) -> AsyncIterator[events_pb2.Envelope]:
        call = self._stub(service).Read(
            eventlog_pb2.ReadEventsRequest(
                after_position=after, limit=limit, follow=follow, include_stored=include_stored
            )
        )
        async for envelope in call:
            yield envelope

    async def read_range(self, service: str, after: int, until: int) -> list[events_pb2.Envelope]:
        """Envelopes with after < position <= until (the consumer's gap filler)."""
        if until <= after:
            return []
        return [
            e
            async for e in self.read(service, after=after, limit=until - after)
            if e.position <= until
        ]

    async def head(self, service: str) -> int:
        response = await self._stub(service).GetHead(eventlog_pb2.GetHeadRequest(), timeout=5)
        return int(response.position)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
