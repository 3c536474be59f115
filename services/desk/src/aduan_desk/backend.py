"""The desk's calls to the services: one gRPC channel per service (the platform's `aio_channel`,
TLS per `ADUAN_TLS_*`), and every call carries the signed-in user's own token, so each rule of
who may see or do what, and each audit record, stays with the service that owns it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Protocol

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aduan.contract.verification import HistoryVerdict, verify_complaint_history
from aduan.core.settings import WRITE_SERVICES, TlsSettings
from aduan.core.telemetry import client_interceptors
from aduan.service.auth import bearer_metadata
from aduan.service.peers import AuthenticatedEventLogReader
from aduan.service.tls import aio_channel
from aduan.v1 import (
    common_pb2,
    intake_pb2,
    intake_pb2_grpc,
    query_pb2,
    query_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)

# Long enough for read-your-writes (query waits up to 5 s by default for a position).
CALL_TIMEOUT = 10.0
TRAIL_PAGE = 500


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def consistency(after: Sequence[tuple[str, int]]) -> query_pb2.Consistency:
    """Read-your-writes: the query waits until the user's own last writes are projected."""
    return query_pb2.Consistency(
        min_positions=[common_pb2.EventPosition(service=s, position=p) for s, p in after]
    )


class Backend(Protocol):
    """What the desk asks of the services (the unit tests give it a fake)."""

    async def list_complaints(
        self, token: str, request: query_pb2.ListComplaintsRequest
    ) -> query_pb2.ListComplaintsResponse: ...

    def watch_complaints(
        self, token: str, request: query_pb2.WatchComplaintsRequest
    ) -> AsyncIterator[query_pb2.ComplaintChange]: ...

    async def get_complaint(
        self,
        token: str,
        complaint_id: str,
        as_of: datetime | None = None,
        after: Sequence[tuple[str, int]] = (),
    ) -> query_pb2.ComplaintView: ...

    async def audit_trail(
        self, token: str, complaint_id: str, after: Sequence[tuple[str, int]] = ()
    ) -> list[query_pb2.AuditEntry]: ...

    async def get_case(self, token: str, complaint_id: str) -> routing_pb2.CaseState: ...

    async def command(
        self, token: str, name: str, request: Any
    ) -> routing_pb2.CaseCommandResponse: ...

    async def reveal_contact(
        self, token: str, request: intake_pb2.GetReporterContactRequest
    ) -> intake_pb2.GetReporterContactResponse: ...

    async def get_stats(
        self, token: str, request: query_pb2.GetStatsRequest
    ) -> query_pb2.GetStatsResponse: ...

    async def list_audit_events(
        self, token: str, request: query_pb2.ListAuditEventsRequest
    ) -> query_pb2.ListAuditEventsResponse: ...

    async def verify_history(
        self, token: str, events: Sequence[tuple[str, int]]
    ) -> HistoryVerdict: ...

    async def ready(self) -> bool: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


# Routing commands the desk's forms send, by form name.
COMMANDS = {
    "accept": "AcceptCase",
    "respond": "RespondToReporter",
    "reassign": "ReassignCase",
    "resolve": "ResolveCase",
    "reopen": "ReopenCase",
    "close": "CloseCase",
}


