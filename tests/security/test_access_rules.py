"""The resource rules behind the matrix, on the in-process stack: confidential complaints do not
exist outside their holding chain, lists are narrowed to the caller's offices, every contact
reveal is an event naming who saw it, and the actor of every event is the token's subject."""

from __future__ import annotations

import grpc
import pytest
from security.conftest import HOLDER, INSPECTORATE, SecureStack

from aduan.v1 import (
    eventlog_pb2,
    eventlog_pb2_grpc,
    intake_pb2,
    intake_pb2_grpc,
    query_pb2,
    query_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)

pytestmark = pytest.mark.integration


def code_of(call: object) -> grpc.StatusCode:
    assert isinstance(call, grpc.RpcError)
    return call.code()


def test_confidential_complaints_are_hidden_outside_the_holding_chain(
    secure_stack: SecureStack,
) -> None:
    query = query_pb2_grpc.QueryStub(secure_stack.channel("query"))
    routing = routing_pb2_grpc.RoutingStub(secure_stack.channel("routing"))
    secret = secure_stack.seeded.confidential_id
    public = secure_stack.seeded.complaint_id
    outsider = secure_stack.bearer("officer", "KANTAH.32.01", "officer:bogor")
    for stub_call in (
        lambda: query.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=secret), metadata=outsider
        ),
        lambda: query.GetAuditTrail(
            query_pb2.GetAuditTrailRequest(complaint_id=secret), metadata=outsider
        ),
        lambda: routing.GetCase(routing_pb2.GetCaseRequest(complaint_id=secret), metadata=outsider),
    ):
        with pytest.raises(grpc.RpcError) as hidden:
            stub_call()
        assert code_of(hidden.value) == grpc.StatusCode.NOT_FOUND
    # A complaint that is not confidential: its existence is no secret, its content is.
    with pytest.raises(grpc.RpcError) as denied:
        query.GetComplaint(query_pb2.GetComplaintRequest(complaint_id=public), metadata=outsider)
    assert code_of(denied.value) == grpc.StatusCode.PERMISSION_DENIED

    # Inside the chain: the holding Kantah, its Kanwil (officer or supervisor), Pusat, auditors.
    for role, office in [
        ("officer", HOLDER),
        ("officer", "KANWIL.32"),
        ("supervisor", "KANWIL.32"),
        ("supervisor", "PUSAT.IP3"),
        ("auditor", ""),
    ]:
        view = query.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=secret),
            metadata=secure_stack.bearer(role, office),
        ).complaint
        assert view.confidential
        assert view.holding_office.code == HOLDER


def test_lists_are_narrowed_to_the_callers_offices(secure_stack: SecureStack) -> None:
    query = query_pb2_grpc.QueryStub(secure_stack.channel("query"))
    seeded = {secure_stack.seeded.complaint_id, secure_stack.seeded.confidential_id}

    def listed(role: str, office: str) -> set[str]:
        response = query.ListComplaints(
            query_pb2.ListComplaintsRequest(), metadata=secure_stack.bearer(role, office)
        )
        return {c.complaint_id for c in response.complaints}

    assert seeded <= listed("officer", HOLDER)
    assert seeded <= listed("supervisor", "KANWIL.32")
    assert not seeded & listed("officer", "KANTAH.32.01")
    assert not seeded & listed("supervisor", "KANWIL.33")
    with pytest.raises(grpc.RpcError) as denied:
        query.ListComplaints(
            query_pb2.ListComplaintsRequest(
                filter=query_pb2.ComplaintFilter(office_code="KANWIL.32", include_descendants=True)
            ),
            metadata=secure_stack.bearer("officer", HOLDER),
        )
    assert code_of(denied.value) == grpc.StatusCode.PERMISSION_DENIED


