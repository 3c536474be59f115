"""The backbone end to end: a complaint filed through a generic reflection client is returned by
the query service within a second, with its audit trail."""

from __future__ import annotations

import time
import uuid

import grpc
from e2e.grpc_reflection_client import ReflectionClient
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aduan.core.settings import ALL_SERVICES

SERVICE_NAMES = {
    "intake": {"aduan.v1.Intake", "aduan.v1.EventLog"},
    "routing": {"aduan.v1.Routing", "aduan.v1.EventLog"},
    "notification": {"aduan.v1.Notification", "aduan.v1.EventLog"},
    "query": {"aduan.v1.Query"},
}


def test_every_service_is_serving_and_discoverable(channels: dict[str, grpc.Channel]) -> None:
    for name in ALL_SERVICES:
        health = health_pb2_grpc.HealthStub(channels[name])
        for service in ("", name, *SERVICE_NAMES[name]):
            response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING, (name, service)
        assert SERVICE_NAMES[name] <= set(ReflectionClient(channels[name]).services())


def test_a_complaint_filed_through_reflection_is_queryable_within_a_second(
    channels: dict[str, grpc.Channel],
) -> None:
    intake = ReflectionClient(channels["intake"])
    query = ReflectionClient(channels["query"])
    filed = intake.call(
        "aduan.v1.Intake/FileComplaint",
        {
            "idempotencyKey": f"e2e-{uuid.uuid4()}",
            "channel": "CHANNEL_WEB",
            "reporter": {"name": "Siti Aminah", "phone": "081298765432"},
            "location": {"provinceCode": "32", "regencyCode": "32.73"},
            "subject": "Pengukuran ulang tertunda",
            "description": "Pengukuran ulang bidang tanah saya tertunda tiga bulan tanpa kabar.",
        },
    )
    assert filed["created"] is True
    assert filed["ticketNumber"].startswith("ADU-")

    started = time.monotonic()
    found = None
    while found is None and time.monotonic() - started < 1.0:
        try:
            found = query.call(
                "aduan.v1.Query/GetComplaint", {"complaintId": filed["ticketNumber"]}
            )
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            time.sleep(0.02)
    assert found is not None, "not visible in the query service within 1 s"
    elapsed = time.monotonic() - started
    assert elapsed < 1.0
    complaint = found["complaint"]
    assert complaint["complaintId"] == filed["complaintId"]
    # RECEIVED until routing's placement is projected, ASSIGNED after: both are right here.
    assert complaint["status"] in {"COMPLAINT_STATUS_RECEIVED", "COMPLAINT_STATUS_ASSIGNED"}
    assert complaint["location"]["regencyCode"] == "32.73"

    trail = query.call("aduan.v1.Query/GetAuditTrail", {"complaintId": filed["complaintId"]})
    filed_entries = [e for e in trail["entries"] if e["eventType"] == "ComplaintFiled"]
    assert len(filed_entries) == 1
    assert filed_entries[0]["service"] == "intake"
    assert filed_entries[0]["actor"]["id"]


def test_read_your_writes_without_sleeping(channels: dict[str, grpc.Channel]) -> None:
    intake = ReflectionClient(channels["intake"])
    query = ReflectionClient(channels["query"])
    filed = intake.call(
        "aduan.v1.Intake/FileComplaint",
        {
            "idempotencyKey": f"e2e-{uuid.uuid4()}",
            "channel": "CHANNEL_API",
            "reporter": {"anonymous": True},
            # Not an integrity complaint: routed to the Inspectorate, it would be sealed from
            # the operator's triage desk as soon as routing placed it.
            "description": "Antrean di loket pendaftaran kantor pertanahan sangat panjang.",
        },
    )
    found = query.call(
        "aduan.v1.Query/GetComplaint",
        {"complaintId": filed["complaintId"], "consistency": {"minPositions": [filed["position"]]}},
    )
    assert found["complaint"]["ticketNumber"] == filed["ticketNumber"]


def test_repeated_filing_returns_the_same_complaint(channels: dict[str, grpc.Channel]) -> None:
    intake = ReflectionClient(channels["intake"])
    request = {
        "idempotencyKey": f"e2e-{uuid.uuid4()}",
        "channel": "CHANNEL_WEB",
        "reporter": {"anonymous": True},
        "description": "Keluhan yang dikirim dua kali karena jaringan putus.",
    }
    first = intake.call("aduan.v1.Intake/FileComplaint", request)
    second = intake.call("aduan.v1.Intake/FileComplaint", request)

    assert second["complaintId"] == first["complaintId"]
    assert second["ticketNumber"] == first["ticketNumber"]
    assert first["created"] is True
    assert second.get("created", False) is False
