"""gRPC adapter for aduan.v1.Query."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from aduan.v1 import common_pb2, query_pb2, query_pb2_grpc
from aduan_query.views import ComplaintQueries, ProgressWaiter, as_utc

DEFAULT_CONSISTENCY_TIMEOUT = 5.0


def _ts(value: Any) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(as_utc(value))
    return stamp


def complaint_view(row: Mapping[str, Any]) -> query_pb2.ComplaintView:
    return query_pb2.ComplaintView(
        complaint_id=row["complaint_id"],
        ticket_number=row["ticket_number"],
        status=common_pb2.ComplaintStatus.Value(f"COMPLAINT_STATUS_{row['status']}"),
        category=common_pb2.Category.Value(f"CATEGORY_{row['category']}"),
        channel=common_pb2.Channel.Value(f"CHANNEL_{row['channel']}"),
        location=common_pb2.Location(
            province_code=row["province_code"], regency_code=row["regency_code"], address=row["address"]
        ),
        subject=row["subject"],
        description=row["description"],
        holding_office=common_pb2.OfficeRef(code=row["holding_office"]) if row["holding_office"] else None,
        masked_contact=row["masked_contact"],
        anonymous=row["anonymous"],
        confidential=row["confidential"],
        reporter_erased=row["reporter_erased"],
        reassignment_count=row["reassignment_count"],
        filed_at=_ts(row["filed_at"]),
        updated_at=_ts(row["updated_at"]),
    )


def audit_entry(row: Mapping[str, Any]) -> query_pb2.AuditEntry:
    return query_pb2.AuditEntry(
        event_id=row["event_id"],
        service=row["service"],
        position=row["position"],
        event_type=row["event_type"],
        occurred_at=_ts(row["occurred_at"]),
        actor=common_pb2.Actor(
            id=row["actor_id"],
            kind=common_pb2.ActorKind.Value(f"ACTOR_KIND_{row['actor_kind'] or 'UNSPECIFIED'}"),
            role=row["actor_role"],
            office_code=row["actor_office"],
        ),
        from_office=common_pb2.OfficeRef(code=row["from_office"]) if row["from_office"] else None,
        to_office=common_pb2.OfficeRef(code=row["to_office"]) if row["to_office"] else None,
        note=row["note"],
        rule_id=row["rule_id"],
        ruleset_version=row["ruleset_version"],
        summary=row["summary"],
        aggregate_version=row["aggregate_version"],
    )


class QueryServicer(query_pb2_grpc.QueryServicer):
    def __init__(self, queries: ComplaintQueries, waiter: ProgressWaiter) -> None:
        self.queries = queries
        self.waiter = waiter

    async def _consistent(self, consistency: query_pb2.Consistency) -> None:
        minimum: dict[str, int] = {}
        for item in consistency.min_positions:
            minimum[item.service] = max(minimum.get(item.service, 0), item.position)
        timeout = (
            consistency.timeout.ToTimedelta().total_seconds()
            if consistency.HasField("timeout")
            else DEFAULT_CONSISTENCY_TIMEOUT
        )
        await self.waiter.wait_for(minimum, timeout)

    async def GetComplaint(  # noqa: N802 - gRPC method name
        self, request: query_pb2.GetComplaintRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> query_pb2.GetComplaintResponse:
        await self._consistent(request.consistency)
        row = await asyncio.to_thread(self.queries.get_complaint, request.complaint_id)
        return query_pb2.GetComplaintResponse(complaint=complaint_view(row))

    async def GetAuditTrail(  # noqa: N802 - gRPC method name
        self, request: query_pb2.GetAuditTrailRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> query_pb2.GetAuditTrailResponse:
        await self._consistent(request.consistency)
        complaint_id, rows = await asyncio.to_thread(self.queries.audit_trail, request.complaint_id)
        return query_pb2.GetAuditTrailResponse(
            complaint_id=complaint_id, entries=[audit_entry(r) for r in rows]
        )
