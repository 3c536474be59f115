"""Every RPC of every service x {no token, expired, bad signature, wrong role, wrong office}: each
refused with UNAUTHENTICATED or PERMISSION_DENIED; every allowed caller admitted (the call may
still fail for a domain reason such as NOT_FOUND, never for an authentication code).

The RPCs are enumerated from the service descriptors of every `aduan.v1.*_pb2` module, so a new
RPC is covered automatically: by the token cases at once, and by the role cases through its entry
in the service's access policy (an RPC without one fails `test_every_rpc_has_an_access_policy`).
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from security.conftest import HOLDER, SecureStack

import aduan.v1
from aduan.service.auth import (
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
    notification_pb2,
    query_pb2,
    routing_pb2,
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
    "/aduan.v1.Query/WatchComplaints": lambda s: query_pb2.WatchComplaintsRequest(
        filter=query_pb2.ComplaintFilter(office_code=HOLDER), include_initial=True
    ),
    "/aduan.v1.Query/GetStats": lambda s: query_pb2.GetStatsRequest(office_code=HOLDER),
    "/aduan.v1.EventLog/Read": lambda s: eventlog_pb2.ReadEventsRequest(limit=1),
}


def request_for(method: MethodDescriptor, stack: SecureStack) -> Any:
    build = REQUESTS.get(path(method))
    if build is not None:
        return build(stack.seeded)
    if POLICY[path(method)].office_scoped:
        pytest.fail(f"{path(method)} is office-scoped: give it a request naming a resource")
    return message_factory.GetMessageClass(method.input_type)()


def call(stack: SecureStack, method: MethodDescriptor, metadata: Any) -> grpc.StatusCode:
    """Calls the RPC on every process serving it; the status code (the same from each)."""
    request = request_for(method, stack)
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
        code = call(secure_stack, method, admitted_metadata(secure_stack, role))
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
            code = call(secure_stack, method, secure_stack.bearer(role, office, f"{role}:other"))
            assert code == grpc.StatusCode.PERMISSION_DENIED, (role, office, code)
            # A token naming no office acts for none.
            code = call(secure_stack, method, secure_stack.bearer(role, sub=f"{role}:nowhere"))
            assert code == grpc.StatusCode.PERMISSION_DENIED, (role, "no office", code)


@pytest.mark.parametrize("method", RPCS, ids=RPC_IDS)
def test_every_admitted_role_gets_past_authentication_and_authorisation(
    secure_stack: SecureStack, method: MethodDescriptor
) -> None:
    for role in sorted(POLICY[path(method)].roles):
        code = call(secure_stack, method, admitted_metadata(secure_stack, role, path(method)))
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
