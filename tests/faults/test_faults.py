"""Proven under faults: the whole system as processes on loopback (SQLite stores), under a steady
stream of complaints, reassignments and responses, survives

1. NATS SIGKILLed and restarted, twice;
   and intake SIGKILLed with events committed but not yet published (NATS down meanwhile);
2. each service SIGKILLed once and restarted;
4. the JetStream stream deleted (the relays republish from the stores);
5. the gateway delivering each inbound WhatsApp message up to three times, concurrently;
6. 100 concurrent reassignments of one case;

and after each, everything converges (harness.Convergence): every filed complaint is in the
query service and routed, every required notification was sent exactly once (counted at the
stand-in provider), the read models equal a fresh rebuild, the query service projected exactly
the events the write services stored, and every service is SERVING.

Scenario 3 (PostgreSQL restarted) is in test_postgres_faults.py. The scenarios share one stack
(its history only grows, so every check covers everything filed so far). ADUAN_FAULTS_SIZE=full
(`make faults`) runs longer and heavier.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import nats
import pytest
from faults.harness import (
    Callers,
    Convergence,
    Filed,
    LoadRecord,
    Size,
    kantah_codes,
    load_running,
    logs_hint,
    post_webhook,
    size,
    started,
    whatsapp_payload,
)
from polling import eventually

from aduan.core.settings import ALL_SERVICES
from aduan.messaging.jetstream import STREAM_NAME
from aduan.v1 import common_pb2, intake_pb2, query_pb2, routing_pb2
from aduan_devtools.stack import LocalStack
from aduan_devtools.testing.notification import StandInProvider

pytestmark = [pytest.mark.faults, pytest.mark.e2e]


@pytest.fixture(scope="module")
def provider() -> Iterator[StandInProvider]:
    stand_in = StandInProvider().start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


@pytest.fixture(scope="module")
def record() -> LoadRecord:
    return LoadRecord()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, provider: StandInProvider
) -> Iterator[LocalStack]:
    with started(tmp_path_factory.mktemp("faults"), provider) as running:
        yield running


@pytest.fixture(scope="module")
def sizing() -> Size:
    return size()


def converged(
    stack: LocalStack, provider: StandInProvider, record: LoadRecord, sizing: Size
) -> None:
    print(Convergence(stack, provider, record, sizing.converge_seconds).check())
    # Reported once, by the scenario in which they happened.
    unexpected, record.unexpected[:] = list(record.unexpected), []
    assert not unexpected, f"callers saw unexpected errors: {unexpected[:5]}; {logs_hint(stack)}"


def test_nats_killed_and_restarted_twice(
    stack: LocalStack, provider: StandInProvider, record: LoadRecord, sizing: Size
) -> None:
    before = len(record.filed)
    refused_before = record.errors["FileComplaint", "UNAVAILABLE"]
    with load_running(stack, record, sizing.rate):
        time.sleep(sizing.before_seconds)
        for _ in range(2):
            stack.restart_nats(crash=True, down_seconds=2.0)
            time.sleep(sizing.after_seconds)
    assert len(record.filed) > before, "nothing was filed during the faults"
    # Filing does not depend on NATS: no complaint was refused while it was down.
    refused = record.errors["FileComplaint", "UNAVAILABLE"] - refused_before
    assert not refused, f"{refused} filings refused while NATS was down; {logs_hint(stack)}"
    converged(stack, provider, record, sizing)


def test_intake_killed_between_commit_and_publish(
    stack: LocalStack, provider: StandInProvider, record: LoadRecord, sizing: Size
) -> None:
    """With NATS down the relay cannot publish, so what is filed meanwhile is committed but not
    published when intake is SIGKILLed; after both restart, nothing is lost."""
    assert stack.nats is not None
    with load_running(stack, record, sizing.rate):
        time.sleep(sizing.before_seconds)
        stack.nats.kill()
        filed_before = len(record.filed)
        time.sleep(sizing.after_seconds)
        assert len(record.filed) > filed_before, "nothing was filed while NATS was down"
        stack.kill_service("intake")
        stack.nats.start()
        stack.start_service("intake")
        stack.wait_serving(sizing.converge_seconds, names=("intake",))
        time.sleep(sizing.after_seconds)
    converged(stack, provider, record, sizing)


def test_each_service_killed_and_restarted(
    stack: LocalStack, provider: StandInProvider, record: LoadRecord, sizing: Size
) -> None:
    for victim in ALL_SERVICES:
        with load_running(stack, record, sizing.rate):
            time.sleep(sizing.before_seconds)
            stack.restart_service(victim, crash=True, timeout=sizing.converge_seconds)
            time.sleep(sizing.after_seconds)
        if sizing.converge_each or victim == ALL_SERVICES[-1]:
            converged(stack, provider, record, sizing)


async def _delete_stream(url: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(STREAM_NAME)
    finally:
        await nc.close()


async def _stream_messages(url: str) -> int:
    nc = await nats.connect(url)
    try:
        return int((await nc.jetstream().stream_info(STREAM_NAME)).state.messages)
    except nats.js.errors.NotFoundError:
        return -1
    finally:
        await nc.close()


def test_stream_deleted_and_republished_from_the_stores(
    stack: LocalStack, provider: StandInProvider, record: LoadRecord, sizing: Size
) -> None:
    heads_before = Convergence(stack, provider, record, 30).heads()
    with load_running(stack, record, sizing.rate):
        time.sleep(sizing.before_seconds)
        asyncio.run(_delete_stream(stack.resolved_nats_url))
        time.sleep(sizing.after_seconds)
    converged(stack, provider, record, sizing)
    # The new stream holds every service's whole log again, not only what came after.
    stored_before = sum(heads_before.values())
    eventually(
        lambda: (
            True
            if asyncio.run(_stream_messages(stack.resolved_nats_url)) >= stored_before
            else None
        ),
        sizing.converge_seconds,
        lambda: (
            f"the re-created stream holds fewer than the {stored_before} events stored "
            f"before the deletion; {logs_hint(stack)}"
        ),
    )


def test_webhook_deliveries_three_times_concurrently_make_one_effect_each(
    stack: LocalStack, provider: StandInProvider, record: LoadRecord, sizing: Size
) -> None:
    port = stack.webhook_port
    messages = [
        (
            f"62812{n:07d}",
            f"wamid.faults.{uuid.uuid4().hex}",
            # Names the city and the service, so intake places it without asking (a question
            # would hold the case until the reporter answers, and nobody answers here).
            f"Sertifikat saya nomor {n} di Kota Bandung belum terbit sudah empat bulan, "
            "mohon dibantu.",
        )
        for n in range(sizing.webhook_messages)
    ]
    with load_running(stack, record, sizing.rate), ThreadPoolExecutor(max_workers=24) as pool:
        time.sleep(sizing.before_seconds)
        posts = [
            (
                message_id,
                pool.submit(post_webhook, port, whatsapp_payload(sender, message_id, body)),
            )
            for sender, message_id, body in messages
            for _ in range(3)
        ]
        outcomes: dict[str, list[dict[str, object]]] = {}
        for message_id, future in posts:
            status, answer = future.result()
            assert status == 200, f"webhook answered {status}; {logs_hint(stack)}"
            outcomes.setdefault(message_id, []).extend(answer["results"])
        # Status requests for the new tickets, also three times each.
        tickets = {m: o[0]["ticket_number"] for m, o in outcomes.items()}
        status_posts = [
            pool.submit(
                post_webhook,
                port,
                whatsapp_payload(sender, f"{message_id}.status", f"STATUS {tickets[message_id]}"),
            )
            for sender, message_id, _ in messages[: len(messages) // 2]
            for _ in range(3)
        ]
        status_outcomes: Counter[str] = Counter()
        for future in status_posts:
            status, answer = future.result()
            assert status == 200, f"webhook answered {status}; {logs_hint(stack)}"
            status_outcomes.update(r["action"] for r in answer["results"])

    for message_id, results in outcomes.items():
        assert len(results) == 3
        assert {r["action"] for r in results} == {"filed"}, results
        assert len({r["complaint_id"] for r in results}) == 1, (
            f"message {message_id} made {len({r['complaint_id'] for r in results})} complaints"
        )
        assert sum(1 for r in results if r["created"]) <= 1, results
        record.add(Filed(str(results[0]["complaint_id"]), str(results[0]["ticket_number"])))
    assert status_outcomes == {"status_requested": 3 * (len(messages) // 2)}, status_outcomes
    converged(stack, provider, record, sizing)

    # One StatusRequested per status message, however often it was delivered.
    callers = Callers(stack)
    try:
        query = callers.query()
        for _, message_id, _ in messages[: len(messages) // 2]:
            complaint_id = str(outcomes[message_id][0]["complaint_id"])
            trail = query.GetAuditTrail(
                query_pb2.GetAuditTrailRequest(complaint_id=complaint_id), timeout=10
            )
            kinds = Counter(e.event_type for e in trail.entries)
            assert kinds["ComplaintFiled"] == 1
            assert kinds["StatusRequested"] == 1, kinds
    finally:
        callers.close()


def test_one_hundred_concurrent_reassignments_of_one_case(
    stack: LocalStack, provider: StandInProvider, record: LoadRecord, sizing: Size
) -> None:
    callers = Callers(stack)
    try:
        intake = callers.intake()
        filed = intake.FileComplaint(
            intake_pb2.FileComplaintRequest(
                idempotency_key=f"faults-race-{uuid.uuid4().hex}",
                channel=common_pb2.CHANNEL_WEB,
                reporter=intake_pb2.Reporter(name="Rina Wati", phone="081277770000"),
                category=common_pb2.CATEGORY_LAND_SERVICE,
                location=common_pb2.Location(province_code="32", regency_code="32.73"),
                subject="Sengketa batas",
                description="Batas bidang tanah saya digeser tetangga, mohon pengukuran ulang.",
            ),
            timeout=10,
        )
        record.add(Filed(filed.complaint_id, filed.ticket_number))
        supervisor = callers.routing()

        def routed() -> routing_pb2.CaseState | None:
            state = supervisor.GetCase(
                routing_pb2.GetCaseRequest(complaint_id=filed.complaint_id), timeout=5
            ).state
            return state if state.holding_office.code == "KANTAH.32.73" else None

        start = eventually(routed, 60, lambda: f"case not routed; {logs_hint(stack)}")
        # 100 officers of the holding office, each transferring the case elsewhere at once,
        # half of them naming the version they saw (optimistic concurrency), half not.
        targets = [k for k in kantah_codes() if k != "KANTAH.32.73"][:100]
        officers = [callers.routing("officer", "KANTAH.32.73") for _ in range(10)]
        with load_running(stack, record, sizing.rate):
            calls = [
                (
                    target,
                    officers[n % len(officers)].ReassignCase.future(
                        routing_pb2.ReassignCaseRequest(
                            complaint_id=filed.complaint_id,
                            kind=common_pb2.REASSIGNMENT_KIND_TRANSFER,
                            to_office_code=target,
                            reason_code=common_pb2.REASON_CODE_WRONG_JURISDICTION,
                            note=f"Pindah ke {target}",
                            expected_version=start.version if n % 2 == 0 else 0,
                        ),
                        timeout=60,
                    ),
                )
                for n, target in enumerate(targets)
            ]
            accepted: list[tuple[str, routing_pb2.CaseCommandResponse]] = []
            refused: Counter[str] = Counter()
            for target, call in calls:
                try:
                    accepted.append((target, call.result()))
                except grpc.RpcError as error:
                    refused[error.code().name] += 1
        print(f"{len(accepted)} reassignments accepted, refused: {dict(refused)}")
        assert accepted, f"no reassignment succeeded: {refused}"
        # Conflicts are ABORTED (lost the race) or, once the case moved away from the officers'
        # office, PERMISSION_DENIED; never INTERNAL or anything else.
        assert set(refused) <= {"ABORTED", "FAILED_PRECONDITION", "PERMISSION_DENIED"}, refused
        assert len(accepted) + sum(refused.values()) == len(targets)
        with_version = [t for t, _ in accepted if targets.index(t) % 2 == 0]
        assert len(with_version) <= 1, "two writers with the same expected version both won"
        converged(stack, provider, record, sizing)

        final = supervisor.GetCase(
            routing_pb2.GetCaseRequest(complaint_id=filed.complaint_id), timeout=5
        ).state
        last = max(accepted, key=lambda a: a[1].state.version)
        assert final.holding_office.code == last[0]
        assert final.reassignment_count == start.reassignment_count + len(accepted)
        assert final.version == last[1].state.version
        trail = callers.query().GetAuditTrail(
            query_pb2.GetAuditTrailRequest(
                complaint_id=filed.complaint_id, page=common_pb2.PageRequest(page_size=500)
            ),
            timeout=10,
        )
        moves = [e.to_office.code for e in trail.entries if e.event_type == "CaseReassigned"]
        assert sorted(moves) == sorted(t for t, _ in accepted), (
            "the audit trail's reassignments are not exactly the accepted ones"
        )
        view = (
            callers.query()
            .GetComplaint(
                query_pb2.GetComplaintRequest(complaint_id=filed.complaint_id), timeout=10
            )
            .complaint
        )
        assert view.holding_office.code == last[0]
        assert view.reassignment_count == final.reassignment_count
    finally:
        callers.close()
