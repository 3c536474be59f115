"""Routing end to end on the local process stack (gRPC only): a complaint filed for a regency is
held by that regency's Kantah within a second, and the query service's audit trail shows the
rule that placed it."""

from __future__ import annotations

import time
import uuid
from typing import Any

import grpc
import pytest
from e2e.callers import TARGET, auditor_metadata

from aduan.v1 import (
    common_pb2,
    intake_pb2,
    intake_pb2_grpc,
    query_pb2,
    query_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)


def file_complaint(
    channel: grpc.Channel, category: int, regency: str
) -> intake_pb2.FileComplaintResponse:
    response: intake_pb2.FileComplaintResponse = intake_pb2_grpc.IntakeStub(channel).FileComplaint(
        intake_pb2.FileComplaintRequest(
            idempotency_key=f"e2e-routing-{uuid.uuid4()}",
            channel=common_pb2.CHANNEL_WEB,
            reporter=intake_pb2.Reporter(name="Dewi Lestari", phone="081234567890"),
            category=category,
            location=common_pb2.Location(province_code=regency[:2], regency_code=regency),
            subject="Sertifikat belum terbit",
            description="Permohonan sertifikat saya sudah enam bulan belum terbit tanpa kabar.",
        ),
        timeout=5,
    )
    return response


def wait_for_case(
    channel: grpc.Channel, complaint_id: str, within: float, metadata: Any = None
) -> Any:
    """The case as `metadata`'s caller sees it (the channel's operator by default)."""
    routing = routing_pb2_grpc.RoutingStub(channel)
    deadline = time.monotonic() + within
    while True:
        try:
            return routing.GetCase(
                routing_pb2.GetCaseRequest(complaint_id=complaint_id),
                metadata=metadata,
                timeout=2,
            ).state
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"routing has no case for {complaint_id} within {within} s"
                ) from error
            time.sleep(0.02)


def test_a_complaint_for_a_regency_is_held_by_its_kantah_within_a_second(
    channels: dict[str, grpc.Channel],
) -> None:
    filed = file_complaint(channels["intake"], common_pb2.CATEGORY_LAND_SERVICE, "33.74")
    started = time.monotonic()
    state = wait_for_case(channels["routing"], filed.complaint_id, within=1.0)
    assert time.monotonic() - started < 1.0
    assert state.holding_office.code == "KANTAH.33.74"
    assert state.holding_office.level == common_pb2.OFFICE_LEVEL_KANTAH
    assert state.status == common_pb2.COMPLAINT_STATUS_ASSIGNED
    assert state.ticket_number == filed.ticket_number
    by_ticket = routing_pb2_grpc.RoutingStub(channels["routing"]).GetCase(
        routing_pb2.GetCaseRequest(complaint_id=filed.ticket_number), timeout=2
    )
    assert by_ticket.state.complaint_id == filed.complaint_id


def test_an_illegal_levy_complaint_goes_to_the_inspectorate(
    channels: dict[str, grpc.Channel], request: pytest.FixtureRequest
) -> None:
    # The Inspectorate is independent: its cases are sealed from the operator's triage desk, so
    # an auditor looks.
    auditor = auditor_metadata(request.getfixturevalue("stack") if TARGET == "local" else None)
    filed = file_complaint(channels["intake"], common_pb2.CATEGORY_ILLEGAL_LEVY, "33.74")
    state = wait_for_case(channels["routing"], filed.complaint_id, within=10.0, metadata=auditor)
    assert state.holding_office.code == "PUSAT.ITJEN"


def test_the_audit_trail_shows_the_rule_that_placed_the_case(
    channels: dict[str, grpc.Channel],
) -> None:
    filed = file_complaint(channels["intake"], common_pb2.CATEGORY_LAND_SERVICE, "32.73")
    wait_for_case(channels["routing"], filed.complaint_id, within=10.0)
    rules = routing_pb2_grpc.RoutingStub(channels["routing"]).GetRoutingRules(
        routing_pb2.GetRoutingRulesRequest(), timeout=2
    )
    query = query_pb2_grpc.QueryStub(channels["query"])
    deadline = time.monotonic() + 15.0
    routed: list[query_pb2.AuditEntry] = []
    seen: list[str] = []
    while not routed and time.monotonic() < deadline:
        try:
            trail = query.GetAuditTrail(
                query_pb2.GetAuditTrailRequest(complaint_id=filed.complaint_id), timeout=5
            )
        except grpc.RpcError as error:
            # The query service has not projected the complaint yet.
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
        else:
            seen = [e.event_type for e in trail.entries]
            routed = [e for e in trail.entries if e.event_type == "CaseRouted"]
        time.sleep(0.05)
    assert len(routed) == 1, seen
    entry = routed[0]
    assert entry.service == "routing"
    assert entry.rule_id == "land-service-to-kantah"
    assert entry.ruleset_version == rules.ruleset_version
    assert entry.to_office.code == "KANTAH.32.73"