def test_no_pusat_unit_outside_the_chain_sees_or_works_an_inspectorate_case(
    secure_stack: SecureStack,
) -> None:
    """docs/security.md, "Who sees what": an illegal-levy complaint held by the Inspectorate is
    sealed; another Pusat unit's supervisor, who oversees every office, does not learn it exists
    (routing, query, lists, watches, stats, audit trail) and may not work it."""
    query = query_pb2_grpc.QueryStub(secure_stack.channel("query"))
    routing = routing_pb2_grpc.RoutingStub(secure_stack.channel("routing"))
    sealed = secure_stack.seeded.inspectorate_id
    public = secure_stack.seeded.complaint_id
    outsider = secure_stack.bearer("supervisor", "PUSAT.HAK_TANAH", "supervisor:hak-tanah")

    for hidden_call in (
        lambda: query.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=sealed), metadata=outsider
        ),
        lambda: query.GetAuditTrail(
            query_pb2.GetAuditTrailRequest(complaint_id=sealed), metadata=outsider
        ),
        lambda: routing.GetCase(routing_pb2.GetCaseRequest(complaint_id=sealed), metadata=outsider),
    ):
        with pytest.raises(grpc.RpcError) as hidden:
            hidden_call()
        assert code_of(hidden.value) == grpc.StatusCode.NOT_FOUND
    acts = (
        (routing.ClassifyComplaint, routing_pb2.ClassifyComplaintRequest),
        (routing.AcceptCase, routing_pb2.AcceptCaseRequest),
        (routing.ReassignCase, routing_pb2.ReassignCaseRequest),
        (routing.RespondToReporter, routing_pb2.RespondToReporterRequest),
        (routing.ResolveCase, routing_pb2.ResolveCaseRequest),
        (routing.ReopenCase, routing_pb2.ReopenCaseRequest),
        (routing.CloseCase, routing_pb2.CloseCaseRequest),
    )
    for rpc, request in acts:
        with pytest.raises(grpc.RpcError) as denied:
            rpc(request(complaint_id=sealed), metadata=outsider)
        assert code_of(denied.value) == grpc.StatusCode.PERMISSION_DENIED, rpc

    def listed(metadata: object, office: str = "") -> set[str]:
        response = query.ListComplaints(
            query_pb2.ListComplaintsRequest(
                filter=query_pb2.ComplaintFilter(office_code=office, include_descendants=True)
            ),
            metadata=metadata,
        )
        return {c.complaint_id for c in response.complaints}

    def levies(metadata: object) -> int:
        stats = query.GetStats(query_pb2.GetStatsRequest(), metadata=metadata)
        return sum(c.count for c in stats.by_office if c.key == INSPECTORATE)

    # The overseer still sees every other office (the plain complaint) but not the sealed one.
    assert public in listed(outsider)
    assert sealed not in listed(outsider)
    assert sealed not in listed(outsider, INSPECTORATE)
    assert levies(outsider) == 0
    assert sealed not in _watch_all(query, outsider, sealed)

    # Nor does the triage desk, although above every other office: the Inspectorate is
    # independent (its chain is itself).
    triage = secure_stack.bearer("supervisor", "PUSAT.IP3", "supervisor:triage")
    with pytest.raises(grpc.RpcError) as hidden_from_triage:
        query.GetComplaint(query_pb2.GetComplaintRequest(complaint_id=sealed), metadata=triage)
    assert code_of(hidden_from_triage.value) == grpc.StatusCode.NOT_FOUND
    assert sealed not in listed(triage)
    assert levies(triage) == 0

    # The Inspectorate and auditors see it.
    for metadata in (
        secure_stack.bearer("supervisor", INSPECTORATE, "supervisor:itjen"),
        secure_stack.bearer("auditor"),
    ):
        view = query.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=sealed), metadata=metadata
        ).complaint
        assert view.holding_office.code == INSPECTORATE
        assert routing.GetCase(routing_pb2.GetCaseRequest(complaint_id=sealed), metadata=metadata)
        assert query.GetAuditTrail(
            query_pb2.GetAuditTrailRequest(complaint_id=sealed), metadata=metadata
        ).entries
        assert sealed in listed(metadata)
        assert levies(metadata) >= 1
        assert sealed in _watch_all(query, metadata, sealed)
    # The Inspectorate sees only what it holds.
    itjen = secure_stack.bearer("supervisor", INSPECTORATE, "supervisor:itjen")
    assert public not in listed(itjen)


def _watch_all(query: query_pb2_grpc.QueryStub, metadata: object, wanted: str) -> set[str]:
    """The initial members of an unfiltered watch, read until `wanted` shows or a short
    deadline passes (a watch never ends by itself)."""
    stream = query.WatchComplaints(
        query_pb2.WatchComplaintsRequest(include_initial=True), metadata=metadata, timeout=3
    )
    seen: set[str] = set()
    try:
        for change in stream:
            seen.add(change.complaint.complaint_id)
            if wanted in seen:
                break
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise
    return seen


def test_every_reveal_is_an_event_naming_who_saw_the_contact(secure_stack: SecureStack) -> None:
    intake = intake_pb2_grpc.IntakeStub(secure_stack.channel("intake"))
    request = intake_pb2.GetReporterContactRequest(
        complaint_id=secure_stack.seeded.complaint_id, purpose="calling the reporter back"
    )
    with pytest.raises(grpc.RpcError) as other_service:
        intake.GetReporterContact(
            request, metadata=secure_stack.bearer("service", sub="service:query")
        )
    assert code_of(other_service.value) == grpc.StatusCode.PERMISSION_DENIED

    revealed = intake.GetReporterContact(
        request, metadata=secure_stack.bearer("officer", HOLDER, "officer:siti")
    )
    assert revealed.phone == "+6281377778888"
    log = eventlog_pb2_grpc.EventLogStub(secure_stack.channel("intake"))
    [envelope] = list(
        log.Read(
            eventlog_pb2.ReadEventsRequest(after_position=revealed.position.position - 1, limit=1),
            metadata=secure_stack.bearer("auditor"),
        )
    )
    assert envelope.event_type == "ContactRevealed"
    assert envelope.contact_revealed.purpose == "calling the reporter back"
    assert (envelope.actor.id, envelope.actor.role, envelope.actor.office_code) == (
        "officer:siti",
        "officer",
        HOLDER,
    )


def test_the_actor_of_every_event_is_the_token_subject(secure_stack: SecureStack) -> None:
    query = query_pb2_grpc.QueryStub(secure_stack.channel("query"))
    trail = query.GetAuditTrail(
        query_pb2.GetAuditTrailRequest(complaint_id=secure_stack.seeded.complaint_id),
        metadata=secure_stack.bearer("auditor"),
    )
    filed = next(e for e in trail.entries if e.event_type == "ComplaintFiled")
    assert (filed.actor.id, filed.actor.role) == ("gateway:matrix", "gateway")
