"""Calling any RPC by its descriptor, and the checks every fuzzed call must pass."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

import grpc
from fuzz.protofuzz import Hints
from fuzz.stack import HOLDER, SERVERS, SUPERVISING, FuzzStack, Known, iterate_rpcs
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from aduan.service.auth import EVENTLOG_POLICY, OFFICER, SERVICE, SUPERVISOR, Access
from aduan_intake.servicer import INTAKE_POLICY
from aduan_notification.servicer import NOTIFICATION_POLICY
from aduan_query.servicer import QUERY_POLICY
from aduan_routing.servicer import ROUTING_POLICY

# Examples per RPC (and per webhook test): modest in `make test`, raise it for long runs.
EXAMPLES = int(os.environ.get("ADUAN_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # the shared working tree gets no .hypothesis directory
    print_blob=True,  # a failure prints the @reproduce_failure blob instead
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)
# For the megabyte-sized requests: fewer examples (each field is a separate example anyway).
FUZZ_HUGE = settings(FUZZ, max_examples=max(5, EXAMPLES // 4))

# A server failing on bad input, never an acceptable answer to a request.
FAILURES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS}
POLICY: dict[str, Access] = {
    **INTAKE_POLICY,
    **ROUTING_POLICY,
    **NOTIFICATION_POLICY,
    **QUERY_POLICY,
    **EVENTLOG_POLICY,
}
# (RPC, status) of every fuzzed call: ADUAN_FUZZ_REPORT=1 prints it after the run, to see how
# deep the generated requests get (how many pass validation and the resource checks).
OUTCOMES: Counter[tuple[str, str]] = Counter()
RPCS = list(iterate_rpcs())
RPC_IDS = [method.full_name for method in RPCS]
UNARY_TIMEOUT = 10.0
STREAM_TIMEOUT = 0.5
STREAM_ITEMS = 3


SENTENCES = st.sampled_from(
    [
        "Sertifikat tanah saya belum terbit setelah enam bulan.",
        "Mohon segera ditindaklanjuti, terima kasih.",
        "Petugas ukur belum datang ke lokasi.",
    ]
)


def hints(known: Known) -> Hints:
    """Plausible values by field name, so that most requests get past validation and reach the
    resource checks and state changes (the generic values still come a quarter of the time)."""
    offices = st.sampled_from([HOLDER, SUPERVISING, "KANTAH.32.01", "PUSAT.IP3"])
    return {
        "complaint_id": st.sampled_from(known.complaint_ids + known.ticket_numbers),
        "delivery_id": st.sampled_from(known.delivery_ids),
        "reporter_id": st.sampled_from(known.reporter_ids),
        "idempotency_key": st.uuids().map(lambda u: f"fuzz-{u}"),
        "office_code": offices,
        "to_office_code": offices,
        "parent_code": offices,
        "province_code": st.just("32"),
        "regency_code": st.just("32.73"),
        "phone": st.sampled_from(["081234567890", "+6281234567890"]),
        "email": st.just("warga@contoh.id"),
        "nik": st.just("3273012345678901"),
        "nib": st.just("12345678901234"),
        "name": st.just("Siti Aminah"),
        "language": st.sampled_from(["id", "en"]),
        "template": st.sampled_from(["complaint_filed", "case_assigned", "status_reply"]),
        "variables.key": st.sampled_from(["ticket_number", "reporter_name", "office_name"]),
        "service": st.sampled_from(["intake", "routing", "notification"]),
        "description": SENTENCES,
        "text": SENTENCES,
        "summary": SENTENCES,
        "reason": SENTENCES,
        "note": SENTENCES,
        "purpose": SENTENCES,
        "comment": SENTENCES,
        "subject": st.just("Sertifikat belum terbit"),
        "expected_version": st.just(0),
        "rating": st.integers(1, 5),
        "page_size": st.integers(0, 20),
        "position": st.integers(0, 5),
        "after_position": st.integers(0, 30),
        "limit": st.integers(0, 5),
    }


def path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def request_class(method: MethodDescriptor) -> type[Message]:
    return message_factory.GetMessageClass(method.input_type)


def response_class(method: MethodDescriptor) -> type[Message]:
    return message_factory.GetMessageClass(method.output_type)


@dataclass(frozen=True)
class Caller:
    role: str
    office: str = ""
    sub: str = ""


def callers(method: MethodDescriptor) -> st.SearchStrategy[Caller]:
    """Callers the RPC's access policy admits; officers and supervisors mostly of the offices
    that hold the seeded complaints, sometimes of others."""
    options = []
    for role in sorted(POLICY[path(method)].roles):
        if role == OFFICER:
            options += [Caller(role, office) for office in (HOLDER, HOLDER, "KANTAH.32.01")]
        elif role == SUPERVISOR:
            options += [Caller(role, office) for office in (SUPERVISING, "PUSAT.IP3", "KANWIL.33")]
        elif role == SERVICE:
            options += [
                Caller(role, sub=s)
                for s in ("service:notification", "service:routing", "service:intake")
            ]
        else:
            options.append(Caller(role))
    return st.sampled_from(options)


@dataclass
class Outcome:
    code: grpc.StatusCode
    details: str
    items: int = 0

    @property
    def client_deadline(self) -> bool:
        """The client gave up; the server may still be working (the outcome is unknown)."""
        return self.code == grpc.StatusCode.DEADLINE_EXCEEDED and self.details == (
            "Deadline Exceeded"
        )


def invoke(
    stack: FuzzStack,
    server: str,
    method: MethodDescriptor,
    request: Message | bytes,
    metadata: Any,
    stream_timeout: float = STREAM_TIMEOUT,
) -> Outcome:
    serialize = (lambda raw: raw) if isinstance(request, bytes) else type(request).SerializeToString
    kwargs = {
        "request_serializer": serialize,
        "response_deserializer": response_class(method).FromString,
    }
    channel = stack.channel(server)
    if method.server_streaming:
        responses = channel.unary_stream(path(method), **kwargs)(
            request, metadata=metadata, timeout=stream_timeout
        )
        items = 0
        try:
            for _ in responses:
                items += 1
                if items >= STREAM_ITEMS:
                    break
        except grpc.RpcError as error:
            code = error.code()
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                # A stream that stays open (follow, watch) ends by the client's deadline.
                return Outcome(grpc.StatusCode.OK, "stream open at the deadline", items)
            return Outcome(code, error.details() or "", items)
        finally:
            responses.cancel()
        return Outcome(grpc.StatusCode.OK, "", items)
    try:
        channel.unary_unary(path(method), **kwargs)(
            request, metadata=metadata, timeout=UNARY_TIMEOUT
        )
    except grpc.RpcError as error:
        return Outcome(error.code(), error.details() or "")
    return Outcome(grpc.StatusCode.OK, "")


def describe(request: Message | bytes) -> str:
    if isinstance(request, bytes):
        return f"<{len(request)} raw bytes>"
    text = str(request)
    return text if len(text) < 2000 else text[:2000] + f"... ({len(text)} characters)"


def checked_call(
    stack: FuzzStack,
    method: MethodDescriptor,
    request: Message | bytes,
    caller: Caller,
    stream_timeout: float = STREAM_TIMEOUT,
) -> list[Outcome]:
    """Calls the RPC on every process serving it and checks: no internal failure, nothing stored
    when refused, and the server still answers its health check and an ordinary call."""
    metadata = stack.bearer(caller.role, caller.office, caller.sub)
    outcomes = []
    for server in SERVERS[method.containing_service.full_name]:
        with stack.lock:
            before, counts = stack.snapshot(), stack.table_counts()
            heads = stack.heads()
            outcome = invoke(stack, server, method, request, metadata, stream_timeout)
            OUTCOMES[(path(method), outcome.code.name)] += 1
            if currently_in_test_context():
                event(f"{server}: {outcome.code.name}")
            assert outcome.code not in FAILURES, (
                f"{path(method)} on {server} answered {outcome.code.name} "
                f"({outcome.details}) to {caller}:\n{describe(request)}"
            )
            if outcome.code != grpc.StatusCode.OK and not outcome.client_deadline:
                changed = {
                    table: (counts.get(table), after)
                    for table, after in stack.table_counts().items()
                    if counts.get(table) != after
                }
                assert stack.heads() == heads, (
                    f"{path(method)} refused with {outcome.code.name} ({outcome.details}) but "
                    f"stored events: {heads} -> {stack.heads()}\n{describe(request)}"
                )
                assert stack.snapshot() == before, (
                    f"{path(method)} refused with {outcome.code.name} ({outcome.details}) but "
                    f"changed a store (row counts changed: {changed})\n{describe(request)}"
                )
        assert stack.serving(server), f"{server} stopped serving after {path(method)}"
        stack.canary(server)
        outcomes.append(outcome)
    return outcomes
