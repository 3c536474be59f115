"""A fake of the desk's backend (the services' gRPC APIs), recording what the desk asked with
which token, and answering or refusing as told."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from aduan.contract.verification import HistoryVerdict
from aduan.eventstore.chain import LogReport
from aduan.v1 import common_pb2, intake_pb2, query_pb2, routing_pb2
from aduan_desk.backend import timestamp

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def refusal(code: grpc.StatusCode, details: str = "refused") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


def complaint(
    complaint_id: str = "c-1", holder: str = "KANTAH.32.73", overdue: bool = False
) -> query_pb2.ComplaintView:
    return query_pb2.ComplaintView(
        complaint_id=complaint_id,
        ticket_number=f"ADU-2026-{complaint_id}",
        status=common_pb2.COMPLAINT_STATUS_ASSIGNED,
        category=common_pb2.CATEGORY_LAND_SERVICE,
        subject=f"Sertifikat belum terbit {complaint_id}",
        description="Sertifikat saya belum terbit. NIK [NIK]",
        holding_office=common_pb2.OfficeRef(code=holder, name="Kantor Pertanahan Kota Bandung"),
        accept_due=timestamp(NOW + timedelta(days=2, hours=3)),
        resolution_due=timestamp(NOW + timedelta(days=60)),
        filed_at=timestamp(NOW - timedelta(hours=1)),
        masked_contact="+62812****789",
        overdue=overdue,
    )


@dataclass
class FakeBackend:
    complaints: list[query_pb2.ComplaintView] = field(default_factory=lambda: [complaint()])
    trail: list[query_pb2.AuditEntry] = field(default_factory=list)
    # What the next call of each kind raises.
    refuse: dict[str, grpc.aio.AioRpcError] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    version: int = 3
    is_ready: bool = True
    # GetStats answers in turn (the last one repeats); ListAuditEvents pages in turn.
    stats: list[query_pb2.GetStatsResponse] = field(default_factory=list)
    audit_pages: list[query_pb2.ListAuditEventsResponse] = field(default_factory=list)
    reports: list[LogReport] = field(default_factory=list)

    def _call(self, kind: str, token: str, request: Any) -> None:
        self.calls.append((kind, token, request))
        if kind in self.refuse:
            raise self.refuse[kind]

    async def list_complaints(
        self, token: str, request: query_pb2.ListComplaintsRequest
    ) -> query_pb2.ListComplaintsResponse:
        self._call("list", token, request)
        return query_pb2.ListComplaintsResponse(complaints=self.complaints)

    async def watch_complaints(
        self, token: str, request: query_pb2.WatchComplaintsRequest
    ) -> AsyncIterator[query_pb2.ComplaintChange]:
        self._call("watch", token, request)
        for view in self.complaints:
            yield query_pb2.ComplaintChange(complaint=view, event_type="CaseRouted")

    async def get_complaint(
        self,
        token: str,
        complaint_id: str,
        as_of: datetime | None = None,
        after: Sequence[tuple[str, int]] = (),
    ) -> query_pb2.ComplaintView:
        self._call("get", token, (complaint_id, as_of, tuple(after)))
        return next(c for c in self.complaints if c.complaint_id == complaint_id)

    async def audit_trail(
        self, token: str, complaint_id: str, after: Sequence[tuple[str, int]] = ()
    ) -> list[query_pb2.AuditEntry]:
        self._call("trail", token, complaint_id)
        return self.trail

    async def get_case(self, token: str, complaint_id: str) -> routing_pb2.CaseState:
        self._call("case", token, complaint_id)
        return routing_pb2.CaseState(complaint_id=complaint_id, version=self.version)

    async def command(self, token: str, name: str, request: Any) -> routing_pb2.CaseCommandResponse:
        self._call(name, token, request)
        return routing_pb2.CaseCommandResponse(
            position=common_pb2.EventPosition(service="routing", position=42)
        )

    async def reveal_contact(
        self, token: str, request: intake_pb2.GetReporterContactRequest
    ) -> intake_pb2.GetReporterContactResponse:
        self._call("reveal", token, request)
        return intake_pb2.GetReporterContactResponse(name="Budi", phone="081234567890")

    async def get_stats(
        self, token: str, request: query_pb2.GetStatsRequest
    ) -> query_pb2.GetStatsResponse:
        self._call("stats", token, request)
        answered = sum(1 for call in self.calls if call[0] == "stats") - 1
        if not self.stats:
            return query_pb2.GetStatsResponse()
        return self.stats[min(answered, len(self.stats) - 1)]

    async def list_audit_events(
        self, token: str, request: query_pb2.ListAuditEventsRequest
    ) -> query_pb2.ListAuditEventsResponse:
        self._call("audit_events", token, request)
        index = int(request.page.page_token or "0")
        return self.audit_pages[index] if self.audit_pages else query_pb2.ListAuditEventsResponse()

    async def verify_history(self, token: str, events: Sequence[tuple[str, int]]) -> HistoryVerdict:
        self._call("verify", token, tuple(events))
        return HistoryVerdict(tuple(self.reports), tuple(sorted(set(events))))

    async def ready(self) -> bool:
        return self.is_ready

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None
