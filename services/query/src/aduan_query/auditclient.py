"""The auditor's client of `aduan.v1.Query`: the answers of GetComplaint, GetAuditTrail,
ListAuditEvents and ListComplaints as rows shaped like the read models' (`auditview` formats
them), every page fetched in turn. Calls carry the caller's token; TLS from ADUAN_TLS_*."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from aduan.contract.auditrows import entry_row
from aduan.core.settings import TlsSettings
from aduan.service.auth import bearer_interceptors
from aduan.service.tls import aio_channel
from aduan.v1 import common_pb2, query_pb2, query_pb2_grpc
from aduan_query.history import enum_name, optional_stamp, stamp
from aduan_query.views import MAX_PAGE_SIZE

Row = dict[str, Any]
# Called with the rows read so far, after each page.
OnPage = Callable[[int], None]


def _stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


async def _every_page(
    fetch: Callable[[common_pb2.PageRequest], Awaitable[tuple[list[Row], str]]],
    on_page: OnPage | None,
) -> AsyncIterator[Row]:
    """The rows of every page in turn; `fetch` answers a page's rows and the next page's token."""
    read, token = 0, ""
    while True:
        rows, token = await fetch(common_pb2.PageRequest(page_size=MAX_PAGE_SIZE, page_token=token))
        for row in rows:
            yield row
        read += len(rows)
        if on_page is not None:
            on_page(read)
        if not token:
            return


def _enum(enum: Any, value: int, prefix: str) -> str:
    """The read models' form of an enum value: its name without prefix, "" for UNSPECIFIED."""
    return "" if value == 0 else enum_name(enum, value, prefix)


def custody_row(segment: query_pb2.CustodySegment) -> Row:
    return {
        "office_code": segment.office.code,
        "received_from": segment.received_from,
        "from_at": stamp(segment.received_at),
        "until_at": optional_stamp(segment, "handed_at"),
        "held_seconds": (
            segment.held.ToTimedelta().total_seconds() if segment.HasField("held") else None
        ),
        "handed_to": segment.handed_to,
    }


def complaint_row(view: query_pb2.ComplaintView) -> Row:
    return {
        "complaint_id": view.complaint_id,
        "ticket_number": view.ticket_number,
        "status": _enum(common_pb2.ComplaintStatus, view.status, "COMPLAINT_STATUS_"),
        "category": _enum(common_pb2.Category, view.category, "CATEGORY_"),
        "province_code": view.location.province_code,
        "regency_code": view.location.regency_code,
        "holding_office": view.holding_office.code,
        "reassignment_count": view.reassignment_count,
        "breached": ",".join(
            enum_name(common_pb2.SlaKind, kind, "SLA_KIND_") for kind in view.breached
        ),
        "overdue": view.overdue,
        "filed_at": optional_stamp(view, "filed_at"),
        "updated_at": optional_stamp(view, "updated_at"),
    }


class QueryClient:
    """One channel to the Query service, as the holder of `token`."""

    def __init__(self, address: str, token: str, tls: TlsSettings, timeout: float = 60.0) -> None:
        self.channel = aio_channel(address, tls, interceptors=bearer_interceptors(lambda: token))
        self.stub = query_pb2_grpc.QueryStub(self.channel)
        self.timeout = timeout

    async def close(self) -> None:
        await self.channel.close()

    async def complaint(self, ref: str) -> Row:
        response = await self.stub.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=ref), timeout=self.timeout
        )
        return complaint_row(response.complaint)

    async def trail(self, complaint_id: str) -> tuple[list[Row], list[Row]]:
        """Every event of the complaint in history order, and its custody chain."""
        entries: list[Row] = []
        custody: list[Row] = []
        token = ""
        while True:
            response = await self.stub.GetAuditTrail(
                query_pb2.GetAuditTrailRequest(
                    complaint_id=complaint_id,
                    page=common_pb2.PageRequest(page_size=MAX_PAGE_SIZE, page_token=token),
                    include_custody=not token,
                ),
                timeout=self.timeout,
            )
            entries.extend(entry_row(entry) for entry in response.entries)
            if not token:
                custody = [custody_row(segment) for segment in response.custody]
            token = response.page.next_page_token
            if not token:
                return entries, custody

    async def audit_events(
        self, since: datetime | None, until: datetime | None, on_page: OnPage | None = None
    ) -> AsyncIterator[Row]:
        """Every complaint's events that occurred in [since, until), in history order."""
        occurred = common_pb2.TimeRange()
        if since is not None:
            occurred.start.CopyFrom(_stamp(since))
        if until is not None:
            occurred.end.CopyFrom(_stamp(until))

        async def fetch(page: common_pb2.PageRequest) -> tuple[list[Row], str]:
            response = await self.stub.ListAuditEvents(
                query_pb2.ListAuditEventsRequest(occurred=occurred, page=page),
                timeout=self.timeout,
            )
            return [entry_row(e) for e in response.entries], response.page.next_page_token

        async for row in _every_page(fetch, on_page):
            yield row

    async def complaints_as_of(
        self, as_of: datetime, office: str = "", on_page: OnPage | None = None
    ) -> AsyncIterator[Row]:
        """Every complaint as the system showed it at `as_of` (held at or below `office`), oldest
        filed first; `overdue` is judged at `as_of`."""
        spec = query_pb2.ComplaintFilter(office_code=office, include_descendants=bool(office))

        async def fetch(page: common_pb2.PageRequest) -> tuple[list[Row], str]:
            response = await self.stub.ListComplaints(
                query_pb2.ListComplaintsRequest(filter=spec, as_of=_stamp(as_of), page=page),
                timeout=self.timeout,
            )
            return [complaint_row(v) for v in response.complaints], response.page.next_page_token

        async for row in _every_page(fetch, on_page):
            yield row
