"""Query and audit end to end (gRPC only): a filed complaint read back with read-your-writes, its
audit trail, time travel to before it was filed, and a rebuild from the EventLogs while serving."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc, query_pb2, query_pb2_grpc


def _ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def test_filed_complaint_is_queryable_auditable_replayable_and_survives_a_rebuild(
    channels: dict[str, grpc.Channel],
) -> None:
    before_filing = datetime.now(UTC) - timedelta(seconds=1)
    filed = intake_pb2_grpc.IntakeStub(channels["intake"]).FileComplaint(
        intake_pb2.FileComplaintRequest(
            idempotency_key=f"e2e-query-{uuid.uuid4()}",
            channel=common_pb2.CHANNEL_WEB,
            reporter=intake_pb2.Reporter(name="Dewi Lestari", phone="081311112222"),
            location=common_pb2.Location(province_code="32", regency_code="32.73"),
            subject="Balik nama tertunda",
            description="Proses balik nama sertifikat saya tertunda empat bulan.",
        ),
        timeout=10,
    )
    query = query_pb2_grpc.QueryStub(channels["query"])
    consistency = query_pb2.Consistency(min_positions=[filed.position])

    view = query.GetComplaint(
        query_pb2.GetComplaintRequest(complaint_id=filed.ticket_number, consistency=consistency),
        timeout=10,
    ).complaint
    assert view.complaint_id == filed.complaint_id
    assert view.subject == "Balik nama tertunda"
    assert view.masked_contact
    assert "1111" not in view.masked_contact

    trail = query.GetAuditTrail(
        query_pb2.GetAuditTrailRequest(complaint_id=filed.complaint_id, consistency=consistency),
        timeout=10,
    )
    assert trail.entries[0].event_type == "ComplaintFiled"
    assert trail.entries[0].service == "intake"

    listed = query.ListComplaints(
        query_pb2.ListComplaintsRequest(
            filter=query_pb2.ComplaintFilter(regency_code="32.73", text="balik nama"),
            consistency=consistency,
        ),
        timeout=10,
    )
    assert filed.complaint_id in {c.complaint_id for c in listed.complaints}

    with pytest.raises(grpc.RpcError) as error:
        query.GetComplaint(
            query_pb2.GetComplaintRequest(
                complaint_id=filed.ticket_number, as_of=_ts(before_filing)
            ),
            timeout=10,
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND

    rebuilt = query.RebuildProjections(query_pb2.RebuildProjectionsRequest(), timeout=60)
    positions = {p.service: p.position for p in rebuilt.positions}
    assert positions["intake"] >= filed.position.position
    again = query.GetComplaint(
        query_pb2.GetComplaintRequest(complaint_id=filed.ticket_number), timeout=10
    ).complaint
    assert again.complaint_id == view.complaint_id
    assert again.filed_at == view.filed_at
