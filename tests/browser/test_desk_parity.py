"""The desk adds no authorisation of its own (issue 19): for each role's token the desk would
use, its answer for a case page and for a queue (shown / 403 / 404) is the services' answer to
the same token called directly over gRPC. Needs no browser."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from browser.conftest import sign_in

from aduan.service.auth import bearer_metadata, with_bearer
from aduan.v1 import (
    common_pb2,
    intake_pb2,
    intake_pb2_grpc,
    query_pb2,
    query_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)
from aduan_desk import supervision
from aduan_devtools.stack import LocalStack

pytestmark = pytest.mark.e2e

# (role, office, user name): the identities the desk's sign-in mints tokens for.
USERS = [
    ("officer", "KANTAH.32.73", "holder"),
    ("officer", "KANTAH.32.04", "neighbour"),
    ("supervisor", "KANWIL.32", "kanwil"),
    ("supervisor", "KANWIL.33", "otherkanwil"),
    ("officer", "PUSAT.IP3", "triage"),
    ("supervisor", "PUSAT.PSKP", "overseer"),
    ("officer", "PUSAT.ITJEN", "inspectorate"),
    ("auditor", "", "auditor"),
]
HTTP_FOR = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
}


def wait_until(condition: Callable[[], bool], what: str, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {within} s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def complaints(desk_stack: LocalStack) -> dict[str, str]:
    """One complaint the Kantah holds, one sealed with the Inspectorate (an illegal levy)."""
    channel = with_bearer(
        grpc.insecure_channel(desk_stack.services["intake"].address),
        desk_stack.token("gateway", sub="gateway:parity"),
    )
    filed = {}
    with channel:
        for name, category in (
            ("land-service", common_pb2.CATEGORY_LAND_SERVICE),
            ("illegal-levy", common_pb2.CATEGORY_ILLEGAL_LEVY),
        ):
            response = intake_pb2_grpc.IntakeStub(channel).FileComplaint(
                intake_pb2.FileComplaintRequest(
                    idempotency_key=f"parity-{uuid.uuid4()}",
                    channel=common_pb2.CHANNEL_WEB,
                    reporter=intake_pb2.Reporter(name="Dewi Lestari", phone="081234567890"),
                    category=category,
                    location=common_pb2.Location(province_code="32", regency_code="32.73"),
                    subject="Sertifikat belum terbit",
                    description="Permohonan sertifikat saya sudah enam bulan belum terbit.",
                ),
                timeout=10,
            )
            filed[name] = response.complaint_id
        # Both placed and projected before the comparisons.
    auditor = bearer_metadata(desk_stack.token("auditor", sub="auditor:parity"))
    with grpc.insecure_channel(desk_stack.services["query"].address) as query_channel:
        query = query_pb2_grpc.QueryStub(query_channel)

        def placed(complaint_id: str) -> bool:
            try:
                view = query.GetComplaint(
                    query_pb2.GetComplaintRequest(complaint_id=complaint_id),
                    metadata=auditor,
                    timeout=5,
                ).complaint
            except grpc.RpcError as error:
                # Not projected yet.
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                return False
            return view.holding_office.code != ""

        for complaint_id in filed.values():
            wait_until(
                lambda complaint_id=complaint_id: placed(complaint_id), f"{complaint_id} placed"
            )
    return filed


def direct_case_answer(stack: LocalStack, token: str, complaint_id: str) -> grpc.StatusCode:
    """The first refusal among the calls the case page makes, or OK."""
    metadata = bearer_metadata(token)
    with (
        grpc.insecure_channel(stack.services["query"].address) as query_channel,
        grpc.insecure_channel(stack.services["routing"].address) as routing_channel,
    ):
        query = query_pb2_grpc.QueryStub(query_channel)
        routing = routing_pb2_grpc.RoutingStub(routing_channel)
        calls = [
            lambda: query.GetComplaint(
                query_pb2.GetComplaintRequest(complaint_id=complaint_id), metadata=metadata
            ),
            lambda: query.GetAuditTrail(
                query_pb2.GetAuditTrailRequest(complaint_id=complaint_id), metadata=metadata
            ),
            lambda: routing.GetCase(
                routing_pb2.GetCaseRequest(complaint_id=complaint_id), metadata=metadata
            ),
        ]
        for call in calls:
            try:
                call()
            except grpc.RpcError as error:
                return error.code()
    return grpc.StatusCode.OK


def direct_queue_answer(stack: LocalStack, token: str, office: str) -> grpc.StatusCode:
    with grpc.insecure_channel(stack.services["query"].address) as channel:
        try:
            query_pb2_grpc.QueryStub(channel).ListComplaints(
                query_pb2.ListComplaintsRequest(
                    filter=query_pb2.ComplaintFilter(office_code=office)
                ),
                metadata=bearer_metadata(token),
            )
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


@pytest.fixture
def desk_client(desk_stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=desk_stack.desk_url, timeout=15) as client:
        yield client


@pytest.mark.parametrize(("role", "office", "name"), USERS)
def test_the_desk_answers_as_the_services_do(
    desk_stack: LocalStack,
    complaints: dict[str, str],
    desk_client: httpx.Client,
    role: str,
    office: str,
    name: str,
) -> None:
    sign_in(desk_client, role, office, name)
    # The token the desk minted for this sign-in, minted the same way (the same secret, role,
    # office and subject).
    token = desk_stack.token(role, office, sub=f"{role}:{name}")
    seen = []
    for kind, complaint_id in complaints.items():
        expected = HTTP_FOR[direct_case_answer(desk_stack, token, complaint_id)]
        answer = desk_client.get(f"/cases/{complaint_id}").status_code
        assert answer == expected, (kind, role, office)
        seen.append(expected)
    for queue_office in ("KANTAH.32.73", "KANWIL.33", "PUSAT.ITJEN"):
        expected = HTTP_FOR[direct_queue_answer(desk_stack, token, queue_office)]
        answer = desk_client.get("/queue", params={"office": queue_office}).status_code
        assert answer == expected, (queue_office, role, office)
        seen.append(expected)
    if (role, office) == ("officer", "KANTAH.32.73"):
        # The matrix holds admissions and both refusals: the holder sees its case, the sealed
        # one does not exist for it, and another Kanwil's queue is refused.
        assert seen == [200, 404, 200, 403, 403]


def direct_stats(
    stack: LocalStack, token: str, office: str
) -> tuple[grpc.StatusCode, dict[str, query_pb2.OfficeKpis]]:
    """GetStats as the desk's /offices asks it (office KPIs rolled up, the last four weeks)."""
    now = datetime.now(UTC)
    request = supervision.stats_request(
        office, now - timedelta(weeks=supervision.DEFAULT_WEEKS), now, now
    )
    with grpc.insecure_channel(stack.services["query"].address) as channel:
        try:
            response = query_pb2_grpc.QueryStub(channel).GetStats(
                request, metadata=bearer_metadata(token), timeout=15
            )
        except grpc.RpcError as error:
            return error.code(), {}
    return grpc.StatusCode.OK, {row.office_code: row for row in response.offices}


