"""Every RPC of every service x {no token, expired, bad signature, wrong role, wrong office}: each
refused with UNAUTHENTICATED or PERMISSION_DENIED; every allowed caller admitted (the call may
still fail for a domain reason such as NOT_FOUND, never for an authentication code).

The RPCs are enumerated from the service descriptors of every `aduan.v1.*_pb2` module, so a new
RPC is covered automatically: by the token cases at once, and by the role cases through its entry
in the service's access policy (an RPC without one fails `test_every_rpc_has_an_access_policy`).
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from polling import eventually
from security.conftest import HOLDER, SecureStack

import aduan.v1
from aduan.reference.offices import OfficeLevel, default_registry
from aduan.service.auth import (
    ADMIN,
    AUDITOR,
    EVENTLOG_POLICY,
    OFFICER,
    ROLES,
    SUPERVISOR,
    Access,
    TokenSigner,
    bearer_metadata,
)
from aduan.v1 import (
    common_pb2,
    eventlog_pb2,
    events_pb2,
    intake_pb2,
    intake_pb2_grpc,
    notification_pb2,
    query_pb2,
    query_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)
from aduan_intake.servicer import INTAKE_POLICY
from aduan_notification.servicer import NOTIFICATION_POLICY
from aduan_query.servicer import QUERY_POLICY
from aduan_routing.servicer import ROUTING_POLICY

pytestmark = pytest.mark.integration

AUTH_CODES = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
POLICY: dict[str, Access] = {
    **INTAKE_POLICY,
    **ROUTING_POLICY,
    **NOTIFICATION_POLICY,
    **QUERY_POLICY,
    **EVENTLOG_POLICY,
}
# Which processes serve each gRPC service.
SERVERS = {
    "aduan.v1.Intake": ("intake",),
    "aduan.v1.Routing": ("routing",),
    "aduan.v1.Notification": ("notification",),
    "aduan.v1.Query": ("query",),
    "aduan.v1.EventLog": ("intake", "routing", "notification"),
}
# Who each role is when admitted: the office it must act for, and its subject.
OFFICES = {OFFICER: HOLDER, SUPERVISOR: "KANWIL.32"}  # Bandung's Kantah and its Kanwil
WRONG_OFFICES = {OFFICER: "KANTAH.32.01", SUPERVISOR: "KANWIL.33"}  # Bogor; Jawa Tengah
SUBJECTS = {"service": "service:notification"}
# Service calls only one service may make: the subject each needs (the default above otherwise).
SERVICE_SUBJECTS = {"/aduan.v1.Notification/RecordProviderStatus": "service:intake"}


def every_rpc() -> list[MethodDescriptor]:
    methods = []
    for module in pkgutil.iter_modules(aduan.v1.__path__):
        if not module.name.endswith("_pb2"):
            continue
        descriptor = importlib.import_module(f"aduan.v1.{module.name}").DESCRIPTOR
        for service in descriptor.services_by_name.values():
            methods.extend(service.methods)
    return methods


RPCS = every_rpc()
RPC_IDS = [method.full_name for method in RPCS]


def path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


S = Any  # the seeded complaints (security.conftest.Seeded)

# Requests that reach the resource checks: the seeded complaint, held by HOLDER. They are chosen
# so that an admitted call changes nothing that later cases depend on (the case stays at HOLDER).
REQUESTS: dict[str, Callable[[S], Any]] = {
    "/aduan.v1.Intake/FileComplaint": lambda s: intake_pb2.FileComplaintRequest(
        idempotency_key="matrix-file",
        channel=common_pb2.CHANNEL_API,
        reporter=intake_pb2.Reporter(anonymous=True),
        description="Pungutan liar di loket pendaftaran kantor pertanahan.",
    ),
    "/aduan.v1.Intake/AddReporterMessage": lambda s: intake_pb2.AddReporterMessageRequest(
        complaint_id=s.complaint_id,
        idempotency_key="matrix-message",
        channel=common_pb2.CHANNEL_WEB,
        text="Saya lampirkan salinan surat ukur.",
    ),
    "/aduan.v1.Intake/RequestStatus": lambda s: intake_pb2.RequestStatusRequest(
        complaint_id=s.complaint_id, channel=common_pb2.CHANNEL_WEB, idempotency_key="matrix-st"
    ),
    "/aduan.v1.Intake/RequestStatusByTrackingCode": lambda s: (
        intake_pb2.RequestStatusByTrackingCodeRequest(
            tracking_code="2345A-BCDEF", channel=common_pb2.CHANNEL_WEB, idempotency_key="matrix-tc"
        )
    ),
    "/aduan.v1.Intake/WithdrawComplaint": lambda s: intake_pb2.WithdrawComplaintRequest(
        complaint_id="ADU-2026-ZZZZZZ", reason="matrix"
    ),
    "/aduan.v1.Intake/RateResolution": lambda s: intake_pb2.RateResolutionRequest(
        complaint_id=s.complaint_id, rating=5
    ),
    "/aduan.v1.Intake/GetReporterContact": lambda s: intake_pb2.GetReporterContactRequest(
        complaint_id=s.complaint_id, purpose="authorisation matrix"
    ),
    "/aduan.v1.Intake/RevealComplaintText": lambda s: intake_pb2.RevealComplaintTextRequest(
        complaint_id=s.complaint_id, purpose="authorisation matrix"
    ),
    "/aduan.v1.Intake/EraseReporter": lambda s: intake_pb2.EraseReporterRequest(
        reporter_id="no-such-reporter", reason="matrix"
    ),
    "/aduan.v1.Routing/GetCase": lambda s: routing_pb2.GetCaseRequest(complaint_id=s.complaint_id),
    "/aduan.v1.Routing/ClassifyComplaint": lambda s: routing_pb2.ClassifyComplaintRequest(
        complaint_id=s.complaint_id
    ),
    "/aduan.v1.Routing/AcceptCase": lambda s: routing_pb2.AcceptCaseRequest(
        complaint_id=s.complaint_id
    ),
    # No kind: refused as invalid after the access check, so the case never moves.
    "/aduan.v1.Routing/ReassignCase": lambda s: routing_pb2.ReassignCaseRequest(
        complaint_id=s.complaint_id
    ),
    "/aduan.v1.Routing/RespondToReporter": lambda s: routing_pb2.RespondToReporterRequest(
        complaint_id=s.complaint_id
    ),
    "/aduan.v1.Routing/ResolveCase": lambda s: routing_pb2.ResolveCaseRequest(
        complaint_id=s.complaint_id
    ),
    "/aduan.v1.Routing/ReopenCase": lambda s: routing_pb2.ReopenCaseRequest(
        complaint_id=s.complaint_id
    ),
    "/aduan.v1.Routing/CloseCase": lambda s: routing_pb2.CloseCaseRequest(
        complaint_id=s.complaint_id
    ),
    "/aduan.v1.Notification/ListDeliveries": lambda s: notification_pb2.ListDeliveriesRequest(
        complaint_id=s.complaint_id
    ),
    "/aduan.v1.Notification/PreviewTemplate": lambda s: notification_pb2.PreviewTemplateRequest(
        template="complaint_filed", language="id"
    ),
    "/aduan.v1.Notification/RecordProviderStatus": lambda s: (
        notification_pb2.RecordProviderStatusRequest(
            provider_message_id="wamid.matrix", status=events_pb2.PROVIDER_STATUS_SENT
        )
    ),
    "/aduan.v1.Query/GetComplaint": lambda s: query_pb2.GetComplaintRequest(
        complaint_id=s.complaint_id
    ),
    "/aduan.v1.Query/ListComplaints": lambda s: query_pb2.ListComplaintsRequest(
        filter=query_pb2.ComplaintFilter(office_code=HOLDER)
    ),
    "/aduan.v1.Query/GetAuditTrail": lambda s: query_pb2.GetAuditTrailRequest(
        complaint_id=s.complaint_id
    ),
    "/aduan.v1.Query/ListAuditEvents": lambda s: query_pb2.ListAuditEventsRequest(),
    "/aduan.v1.Query/WatchComplaints": lambda s: query_pb2.WatchComplaintsRequest(
        filter=query_pb2.ComplaintFilter(office_code=HOLDER), include_initial=True
    ),
    "/aduan.v1.Query/GetStats": lambda s: query_pb2.GetStatsRequest(office_code=HOLDER),
    "/aduan.v1.EventLog/Read": lambda s: eventlog_pb2.ReadEventsRequest(limit=1),
}


# Requests that depend on who asks: supervisors and admins may reveal a reporter's identity only
# for a purpose that needs the NIK (aduan_intake.reveals.REVEALED_TO), so they ask for one; the
# words as written open only for such a purpose too (aduan_intake.reveals.TEXT_PURPOSES).
ROLE_REQUESTS: dict[tuple[str, str], Callable[[S], Any]] = {
    **{
        ("/aduan.v1.Intake/GetReporterContact", role): lambda s: (
            intake_pb2.GetReporterContactRequest(
                complaint_id=s.complaint_id,
                purpose="authorisation matrix",
                reveal_purpose=common_pb2.REVEAL_PURPOSE_LEGAL_PROCESS,
            )
        )
        for role in (SUPERVISOR, ADMIN)
    },
    **{
        ("/aduan.v1.Intake/RevealComplaintText", role): lambda s: (
            intake_pb2.RevealComplaintTextRequest(
                complaint_id=s.complaint_id,
                purpose="authorisation matrix",
                reveal_purpose=common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION,
            )
        )
        for role in (SUPERVISOR, ADMIN)
    },
}
# Roles the policy admits to an RPC whom no request gets past its resource check: the reveal
# policy shares one entry between the two reveals, and the words as written need a purpose
# these roles may never ask for. That they are refused for every purpose is
# `test_who_may_reveal_a_reporter_for_which_purpose`.
NEVER_PAST_THE_RESOURCE_CHECK = {
    ("/aduan.v1.Intake/RevealComplaintText", OFFICER),
    ("/aduan.v1.Intake/RevealComplaintText", "service"),
}


def request_for(method: MethodDescriptor, stack: SecureStack, role: str = "") -> Any:
    build = ROLE_REQUESTS.get((path(method), role)) or REQUESTS.get(path(method))
    if build is not None:
        return build(stack.seeded)
    if POLICY[path(method)].office_scoped:
        pytest.fail(f"{path(method)} is office-scoped: give it a request naming a resource")
    return message_factory.GetMessageClass(method.input_type)()


def call(
    stack: SecureStack, method: MethodDescriptor, metadata: Any, role: str = ""
) -> grpc.StatusCode:
    """Calls the RPC (as `role`, for requests that depend on it) on every process serving it;
    the status code (the same from each)."""
    request = request_for(method, stack, role)
    response_type = message_factory.GetMessageClass(method.output_type)
    codes = set()
    for server in SERVERS[method.containing_service.full_name]:
        channel = stack.channel(server)
        kwargs = {
            "request_serializer": type(request).SerializeToString,
            "response_deserializer": response_type.FromString,
        }
        try:
            if method.server_streaming:
                responses = channel.unary_stream(path(method), **kwargs)(
                    request, metadata=metadata, timeout=10
                )
                next(iter(responses), None)  # the first message (or the end) is enough
                responses.cancel()
            else:
                channel.unary_unary(path(method), **kwargs)(request, metadata=metadata, timeout=20)
            codes.add(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            code = error.code()
            codes.add(grpc.StatusCode.OK if code == grpc.StatusCode.CANCELLED else code)
    assert len(codes) == 1, f"{path(method)}: different answers from its servers: {codes}"
    return codes.pop()


def admitted_metadata(stack: SecureStack, role: str, rpc: str = "") -> Any:
    subject = SUBJECTS.get(role, f"{role}:matrix")
    if role == "service":
        subject = SERVICE_SUBJECTS.get(rpc, subject)
    return stack.bearer(role, OFFICES.get(role, ""), subject)


def test_every_rpc_has_an_access_policy_and_a_server() -> None:
    assert len(RPCS) >= 25
    for method in RPCS:
        assert path(method) in POLICY, f"{path(method)} has no access policy"
        assert method.containing_service.full_name in SERVERS, f"no server for {path(method)}"
    assert set(POLICY) == {path(m) for m in RPCS}, "a policy names an RPC that does not exist"


def expired_token(stack: SecureStack) -> str:
    signer = TokenSigner.hs256(stack.tokens.secret)
    long_ago = time.time() - 3600
    return signer.issue("admin:expired", list(ROLES), HOLDER, timedelta(minutes=5), now=long_ago)


def forged_token() -> str:
    signer = TokenSigner.hs256("another-secret-that-nobody-trusts-0123456789")
    return signer.issue("admin:forged", list(ROLES), HOLDER)


@pytest.mark.parametrize("method", RPCS, ids=RPC_IDS)
@pytest.mark.parametrize("credential", ["none", "expired", "bad-signature", "not-a-jwt"])
def test_calls_without_a_valid_token_are_unauthenticated(
    secure_stack: SecureStack, method: MethodDescriptor, credential: str
) -> None:
    metadata = {
        "none": (),
        "expired": bearer_metadata(expired_token(secure_stack)),
        "bad-signature": bearer_metadata(forged_token()),
        "not-a-jwt": (("authorization", "Bearer not.a.jwt"),),
    }[credential]
    assert call(secure_stack, method, metadata) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("method", RPCS, ids=RPC_IDS)
def test_roles_outside_the_policy_are_denied(
    secure_stack: SecureStack, method: MethodDescriptor
) -> None:
    rule = POLICY[path(method)]
    outsiders = [role for role in ROLES if role not in rule.roles]
    for role in outsiders:
        code = call(secure_stack, method, admitted_metadata(secure_stack, role), role)
        assert code == grpc.StatusCode.PERMISSION_DENIED, (role, code)
    # A token without any role is an outsider everywhere.
    code = call(secure_stack, method, secure_stack.bearer([], sub="nobody"))
    assert code == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    "method", [m for m in RPCS if POLICY[path(m)].office_scoped], ids=lambda m: m.full_name
)
def test_officers_and_supervisors_of_other_offices_are_denied(
    secure_stack: SecureStack, method: MethodDescriptor
) -> None:
    rule = POLICY[path(method)]
    for role, office in WRONG_OFFICES.items():
        if role in rule.roles:
            metadata = secure_stack.bearer(role, office, f"{role}:other")
            code = call(secure_stack, method, metadata, role)
            assert code == grpc.StatusCode.PERMISSION_DENIED, (role, office, code)
            # A token naming no office acts for none.
            metadata = secure_stack.bearer(role, sub=f"{role}:nowhere")
            code = call(secure_stack, method, metadata, role)
            assert code == grpc.StatusCode.PERMISSION_DENIED, (role, "no office", code)


@pytest.mark.parametrize("method", RPCS, ids=RPC_IDS)
def test_every_admitted_role_gets_past_authentication_and_authorisation(
    secure_stack: SecureStack, method: MethodDescriptor
) -> None:
    for role in sorted(POLICY[path(method)].roles):
        if (path(method), role) in NEVER_PAST_THE_RESOURCE_CHECK:
            continue
        metadata = admitted_metadata(secure_stack, role, path(method))
        code = call(secure_stack, method, metadata, role)
        assert code not in AUTH_CODES, (role, code)


def test_health_and_reflection_stay_open(secure_stack: SecureStack) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    for service in SERVERS:
        for server in SERVERS[service]:
            channel = secure_stack.channel(server)
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=5
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            replies = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
            )
            listed = {s.name for s in next(iter(replies)).list_services_response.service}
            assert service in listed


# -- the Inspectorate (docs/security.md, "Who sees what: oversight and sealed cases") ------------
#
# An illegal-levy complaint, which routing gives to the Inspectorate (`Seeded.inspectorate_id`),
# must not exist for any Pusat office outside its holding chain, whatever it asks; the chain and
# the roles that read everything see it. The offices come from the registry data, so a new Pusat
# unit is covered without a change here.

REGISTRY = default_registry()
INSPECTORATE = REGISTRY.oversight.inspectorate
# The chain of a case the Inspectorate holds, by the data: the Inspectorate alone (independent).
ITJEN_CHAIN = REGISTRY.oversight.seen_by(INSPECTORATE, REGISTRY.chain(INSPECTORATE))
OTHER_PUSAT = [
    office.code
    for office in REGISTRY.list(level=OfficeLevel.PUSAT)
    if office.code not in ITJEN_CHAIN
]
OUTSIDERS = [(role, office) for office in OTHER_PUSAT for role in (OFFICER, SUPERVISOR)]
INSIDERS = [(role, office) for office in ITJEN_CHAIN for role in (OFFICER, SUPERVISOR)]
READERS = [(AUDITOR, ""), (ADMIN, "")]
PURPOSES = [
    common_pb2.REVEAL_PURPOSE_CONTACT_REPORTER,
    common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION,
    common_pb2.REVEAL_PURPOSE_LEGAL_PROCESS,
]
# Every routing command, each with a request that a caller allowed to act gets past the access
# check with and that keeps the case with the Inspectorate (most are refused as invalid or in
# the wrong state afterwards; AcceptCase accepts it).
COMMANDS: dict[str, Callable[[str], Any]] = {
    "ClassifyComplaint": lambda c: routing_pb2.ClassifyComplaintRequest(complaint_id=c),
    "AcceptCase": lambda c: routing_pb2.AcceptCaseRequest(complaint_id=c),
    "ReassignCase": lambda c: routing_pb2.ReassignCaseRequest(complaint_id=c),
    "RespondToReporter": lambda c: routing_pb2.RespondToReporterRequest(complaint_id=c),
    "ResolveCase": lambda c: routing_pb2.ResolveCaseRequest(complaint_id=c),
    "ReopenCase": lambda c: routing_pb2.ReopenCaseRequest(complaint_id=c),
    "CloseCase": lambda c: routing_pb2.CloseCaseRequest(complaint_id=c),
}


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}@{pair[1] or 'none'}"


def test_the_inspectorate_is_sealed_from_every_other_pusat_office() -> None:
    """The data the cases below are built from: the Inspectorate answers to nobody, so the
    triage desk (above every other office) and every overseer are outsiders."""
    assert ITJEN_CHAIN == (INSPECTORATE,)
    assert REGISTRY.triage_code in OTHER_PUSAT
    assert "PUSAT.HAK_TANAH" in OTHER_PUSAT
    assert set(REGISTRY.oversight.overseers) <= set(OTHER_PUSAT)


def code_of(thunk: Callable[[], Any]) -> grpc.StatusCode:
    try:
        thunk()
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def listed(
    stack: SecureStack, metadata: Any, office: str = "", descendants: bool = True
) -> set[str]:
    query = query_pb2_grpc.QueryStub(stack.channel("query"))
    found: set[str] = set()
    token = ""
    while True:
        response = query.ListComplaints(
            query_pb2.ListComplaintsRequest(
                filter=query_pb2.ComplaintFilter(
                    office_code=office, include_descendants=descendants
                ),
                page=common_pb2.PageRequest(page_size=100, page_token=token),
            ),
            metadata=metadata,
            timeout=10,
        )
        found |= {c.complaint_id for c in response.complaints}
        token = response.page.next_page_token
        if not token:
            return found


def watched(
    stack: SecureStack, metadata: Any, office: str = "", wanted: str = "", seconds: float = 2.0
) -> set[str]:
    """The complaints an include_initial watch shows until `wanted` shows or `seconds` pass
    (a watch never ends by itself)."""
    query = query_pb2_grpc.QueryStub(stack.channel("query"))
    stream = query.WatchComplaints(
        query_pb2.WatchComplaintsRequest(
            filter=query_pb2.ComplaintFilter(office_code=office, include_descendants=True),
            include_initial=True,
        ),
        metadata=metadata,
        timeout=seconds,
    )
    seen: set[str] = set()
    try:
        for change in stream:
            seen.add(change.complaint.complaint_id)
            if wanted in seen:
                stream.cancel()
                break
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise
    return seen


def held_by_inspectorate(stack: SecureStack, metadata: Any) -> int:
    query = query_pb2_grpc.QueryStub(stack.channel("query"))
    stats = query.GetStats(query_pb2.GetStatsRequest(), metadata=metadata, timeout=10)
    return sum(c.count for c in stats.by_office if c.key == INSPECTORATE)


@pytest.mark.parametrize(("role", "office"), OUTSIDERS, ids=[pair_id(p) for p in OUTSIDERS])
def test_no_other_pusat_office_sees_or_works_an_inspectorate_case(
    secure_stack: SecureStack, role: str, office: str
) -> None:
    stack = secure_stack
    sealed = stack.seeded.inspectorate_id
    metadata = stack.bearer(role, office, f"{role}:{office.lower()}")
    query = query_pb2_grpc.QueryStub(stack.channel("query"))
    routing = routing_pb2_grpc.RoutingStub(stack.channel("routing"))

    # It does not exist for them: query and routing alike.
    hidden = {
        "GetComplaint": lambda: query.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=sealed), metadata=metadata, timeout=10
        ),
        "GetAuditTrail": lambda: query.GetAuditTrail(
            query_pb2.GetAuditTrailRequest(complaint_id=sealed), metadata=metadata, timeout=10
        ),
        "GetCase": lambda: routing.GetCase(
            routing_pb2.GetCaseRequest(complaint_id=sealed), metadata=metadata, timeout=10
        ),
    }
    for name, thunk in hidden.items():
        assert code_of(thunk) == grpc.StatusCode.NOT_FOUND, name
    # They may not work it, and a stale version tells them nothing more: ABORTED would say
    # that the case exists (the version is checked after the office).
    for name, build in COMMANDS.items():
        rpc = getattr(routing, name)
        for stale in (0, 99):

            def command(rpc: Any = rpc, build: Any = build, stale: int = stale) -> Any:
                request = build(sealed)
                request.expected_version = stale
                return rpc(request, metadata=metadata, timeout=10)

            assert code_of(command) == grpc.StatusCode.PERMISSION_DENIED, (name, stale)
    # Nor see who filed it, or the words as written, for any purpose.
    for purpose in PURPOSES:
        for text in (False, True):
            code = reveal_code(stack, sealed, purpose, metadata, text=text)
            assert code == grpc.StatusCode.PERMISSION_DENIED, (purpose, text)
    # Lists, watches and statistics leave it out, with or without an office filter (naming the
    # Inspectorate is refused to those whose office filter applies, and empty for overseers).
    assert sealed not in listed(stack, metadata)
    assert held_by_inspectorate(stack, metadata) == 0
    assert sealed not in watched(stack, metadata)
    overseer = role == SUPERVISOR and office in REGISTRY.oversight.overseers
    naming_it: list[Callable[[], set[str]]] = [
        lambda: listed(stack, metadata, INSPECTORATE, descendants=True),
        lambda: listed(stack, metadata, INSPECTORATE, descendants=False),
        lambda: watched(stack, metadata, INSPECTORATE),
    ]
    for ask in naming_it:
        if overseer:
            assert not ask()
        else:
            with pytest.raises(grpc.RpcError) as refused:
                ask()
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("role", "office"), INSIDERS + READERS, ids=[pair_id(p) for p in INSIDERS + READERS]
)
def test_the_inspectorate_and_the_auditors_see_its_case(
    secure_stack: SecureStack, role: str, office: str
) -> None:
    stack = secure_stack
    sealed = stack.seeded.inspectorate_id
    metadata = stack.bearer(role, office, f"{role}:{office.lower() or 'all'}")
    query = query_pb2_grpc.QueryStub(stack.channel("query"))
    routing = routing_pb2_grpc.RoutingStub(stack.channel("routing"))

    view = query.GetComplaint(
        query_pb2.GetComplaintRequest(complaint_id=sealed), metadata=metadata, timeout=10
    ).complaint
    assert (view.holding_office.code, view.category) == (
        INSPECTORATE,
        common_pb2.CATEGORY_ILLEGAL_LEVY,
    )
    trail = query.GetAuditTrail(
        query_pb2.GetAuditTrailRequest(complaint_id=sealed), metadata=metadata, timeout=10
    )
    assert "CaseRouted" in {entry.event_type for entry in trail.entries}
    state = routing.GetCase(
        routing_pb2.GetCaseRequest(complaint_id=sealed), metadata=metadata, timeout=10
    ).state
    assert state.holding_office.code == INSPECTORATE
    assert sealed in listed(stack, metadata)
    assert sealed in listed(stack, metadata, INSPECTORATE)
    assert held_by_inspectorate(stack, metadata) >= 1
    assert sealed in watched(stack, metadata, wanted=sealed)
    # The chain works it (past the access check), the readers only read.
    for name, build in COMMANDS.items():
        rpc = getattr(routing, name)
        code = code_of(
            lambda rpc=rpc, build=build: rpc(build(sealed), metadata=metadata, timeout=10)
        )
        if role in (OFFICER, SUPERVISOR):
            assert code not in AUTH_CODES, (name, code)
        else:
            assert code == grpc.StatusCode.PERMISSION_DENIED, (name, code)


def reveal_code(
    stack: SecureStack, complaint_id: str, purpose: int, metadata: Any, text: bool = False
) -> grpc.StatusCode:
    """The answer to a reveal of the reporter's identity, or with `text` of their words."""
    intake = intake_pb2_grpc.IntakeStub(stack.channel("intake"))
    if text:
        return code_of(
            lambda: intake.RevealComplaintText(
                intake_pb2.RevealComplaintTextRequest(
                    complaint_id=complaint_id, purpose="matrix reveal", reveal_purpose=purpose
                ),
                metadata=metadata,
                timeout=10,
            )
        )
    return code_of(
        lambda: intake.GetReporterContact(
            intake_pb2.GetReporterContactRequest(
                complaint_id=complaint_id, purpose="matrix reveal", reveal_purpose=purpose
            ),
            metadata=metadata,
            timeout=10,
        )
    )


