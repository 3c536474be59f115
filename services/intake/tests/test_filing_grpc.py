"""FileComplaint through the in-process gRPC server (SQLite store): the property test over valid
and invalid requests, the concurrency test, and the error details callers rely on."""

from __future__ import annotations

import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aduan.reference.areas import area_registry
from aduan.v1 import common_pb2, intake_pb2

DOCUMENTED_CODES = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT}
REGENCIES = sorted(area_registry().regencies.values(), key=lambda r: r.code)
PROVINCES = sorted(area_registry().provinces)


def bad_request_fields(error: grpc.RpcError) -> set[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "INVALID_ARGUMENT without google.rpc.BadRequest details"
    fields = set()
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        assert detail.Unpack(bad_request)
        fields |= {v.field for v in bad_request.field_violations}
    return fields


@dataclass
class Generated:
    request: intake_pb2.FileComplaintRequest
    violations: set[str] = field(default_factory=set)


letters = string.ascii_letters + "àéí"
words = st.text(alphabet=letters, min_size=1, max_size=12)


def text_between(low: int, high: int) -> st.SearchStrategy[str]:
    return (
        st.lists(words, min_size=1, max_size=60)
        .map(" ".join)
        .filter(lambda t: low <= len(t) <= high)
    )


mobile = st.from_regex(r"8[1-9][0-9]{7,9}", fullmatch=True)
valid_phone = st.one_of(
    mobile.map(lambda n: "0" + n),
    mobile.map(lambda n: "62" + n),
    mobile.map(lambda n: "+62" + n),
    mobile.map(lambda n: f"0{n[:3]}-{n[3:7]}-{n[7:]}"),
)
valid_nik = st.tuples(st.sampled_from(PROVINCES), st.from_regex(r"[0-9]{14}", fullmatch=True)).map(
    "".join
)


@st.composite
def filings(draw: st.DrawFn) -> Generated:
    violations: set[str] = set()
    request = intake_pb2.FileComplaintRequest()

    if draw(st.booleans()) or draw(st.booleans()):
        request.idempotency_key = f"prop-{uuid.uuid4()}"  # fresh per example run
    else:
        request.idempotency_key = draw(st.sampled_from(["", "x" * 201, "has space"]))
        violations.add("idempotency_key")

    if draw(st.integers(0, 9)) > 0:
        request.channel = draw(st.integers(1, 7))
    else:
        request.channel = draw(st.sampled_from([0, 42]))
        violations.add("channel")

    request.category = draw(st.integers(0, 9))

    if draw(st.integers(0, 4)) > 0:
        request.description = draw(text_between(10, 400))
    else:
        request.description = draw(st.sampled_from(["", "too short", "y" * 5001]))
        violations.add("description")

    if draw(st.integers(0, 6)) > 0:
        request.subject = draw(st.one_of(st.just(""), text_between(1, 200)))
    else:
        request.subject = "s" * draw(st.integers(201, 260))
        violations.add("subject")

    reporter = draw(st.sampled_from(["named", "anonymous", "bad-phone", "no-contact", "bad-nik"]))
    if reporter == "anonymous":
        request.reporter.anonymous = True
        request.reporter.confidential = draw(st.booleans())
    else:
        request.reporter.name = draw(st.one_of(st.just(""), text_between(1, 60)))
        request.reporter.phone = draw(valid_phone)
        if draw(st.booleans()):
            request.reporter.email = draw(
                st.from_regex(r"[a-z]{1,10}@[a-z]{2,10}\.id", fullmatch=True)
            )
        if draw(st.booleans()):
            request.reporter.nik = draw(valid_nik)
        if reporter == "bad-phone":
            request.reporter.phone = draw(st.sampled_from(["12345", "abc", "0812", "+620"]))
            violations.add("reporter.phone")
        elif reporter == "no-contact":
            request.reporter.phone = ""
            request.reporter.email = ""
            violations.add("reporter")
        elif reporter == "bad-nik":
            request.reporter.nik = draw(
                st.sampled_from(["1234", "9912345678901234", "12345678901234567"])
            )
            violations.add("reporter.nik")

    where = draw(st.sampled_from(["none", "regency", "province", "both", "mismatch", "unknown"]))
    regency = draw(st.sampled_from(REGENCIES))
    if where == "regency":
        request.location.regency_code = regency.code
    elif where == "province":
        request.location.province_code = regency.province_code
    elif where == "both":
        request.location.province_code = regency.province_code
        request.location.regency_code = regency.code
    elif where == "mismatch":
        other = next(p for p in PROVINCES if p != regency.province_code)
        request.location.province_code = other
        request.location.regency_code = regency.code
        violations.add("location.regency_code")
    elif where == "unknown":
        request.location.province_code = "00"
        violations.add("location.province_code")

    if draw(st.booleans()):
        if draw(st.integers(0, 3)) > 0:
            request.parcel.nib = draw(st.from_regex(r"[0-9]{14}", fullmatch=True))
        else:
            request.parcel.nib = draw(st.from_regex(r"[0-9]{1,13}", fullmatch=True))
            violations.add("parcel.nib")

    return Generated(request, violations)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(generated=filings())
def test_valid_filings_are_stored_exactly_once_and_invalid_ones_never(
    intake_server: Any, event_types: Callable[..., list[str]], generated: Generated
) -> None:
    app = intake_server.app
    stub = intake_server.stub
    before = app.head_position()
    outcome = stub.FileComplaint.future(generated.request, timeout=10)
    error = outcome.exception()
    if error is not None:
        code = error.code()
        assert code in DOCUMENTED_CODES, f"undocumented status {code}: {error.details()}"
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert generated.violations, f"a valid request was rejected: {error.details()}"
        assert bad_request_fields(error) == generated.violations
        assert app.head_position() == before, "a rejected filing stored something"
        return
    first = outcome.result()
    assert not generated.violations, f"accepted although {generated.violations} are invalid"
    assert first.created
    assert first.ticket_number.startswith("ADU-")
    again = stub.FileComplaint(generated.request, timeout=10)
    assert (again.complaint_id, again.ticket_number, again.created) == (
        first.complaint_id,
        first.ticket_number,
        False,
    )
    assert again.position.position == first.position.position
    assert app.head_position() == before + 1
    assert event_types(app, first.complaint_id) == ["Complaint.Filed"]


def test_fifty_concurrent_filings_with_one_key_make_one_complaint(
    intake_server: Any,
    file_request: Callable[..., intake_pb2.FileComplaintRequest],
    event_types: Callable[..., list[str]],
) -> None:
    request = file_request(idempotency_key=f"burst-{uuid.uuid4()}")
    calls = [intake_server.stub.FileComplaint.future(request, timeout=30) for _ in range(50)]
    responses = [call.result() for call in calls]

    assert len({r.complaint_id for r in responses}) == 1
    assert len({r.ticket_number for r in responses}) == 1
    assert sum(r.created for r in responses) == 1
    assert event_types(intake_server.app) == ["Complaint.Filed"]
    filed_position = next(r.position.position for r in responses if r.created)
    assert filed_position == 1
    # Every repeat gets a position at or after the filing: a valid read-your-writes token.
    assert all(r.position.position >= filed_position for r in responses)
    assert all(r.position.service == "intake" for r in responses)


def test_bad_request_details_name_every_field(
    intake_server: Any, file_request: Callable[..., intake_pb2.FileComplaintRequest]
) -> None:
    request = file_request(
        idempotency_key="",
        channel=common_pb2.CHANNEL_UNSPECIFIED,
        description="pendek",
        reporter={"phone": "12", "nik": "77"},
        location={"province_code": "31", "regency_code": "32.73"},
    )
    with pytest.raises(grpc.RpcError) as raised:
        intake_server.stub.FileComplaint(request, timeout=10)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(raised.value) == {
        "idempotency_key",
        "channel",
        "description",
        "reporter.phone",
        "reporter.nik",
        "location.regency_code",
    }
    assert intake_server.app.head_position() == 0


def test_the_same_key_on_another_channel_is_another_complaint(
    intake_server: Any, file_request: Callable[..., intake_pb2.FileComplaintRequest]
) -> None:
    web = intake_server.stub.FileComplaint(file_request(channel=common_pb2.CHANNEL_WEB))
    lapor = intake_server.stub.FileComplaint(file_request(channel=common_pb2.CHANNEL_LAPOR))
    assert web.created
    assert lapor.created
    assert web.complaint_id != lapor.complaint_id
    assert web.ticket_number != lapor.ticket_number