def shown_kpis(html: str, office: str) -> dict[str, str]:
    """The figures of one office's row of /offices (`data-kpi` cells, text only)."""
    row = re.search(rf'<tr data-office="{re.escape(office)}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"/offices shows no row for {office}"
    return {
        name: re.sub(r"<[^>]+>", "", value).strip()
        for name, value in re.findall(r'<td data-kpi="(\w+)"[^>]*>(.*?)</td>', row[1], re.S)
    }


def expected_kpis(kpis: query_pb2.OfficeKpis | None) -> dict[str, str]:
    """The cells that query's row means (zeros when query reports no row for the office)."""
    kpis = kpis or query_pb2.OfficeKpis()
    breaches = (kpis.accept_breaches, kpis.first_response_breaches, kpis.resolution_breaches)
    return {
        "backlog": str(kpis.backlog),
        "overdue": str(kpis.overdue),
        "compliance": (
            f"{kpis.sla_compliance * 100:.0f}%" if kpis.HasField("sla_compliance") else "-"
        ),
        "bounced": str(kpis.bounced_out),
        "breaches": f"{sum(breaches)} ({breaches[0]}/{breaches[1]}/{breaches[2]})",
    }


@pytest.mark.parametrize(("role", "office", "name"), USERS)
def test_the_offices_page_shows_what_query_answers(
    desk_stack: LocalStack,
    complaints: dict[str, str],
    desk_client: httpx.Client,
    role: str,
    office: str,
    name: str,
) -> None:
    sign_in(desk_client, role, office, name)
    token = desk_stack.token(role, office, sub=f"{role}:{name}")
    for asked in ("KANWIL.32", "KANTAH.32.73", "PUSAT.IP3"):
        code, rows = direct_stats(desk_stack, token, asked)
        page = desk_client.get("/offices", params={"office": asked})
        assert page.status_code == HTTP_FOR[code], (asked, role, office)
        if code != grpc.StatusCode.OK:
            continue
        below = [asked, *re.findall(r'<tr data-office="([^"]+)"', page.text)]
        for shown in set(below):
            cells = shown_kpis(page.text, shown)
            want = expected_kpis(rows.get(shown))
            if want["compliance"] == "-":
                want["compliance"] = cells["compliance"]  # the page's word for "none"
                assert not re.search(r"\d", cells["compliance"]), (shown, cells)
            assert {k: cells[k] for k in want} == want, (asked, shown, role, office)
    if (role, office) == ("supervisor", "KANWIL.32"):
        page = desk_client.get("/offices")
        assert shown_kpis(page.text, "KANTAH.32.73")["backlog"] != "0"