# Who may reveal the seeded complaint's reporter (held by HOLDER, Kota Bandung's Kantah), per
# purpose: the contact to its officers and the notification service; the NIK (field
# verification, legal process) to supervisors of its holding chain and admins only. The words as
# written (which may hold the NIK) open for the NIK purposes alone, to the same callers.
CONTACT_ONLY = {common_pb2.REVEAL_PURPOSE_CONTACT_REPORTER}
WITH_NIK = {common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION, common_pb2.REVEAL_PURPOSE_LEGAL_PROCESS}
REVEALS: dict[tuple[str, str, str], set[int]] = {
    (OFFICER, HOLDER, ""): CONTACT_ONLY,
    ("service", "", "service:notification"): CONTACT_ONLY,
    (SUPERVISOR, HOLDER, ""): WITH_NIK,
    (SUPERVISOR, "KANWIL.32", ""): WITH_NIK,
    (SUPERVISOR, "PUSAT.IP3", ""): WITH_NIK,
    (ADMIN, "", ""): WITH_NIK,
    (OFFICER, "KANWIL.32", ""): set(),
    (OFFICER, "PUSAT.IP3", ""): set(),
    (SUPERVISOR, "KANWIL.33", ""): set(),
    (SUPERVISOR, "PUSAT.HAK_TANAH", ""): set(),  # an overseer, not of the holding chain
    (SUPERVISOR, INSPECTORATE, ""): set(),
    (SUPERVISOR, "", ""): set(),
    ("service", "", "service:query"): set(),
    (AUDITOR, "", ""): set(),
}