class GrpcBackend:
    def __init__(self, peers: dict[str, str], tls: TlsSettings) -> None:
        self.peers = peers
        self.tls = tls
        self.channels: dict[str, grpc.aio.Channel] = {}

    async def start(self) -> None:
        """Opens the channels on the server's event loop (a grpc.aio channel belongs to the
        loop it was made on)."""
        interceptors = client_interceptors()
        self.channels = {
            name: aio_channel(address, self.tls, interceptors=interceptors)
            for name, address in self.peers.items()
        }
        self.query = query_pb2_grpc.QueryStub(self.channels["query"])
        self.routing = routing_pb2_grpc.RoutingStub(self.channels["routing"])
        self.intake = intake_pb2_grpc.IntakeStub(self.channels["intake"])

    @staticmethod
    async def _call(method: Any, request: Any, token: str) -> Any:
        """One unary call of a service with the signed-in user's token."""
        return await method(request, metadata=bearer_metadata(token), timeout=CALL_TIMEOUT)

    async def list_complaints(
        self, token: str, request: query_pb2.ListComplaintsRequest
    ) -> query_pb2.ListComplaintsResponse:
        response: query_pb2.ListComplaintsResponse = await self._call(
            self.query.ListComplaints, request, token
        )
        return response

    async def watch_complaints(
        self, token: str, request: query_pb2.WatchComplaintsRequest
    ) -> AsyncIterator[query_pb2.ComplaintChange]:
        call = self.query.WatchComplaints(request, metadata=bearer_metadata(token))
        try:
            async for change in call:
                yield change
        finally:
            call.cancel()

    async def get_complaint(
        self,
        token: str,
        complaint_id: str,
        as_of: datetime | None = None,
        after: Sequence[tuple[str, int]] = (),
    ) -> query_pb2.ComplaintView:
        request = query_pb2.GetComplaintRequest(
            complaint_id=complaint_id, consistency=consistency(after)
        )
        if as_of is not None:
            request.as_of.CopyFrom(timestamp(as_of))
        response = await self._call(self.query.GetComplaint, request, token)
        view: query_pb2.ComplaintView = response.complaint
        return view

    async def audit_trail(
        self, token: str, complaint_id: str, after: Sequence[tuple[str, int]] = ()
    ) -> list[query_pb2.AuditEntry]:
        entries: list[query_pb2.AuditEntry] = []
        page_token = ""
        while True:
            response = await self._call(
                self.query.GetAuditTrail,
                query_pb2.GetAuditTrailRequest(
                    complaint_id=complaint_id,
                    page=common_pb2.PageRequest(page_size=TRAIL_PAGE, page_token=page_token),
                    consistency=consistency(after),
                ),
                token,
            )
            entries.extend(response.entries)
            page_token = response.page.next_page_token
            if not page_token:
                return entries

    async def get_case(self, token: str, complaint_id: str) -> routing_pb2.CaseState:
        response = await self._call(
            self.routing.GetCase, routing_pb2.GetCaseRequest(complaint_id=complaint_id), token
        )
        state: routing_pb2.CaseState = response.state
        return state

    async def command(self, token: str, name: str, request: Any) -> routing_pb2.CaseCommandResponse:
        response: routing_pb2.CaseCommandResponse = await self._call(
            getattr(self.routing, COMMANDS[name]), request, token
        )
        return response

    async def reveal_contact(
        self, token: str, request: intake_pb2.GetReporterContactRequest
    ) -> intake_pb2.GetReporterContactResponse:
        response: intake_pb2.GetReporterContactResponse = await self._call(
            self.intake.GetReporterContact, request, token
        )
        return response

    async def get_stats(
        self, token: str, request: query_pb2.GetStatsRequest
    ) -> query_pb2.GetStatsResponse:
        response: query_pb2.GetStatsResponse = await self._call(self.query.GetStats, request, token)
        return response

    async def list_audit_events(
        self, token: str, request: query_pb2.ListAuditEventsRequest
    ) -> query_pb2.ListAuditEventsResponse:
        response: query_pb2.ListAuditEventsResponse = await self._call(
            self.query.ListAuditEvents, request, token
        )
        return response

    async def verify_history(self, token: str, events: Sequence[tuple[str, int]]) -> HistoryVerdict:
        """The platform's verification of the EventLogs that hold `events`, read with the
        user's token (the write services' EventLog decides who may read it)."""
        reader = AuthenticatedEventLogReader(
            {name: self.peers[name] for name in WRITE_SERVICES if name in self.peers},
            lambda: token,
            self.tls,
        )
        try:
            return await verify_complaint_history(reader, events)
        finally:
            await reader.close()

    async def ready(self) -> bool:
        """The services the desk reads from answer their readiness."""
        for name in ("query", "routing"):
            try:
                response = await health_pb2_grpc.HealthStub(self.channels[name]).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1.0
                )
            except grpc.aio.AioRpcError:
                return False
            if response.status != health_pb2.HealthCheckResponse.SERVING:
                return False
        return True

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()
