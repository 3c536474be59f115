"""Descriptor-driven fuzzing of every RPC of every Aduan gRPC service.

The RPCs are enumerated from the service descriptors of every `aduan.v1.*_pb2` module (so a new
RPC is fuzzed without touching this file) and their requests generated from the message
descriptors (`fuzz.protofuzz`): every scalar type with its boundaries, enums with undefined
values, nested and repeated messages, maps, oneofs, empty, huge, unicode and hostile strings, and
identifiers that exist in the stores. Each request goes to the real servicer behind the
production interceptors (authentication with a token of a role the RPC admits, error mapping),
on SQLite stores (`fuzz.stack`), and must:

- never be answered INTERNAL, UNKNOWN or DATA_LOSS;
- store nothing when refused: event log heads, side tables, tracking records and read models
  unchanged (a digest of every table of every store);
- leave the server serving: its health check says SERVING and an ordinary call succeeds.

Requests bigger than the server's maximum message size (`ADUAN_MAX_MESSAGE_BYTES`, 4 MiB by
default) are refused by gRPC itself with RESOURCE_EXHAUSTED; a field over its domain limit
(e.g. a 1 MB description) gets INVALID_ARGUMENT.

Runs with 25 examples per RPC in `make test` (a quarter of that for the megabyte-sized
requests), about two minutes on a quiet two-core machine. For a long run, set the examples per
test (per RPC, and per webhook test):

    ADUAN_FUZZ_EXAMPLES=1000 uv run --frozen pytest tests/fuzz -x

Add `--hypothesis-seed=N` to repeat a run; a failure prints the shrunk request and a
`@reproduce_failure(...)` decorator that replays it. No example database is written (the tree
is shared), so a failure found in a long run is kept by copying that decorator or a test.
"""

from __future__ import annotations

import grpc
import pytest
from fuzz.calls import (
    FUZZ,
    FUZZ_HUGE,
    POLICY,
    RPC_IDS,
    RPCS,
    Caller,
    callers,
    checked_call,
    hints,
    path,
    request_class,
)
from fuzz.protofuzz import messages, set_path, string_fields
from fuzz.stack import FuzzStack
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from grpc_status import rpc_status
from hypothesis import given
from hypothesis import strategies as st

from aduan.v1 import common_pb2, intake_pb2

pytestmark = pytest.mark.integration

OVER_LIMIT = 5 * 1024 * 1024  # bytes; the servers' default maximum is 4 MiB
FIELD_OVERSIZE = 1_000_000  # characters: under the message limit, over any domain limit


def test_every_rpc_is_fuzzed_and_has_a_policy() -> None:
    assert len(RPCS) >= 25
    assert {path(m) for m in RPCS} == set(POLICY)


@pytest.mark.parametrize("method", RPCS, ids=RPC_IDS)
def test_generated_requests_are_answered_without_internal_errors(
    fuzz_stack: FuzzStack, method: MethodDescriptor
) -> None:
    known = sorted(fuzz_stack.known.strings)
    plausible = hints(fuzz_stack.known)

    @FUZZ
    @given(request=messages(method.input_type, known, hints=plausible), caller=callers(method))
    def check(request: Message, caller: Caller) -> None:
        checked_call(fuzz_stack, method, request, caller)

    check()


def unknown_field(number: int, payload: bytes) -> bytes:
    """A length-delimited field `number` carrying `payload`, in protobuf wire format."""

    def varint(value: int) -> bytes:
        out = bytearray()
        while True:
            byte = value & 0x7F
            value >>= 7
            if value:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                return bytes(out)

    return varint(number << 3 | 2) + varint(len(payload)) + payload


@pytest.mark.parametrize("method", RPCS, ids=RPC_IDS)
def test_messages_over_the_size_limit_are_resource_exhausted(
    fuzz_stack: FuzzStack, method: MethodDescriptor
) -> None:
    """Every RPC, with a request of 5 MB (a field the schema does not know, so that even RPCs
    without a string field get one): gRPC refuses it before any code of ours runs."""
    role = sorted(POLICY[path(method)].roles)[0]
    raw = unknown_field(9999, b"x" * OVER_LIMIT)
    # Sending 5 MB takes a while on a busy machine: a deadline roomier than the fuzzing one.
    (outcome, *others) = checked_call(
        fuzz_stack, method, raw, Caller(role, "KANTAH.32.73"), stream_timeout=20
    )
    assert outcome.code == grpc.StatusCode.RESOURCE_EXHAUSTED, outcome
    assert all(o.code == grpc.StatusCode.RESOURCE_EXHAUSTED for o in others), others


def test_a_description_over_the_limit_is_invalid_argument(fuzz_stack: FuzzStack) -> None:
    request = intake_pb2.FileComplaintRequest(
        idempotency_key="fuzz-oversized-description",
        channel=common_pb2.CHANNEL_WEB,
        reporter=intake_pb2.Reporter(name="Siti Aminah", phone="081298765432"),
        location=common_pb2.Location(province_code="32", regency_code="32.73"),
        description="Sertifikat tanah saya belum terbit. " * 30_000,  # about 1 MB
    )
    method = intake_pb2.DESCRIPTOR.services_by_name["Intake"].methods_by_name["FileComplaint"]
    stub = fuzz_stack.channel("intake").unary_unary(
        path(method),
        request_serializer=intake_pb2.FileComplaintRequest.SerializeToString,
        response_deserializer=intake_pb2.FileComplaintResponse.FromString,
    )
    heads = fuzz_stack.heads()
    with pytest.raises(grpc.RpcError) as refused:
        stub(request, metadata=fuzz_stack.bearer("gateway"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(refused.value)  # type: ignore[arg-type]
    assert status is not None
    assert "description" in str(status.details[0].value)
    assert fuzz_stack.heads() == heads


def writes(method: MethodDescriptor) -> bool:
    """The RPC stores an event when it succeeds (its response names the stored position)."""
    output = method.output_type
    return "position" in output.fields_by_name


# RPCs whose requests have free text at all (GetHead, GetRoutingRules... have none).
TEXT_RPCS = [method for method in RPCS if string_fields(method.input_type)]


def test_most_rpcs_take_free_text() -> None:
    assert len(TEXT_RPCS) >= 20


@pytest.mark.parametrize("method", TEXT_RPCS, ids=[m.full_name for m in TEXT_RPCS])
def test_every_string_field_over_its_limit_is_refused(
    fuzz_stack: FuzzStack, method: MethodDescriptor
) -> None:
    """Each singular string field in turn (nested ones too) at a million characters, the rest of
    the request generated: never an internal error, nothing stored when refused, and a write
    RPC never stores it (no free text in an event is unbounded)."""
    fields = string_fields(method.input_type)
    known = sorted(fuzz_stack.known.strings)
    plausible = hints(fuzz_stack.known)

    @FUZZ_HUGE
    @given(
        request=messages(method.input_type, known, hints=plausible),
        caller=callers(method),
        field=st.sampled_from(fields),
        character=st.sampled_from(["x", "é"]),
    )
    def check(request: Message, caller: Caller, field: str, character: str) -> None:
        oversized = request_class(method)()
        oversized.CopyFrom(request)
        set_path(oversized, field, character * FIELD_OVERSIZE)
        outcomes = checked_call(fuzz_stack, method, oversized, caller)
        if writes(method):
            assert all(o.code != grpc.StatusCode.OK for o in outcomes), (
                f"{path(method)} stored a {FIELD_OVERSIZE}-character {field}"
            )

    check()