@pytest.mark.parametrize(("role", "office", "sub"), list(REVEALS), ids=lambda v: v or "none")
def test_who_may_reveal_a_reporter_for_which_purpose(
    secure_stack: SecureStack, role: str, office: str, sub: str
) -> None:
    metadata = secure_stack.bearer(role, office, sub or f"{role}:{office.lower() or 'none'}")
    for purpose in PURPOSES:
        code = reveal_code(secure_stack, secure_stack.seeded.complaint_id, purpose, metadata)
        if purpose in REVEALS[(role, office, sub)]:
            assert code == grpc.StatusCode.OK, purpose
        else:
            assert code == grpc.StatusCode.PERMISSION_DENIED, purpose
        code = reveal_code(
            secure_stack, secure_stack.seeded.complaint_id, purpose, metadata, text=True
        )
        if purpose in REVEALS[(role, office, sub)] & WITH_NIK:
            assert code == grpc.StatusCode.OK, ("text", purpose)
        else:
            assert code == grpc.StatusCode.PERMISSION_DENIED, ("text", purpose)


def test_the_inspectorate_reveals_its_own_reporters_by_the_same_rule(
    secure_stack: SecureStack,
) -> None:
    sealed = secure_stack.seeded.inspectorate_id
    officer = secure_stack.bearer(OFFICER, INSPECTORATE, "officer:itjen")
    supervisor = secure_stack.bearer(SUPERVISOR, INSPECTORATE, "supervisor:itjen")
    contact, legal = (
        common_pb2.REVEAL_PURPOSE_CONTACT_REPORTER,
        common_pb2.REVEAL_PURPOSE_LEGAL_PROCESS,
    )
    eventually(
        lambda: reveal_code(secure_stack, sealed, contact, officer) == grpc.StatusCode.OK,
        30,
        "intake to learn that the Inspectorate holds the complaint",
    )
    assert reveal_code(secure_stack, sealed, legal, officer) == grpc.StatusCode.PERMISSION_DENIED
    assert reveal_code(secure_stack, sealed, legal, supervisor) == grpc.StatusCode.OK
    assert (
        reveal_code(secure_stack, sealed, contact, supervisor) == grpc.StatusCode.PERMISSION_DENIED
    )


