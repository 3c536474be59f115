"""The Routing gRPC API in process, on a SQLite store: status codes, GetCase by ticket,
ListOffices paging, GetRoutingRules, and 100 concurrent reassignments of one case."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from aduan.core.context import Actor, CommandContext
from aduan.core.settings import ServiceSettings
from aduan.eventstore.store import store_env
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan.service.auth import DevTokens, bearer_interceptors, bearer_metadata
from aduan.service.runtime import ServiceRuntime
from aduan.v1 import common_pb2, routing_pb2, routing_pb2_grpc
from aduan_devtools.natsserver import free_port
from aduan_routing.application import RoutingApplication
from aduan_routing.contract import SERVICE
from aduan_routing.reactions import Filing
from aduan_routing.servicer import ROUTING_POLICY, RoutingServicer

pytestmark = pytest.mark.integration

SECRET = "routing-grpc-tests-secret-0123456789"
TOKENS = DevTokens(SECRET)
OFFICER = bearer_metadata(TOKENS.issue("officer", "KANTAH.32.73", "officer-42"))


class Served:
    def __init__(self, app: RoutingApplication, stub: routing_pb2_grpc.RoutingStub) -> None:
        self.app = app
        self.stub = stub
        self.position = 0

    def file(self, category: Category = Category.LAND_SERVICE, regency: str = "32.73") -> str:
        complaint_id = uuid.uuid4()
        self.position += 1
        self.app.open_case(
            Filing(
                complaint_id,
                f"ADU-2026-{complaint_id.hex[:6].upper()}",
                category,
                Location(province_code=regency[:2], regency_code=regency),
                False,
                self.app.clock.now(),
            ),
            upstream="intake",
            position=self.position,
            ctx=CommandContext(actor=Actor.service("routing")),
        )
        return str(complaint_id)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    settings = ServiceSettings.from_env(
        "routing",
        {
            "ADUAN_GRPC_PORT": str(free_port()),
            "ADUAN_STORE_URL": f"sqlite:///{tmp_path / 'routing.sqlite'}",
            "ADUAN_JWT_SECRET": SECRET,
        },
    )
    app = RoutingApplication(env=store_env(settings.store_url, SERVICE))
    servicer = RoutingServicer(app)
    runtime = ServiceRuntime(
        settings=settings,
        service_names=[routing_pb2.DESCRIPTOR.services_by_name["Routing"].full_name],
        registrars=[
            lambda server: routing_pb2_grpc.add_RoutingServicer_to_server(servicer, server)
        ],
        policies=[ROUTING_POLICY],
    )
    await runtime.start()
    # Calls without their own token act as an officer of the Kantah the test cases go to.
    officer = bearer_interceptors(lambda: TOKENS.issue("officer", "KANTAH.32.73", "officer-7"))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{runtime.bound_port}", interceptors=officer)
    try:
        yield Served(app, routing_pb2_grpc.RoutingStub(channel))
    finally:
        await channel.close()
        await runtime.shutdown()
        app.close()


async def test_get_case_by_id_or_ticket(served: Served) -> None:
    complaint_id = served.file()
    by_id = await served.stub.GetCase(routing_pb2.GetCaseRequest(complaint_id=complaint_id))
    state = by_id.state
    assert state.holding_office.code == "KANTAH.32.73"
    assert state.holding_office.level == common_pb2.OFFICE_LEVEL_KANTAH
    assert state.holding_office.name == "Kantor Pertanahan Kota Bandung"
    assert state.status == common_pb2.COMPLAINT_STATUS_ASSIGNED
    assert state.version == 2
    assert state.deadlines.HasField("accept_due")
    assert state.deadlines.HasField("resolution_due")
    by_ticket = await served.stub.GetCase(
        routing_pb2.GetCaseRequest(complaint_id=state.ticket_number.lower())
    )
    assert by_ticket.state.complaint_id == complaint_id
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await served.stub.GetCase(routing_pb2.GetCaseRequest(complaint_id=str(uuid.uuid4())))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_commands_return_the_state_and_position_and_map_errors(served: Served) -> None:
    complaint_id = served.file()
    accepted = await served.stub.AcceptCase(
        routing_pb2.AcceptCaseRequest(complaint_id=complaint_id, expected_version=2),
        metadata=OFFICER,
    )
    assert accepted.state.status == common_pb2.COMPLAINT_STATUS_IN_PROGRESS
    assert accepted.position.service == "routing"
    assert accepted.position.position == served.app.head_position()
    last = served.app.decode(served.app.read_notifications(accepted.position.position - 1, 1)[0])
    assert last.meta["actor"] == {
        "id": "officer-42",
        "kind": "OFFICER",
        "role": "officer",
        "office": "KANTAH.32.73",
    }

    async def code_of(call: asyncio.Future[object] | object) -> grpc.StatusCode:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call  # type: ignore[misc]
        return raised.value.code()

    assert (
        await code_of(
            served.stub.AcceptCase(routing_pb2.AcceptCaseRequest(complaint_id=complaint_id))
        )
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    assert (
        await code_of(
            served.stub.ResolveCase(
                routing_pb2.ResolveCaseRequest(
                    complaint_id=complaint_id, summary="x", expected_version=2
                )
            )
        )
        == grpc.StatusCode.ABORTED
    )
    same_office = routing_pb2.ReassignCaseRequest(
        complaint_id=complaint_id,
        kind=common_pb2.REASSIGNMENT_KIND_TRANSFER,
        to_office_code="KANTAH.32.73",
        reason_code=common_pb2.REASON_CODE_WRONG_JURISDICTION,
    )
    assert await code_of(served.stub.ReassignCase(same_office)) == grpc.StatusCode.INVALID_ARGUMENT
    unknown = routing_pb2.ReassignCaseRequest(
        complaint_id=complaint_id,
        kind=common_pb2.REASSIGNMENT_KIND_ESCALATE,
        to_office_code="KANWIL.99",
        reason_code=common_pb2.REASON_CODE_WIDE_IMPACT,
    )
    assert await code_of(served.stub.ReassignCase(unknown)) == grpc.StatusCode.INVALID_ARGUMENT
    wrong_way = routing_pb2.ReassignCaseRequest(
        complaint_id=complaint_id,
        kind=common_pb2.REASSIGNMENT_KIND_DELEGATE,
        to_office_code="KANWIL.32",
        reason_code=common_pb2.REASON_CODE_WIDE_IMPACT,
    )
    assert await code_of(served.stub.ReassignCase(wrong_way)) == grpc.StatusCode.INVALID_ARGUMENT
    assert served.app.head_position() == accepted.position.position


async def test_a_stale_version_tells_an_outsider_nothing_more_than_a_current_one(
    served: Served,
) -> None:
    """The office is checked before the version: ABORTED would tell a caller who may not act
    on a case that it exists and has moved on (docs/security.md, "Who sees what")."""
    held = served.file()  # Kota Bandung's Kantah
    sealed = served.file(Category.ILLEGAL_LEVY)  # the Inspectorate's
    inspectorate = served.app.registry.oversight.inspectorate
    assert served.app.get_case(sealed).holder == inspectorate
    other_kantah = bearer_metadata(TOKENS.issue("officer", "KANTAH.32.01", "officer-bogor"))
    overseer = bearer_metadata(TOKENS.issue("supervisor", "PUSAT.HAK_TANAH", "supervisor-ht"))

    async def code(complaint_id: str, version: int, metadata: object) -> grpc.StatusCode:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await served.stub.AcceptCase(
                routing_pb2.AcceptCaseRequest(complaint_id=complaint_id, expected_version=version),
                metadata=metadata,
            )
        return raised.value.code()

    for complaint_id, outsider in (
        (held, other_kantah),
        (sealed, other_kantah),
        (sealed, overseer),
    ):
        current = served.app.get_case(complaint_id).version
        answers = {await code(complaint_id, v, outsider) for v in (current, current + 5, 1)}
        assert answers == {grpc.StatusCode.PERMISSION_DENIED}, (complaint_id, outsider)
    # Whoever may act on the case still learns that their version is stale.
    stale = served.app.get_case(held).version - 1
    assert await code(held, stale, OFFICER) == grpc.StatusCode.ABORTED
    assert served.app.get_case(held).status.value == "ASSIGNED"


async def test_classify_through_grpc_reroutes(served: Served) -> None:
    complaint_id = served.file(Category.UNCLASSIFIED)
    result = await served.stub.ClassifyComplaint(
        routing_pb2.ClassifyComplaintRequest(
            complaint_id=complaint_id,
            category=common_pb2.CATEGORY_ILLEGAL_LEVY,
            location=common_pb2.Location(regency_code="32.73"),
        ),
        # The triage desk holds unclassified complaints; only its officers classify them.
        metadata=bearer_metadata(TOKENS.issue("officer", "PUSAT.IP3", "triage-1")),
    )
    assert result.state.holding_office.code == "PUSAT.ITJEN"
    assert result.state.category == common_pb2.CATEGORY_ILLEGAL_LEVY
    assert result.state.reassignment_count == 1


async def test_list_offices_pages_and_filters(served: Served) -> None:
    seen: list[str] = []
    token = ""
    while True:
        page = await served.stub.ListOffices(
            routing_pb2.ListOfficesRequest(
                page=common_pb2.PageRequest(page_size=200, page_token=token)
            )
        )
        assert page.registry_version
        seen.extend(o.code for o in page.offices)
        token = page.page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 6 + 33 + 514
    kanwil = await served.stub.ListOffices(
        routing_pb2.ListOfficesRequest(level=common_pb2.OFFICE_LEVEL_KANWIL, province_code="95")
    )
    assert [(o.code, list(o.province_codes)) for o in kanwil.offices] == [
        ("KANWIL.91", ["91", "93", "94", "95"])
    ]
    assert kanwil.offices[0].parent_code == "PUSAT.IP3"
    kantah = await served.stub.ListOffices(routing_pb2.ListOfficesRequest(parent_code="KANWIL.34"))
    assert {o.code for o in kantah.offices} == {
        "KANTAH.34.01",
        "KANTAH.34.02",
        "KANTAH.34.03",
        "KANTAH.34.04",
        "KANTAH.34.71",
    }
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await served.stub.ListOffices(
            routing_pb2.ListOfficesRequest(page=common_pb2.PageRequest(page_token="garbage!"))
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_get_routing_rules(served: Served) -> None:
    rules = await served.stub.GetRoutingRules(routing_pb2.GetRoutingRulesRequest())
    assert rules.ruleset_version == served.app.rules.version
    first = rules.rules[0]
    assert (first.id, first.route_to) == ("integrity-to-inspectorate", "PUSAT.ITJEN")
    assert first.when == "category in [ABUSE_OF_AUTHORITY, ILLEGAL_LEVY]"
    assert rules.rules[-1].when == "always"
    assert "version:" in rules.source


async def test_100_concurrent_reassignments_exactly_one_wins(served: Served) -> None:
    complaint_id = served.file(regency="32.73")
    kantah_targets = [
        o.code
        for o in served.app.registry.list(parent_code="KANWIL.32")
        if o.code != "KANTAH.32.73"
    ]
    requests = []
    for i in range(100):
        if i % 4 == 0:
            kind, target = common_pb2.REASSIGNMENT_KIND_ESCALATE, "KANWIL.32"
        elif i % 4 == 1:
            kind, target = common_pb2.REASSIGNMENT_KIND_RETURN_TO_TRIAGE, ""
        else:
            kind, target = (
                common_pb2.REASSIGNMENT_KIND_TRANSFER,
                kantah_targets[i % len(kantah_targets)],
            )
        requests.append(
            routing_pb2.ReassignCaseRequest(
                complaint_id=complaint_id,
                kind=kind,
                to_office_code=target,
                reason_code=common_pb2.REASON_CODE_WRONG_JURISDICTION,
                note=f"attempt {i}",
                expected_version=2,
            )
        )
    # Raced by a supervisor of the triage desk, who may act on the case wherever any attempt
    # moves it: every loser learns only that it lost (an officer of the Kantah checked after
    # the win would be refused, the case being no longer their office's).
    desk = bearer_metadata(TOKENS.issue("supervisor", "PUSAT.IP3", "supervisor-desk"))
    outcomes = await asyncio.gather(
        *(served.stub.ReassignCase(r, metadata=desk) for r in requests), return_exceptions=True
    )
    won = [o for o in outcomes if isinstance(o, routing_pb2.CaseCommandResponse)]
    lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(won) == 1, [
        o for o in outcomes if not isinstance(o, routing_pb2.CaseCommandResponse)
    ][:3]
    assert len(lost) == 99
    assert {error.code() for error in lost} == {grpc.StatusCode.ABORTED}

    auditor = bearer_metadata(TOKENS.issue("auditor", sub="auditor-1"))
    state = (
        await served.stub.GetCase(
            routing_pb2.GetCaseRequest(complaint_id=complaint_id), metadata=auditor
        )
    ).state
    assert state.version == 3
    assert state.holding_office.code == won[0].state.holding_office.code
    notifications = served.app.read_notifications(0, 1000)
    assert [n.id for n in notifications] == [1, 2, 3]
    assert [n.originator_version for n in notifications] == [1, 2, 3]