class Watcher:
    """A watch read in a background thread: every change it sends, until cancelled."""

    def __init__(self, stack: SecureStack, metadata: Any) -> None:
        query = query_pb2_grpc.QueryStub(stack.channel("query"))
        self.stream = query.WatchComplaints(
            query_pb2.WatchComplaintsRequest(include_initial=True), metadata=metadata, timeout=120
        )
        self.changes: list[query_pb2.ComplaintChange] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with contextlib.suppress(grpc.RpcError):
            for change in self.stream:
                self.changes.append(change)

    def about(self, complaint_id: str) -> list[query_pb2.ComplaintChange]:
        return [c for c in list(self.changes) if c.complaint.complaint_id == complaint_id]

    def stop(self) -> None:
        self.stream.cancel()
        self.thread.join(10)


def test_a_complaint_given_to_the_inspectorate_leaves_every_other_view(
    secure_stack: SecureStack,
) -> None:
    """The triage desk places a complaint it holds with the Inspectorate: from that change on
    it is sealed from every other Pusat office. Their watches learn that it left, by its id
    alone: not where it went, nor what it says (docs/security.md, "Who sees what")."""
    stack = secure_stack
    intake = intake_pb2_grpc.IntakeStub(stack.channel("intake"))
    query = query_pb2_grpc.QueryStub(stack.channel("query"))
    routing = routing_pb2_grpc.RoutingStub(stack.channel("routing"))
    auditor = stack.bearer(AUDITOR, sub="auditor:matrix")
    filed = intake.FileComplaint(
        intake_pb2.FileComplaintRequest(
            idempotency_key=f"matrix-to-itjen-{uuid.uuid4()}",
            channel=common_pb2.CHANNEL_WEB,
            category=common_pb2.CATEGORY_OTHER,  # the triage desk's until it places it
            reporter=intake_pb2.Reporter(name="Rudi Hartono", phone="081299990000"),
            location=common_pb2.Location(province_code="32", regency_code="32.73"),
            subject="Petugas meminta uang tambahan",
            description="Petugas ukur meminta uang di luar tarif resmi sebelum pengukuran.",
        ),
        metadata=stack.bearer("gateway", sub="gateway:matrix"),
        timeout=10,
    )
    complaint_id = filed.complaint_id

    def holder() -> str:
        return query.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=complaint_id), metadata=auditor, timeout=5
        ).complaint.holding_office.code

    eventually(lambda: holder() == REGISTRY.triage_code, 30, "routing to place it at triage")

    # Who sees it at the triage desk: the desk's officers and every overseer. Officers of the
    # other Pusat units never see it (their watches must never mention it).
    seeing = [
        (role, office)
        for role, office in OUTSIDERS
        if office == REGISTRY.triage_code
        or (role == SUPERVISOR and office in REGISTRY.oversight.overseers)
    ]
    blind = [pair for pair in OUTSIDERS if pair not in seeing]
    assert (OFFICER, REGISTRY.triage_code) in seeing
    assert (SUPERVISOR, "PUSAT.HAK_TANAH") in seeing
    watchers = {
        pair: Watcher(stack, stack.bearer(pair[0], pair[1], f"{pair[0]}:{pair[1].lower()}"))
        for pair in [*OUTSIDERS, *INSIDERS, (AUDITOR, "")]
    }
    try:
        for pair in seeing:
            eventually(
                lambda pair=pair: watchers[pair].about(complaint_id), 30, f"{pair} to see it"
            )
        desk = stack.bearer(OFFICER, REGISTRY.triage_code, "officer:triage")
        routing.ReassignCase(
            routing_pb2.ReassignCaseRequest(
                complaint_id=complaint_id,
                kind=common_pb2.REASSIGNMENT_KIND_DELEGATE,
                to_office_code=INSPECTORATE,
                reason_code=common_pb2.REASON_CODE_CONFLICT_OF_INTEREST,
                note="Dugaan pungutan liar oleh petugas ukur",
            ),
            metadata=desk,
            timeout=10,
        )
        # The Inspectorate's watches and the auditor's show it arriving.
        for pair in [*INSIDERS, (AUDITOR, "")]:
            eventually(
                lambda pair=pair: any(
                    c.complaint.holding_office.code == INSPECTORATE
                    for c in watchers[pair].about(complaint_id)
                ),
                30,
                f"{pair} to see it arrive at the Inspectorate",
            )
        for pair in seeing:
            last = eventually(
                lambda pair=pair: next(
                    (c for c in watchers[pair].about(complaint_id) if c.removed), None
                ),
                30,
                f"{pair} to learn that it left",
            )
            assert last == query_pb2.ComplaintChange(
                complaint=query_pb2.ComplaintView(complaint_id=complaint_id), removed=True
            ), pair
        # The auditor still sees it: its removal from nothing, its arrival in full.
        assert not any(c.removed for c in watchers[(AUDITOR, "")].about(complaint_id))
    finally:
        for watcher in watchers.values():
            watcher.stop()
    for pair in OUTSIDERS:
        told = watchers[pair].about(complaint_id)
        # Nothing that reached an outsider names the Inspectorate or the content after the move.
        assert not any(INSPECTORATE.encode() in c.SerializeToString() for c in told), pair
        if pair in blind:
            assert told == [], pair
        metadata = stack.bearer(pair[0], pair[1], f"{pair[0]}:{pair[1].lower()}")
        code = code_of(
            lambda metadata=metadata: query.GetComplaint(
                query_pb2.GetComplaintRequest(complaint_id=complaint_id),
                metadata=metadata,
                timeout=10,
            )
        )
        assert code == grpc.StatusCode.NOT_FOUND, pair
