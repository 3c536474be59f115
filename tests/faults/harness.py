"""The fault suite's machinery: a local stack whose notification service sends through the
stand-in provider, a background load of complaints, reassignments and responses, and the checks
that everything converged after a fault.

Sizes: ADUAN_FAULTS_SIZE=reduced (default, part of `make test`) or full (`make faults`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import random
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
from polling import TRANSIENT, eventually

from aduan.core.settings import ALL_SERVICES, WRITE_SERVICES
from aduan.service.auth import with_bearer
from aduan.v1 import (
    common_pb2,
    eventlog_pb2,
    eventlog_pb2_grpc,
    intake_pb2,
    intake_pb2_grpc,
    notification_pb2,
    notification_pb2_grpc,
    query_pb2,
    query_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)
from aduan_devtools.stack import LocalStack
from aduan_devtools.testing.notification import StandInProvider

T = TypeVar("T")

APP_SECRET = "faults-app-secret"
SUPERVISOR_OFFICE = "PUSAT.IP3"  # the triage desk's supervisors may act on every case
REGENCIES = ("32.73", "33.74", "35.78", "31.71", "12.71", "73.71")


@dataclass(frozen=True)
class Size:
    name: str
    # Complaints filed per second by the load, and seconds of load around each fault.
    rate: float
    before_seconds: float
    after_seconds: float
    webhook_messages: int
    converge_seconds: float
    # Check convergence after every fault of a multi-fault scenario, or only after the last.
    converge_each: bool
    # How long NATS stays down under the probes (tests/e2e/test_probes_outage.py): longer than
    # the default liveness budget (periodSeconds 10 x failureThreshold 3) either way.
    nats_outage_seconds: float


SIZES = {
    "reduced": Size(
        "reduced",
        rate=3.0,
        before_seconds=1.5,
        after_seconds=2.5,
        webhook_messages=12,
        converge_seconds=120.0,
        converge_each=False,
        nats_outage_seconds=40.0,
    ),
    "full": Size(
        "full",
        rate=8.0,
        before_seconds=20.0,
        after_seconds=20.0,
        webhook_messages=120,
        converge_seconds=300.0,
        converge_each=True,
        nats_outage_seconds=90.0,
    ),
}


def size() -> Size:
    name = os.environ.get("ADUAN_FAULTS_SIZE", "reduced").strip().lower() or "reduced"
    if name not in SIZES:
        raise ValueError(f"ADUAN_FAULTS_SIZE must be one of {sorted(SIZES)}, not {name!r}")
    return SIZES[name]


def build_stack(
    data_dir: Path, provider: StandInProvider, store_urls: Mapping[str, str] | None = None
) -> LocalStack:
    """A stack on free loopback ports; notification sends WhatsApp messages and office webhooks
    to the stand-in provider, retrying quickly."""
    service_env: dict[str, dict[str, str]] = {name: {} for name in ALL_SERVICES}
    service_env["notification"].update(
        {
            "ADUAN_NOTIFY_CHANNEL_MODE": "live",
            "ADUAN_WHATSAPP_BASE_URL": provider.base_url,
            "ADUAN_WHATSAPP_TOKEN": provider.token,
            "ADUAN_WHATSAPP_PHONE_NUMBER_ID": "1234567890",
            "ADUAN_OFFICE_WEBHOOK_URL": provider.webhook_url,
            "ADUAN_OFFICE_WEBHOOK_SECRET": provider.webhook_secret,
            "ADUAN_DELIVERY_BACKOFF_BASE_SECONDS": "0.2",
            "ADUAN_DELIVERY_BACKOFF_CAP_SECONDS": "2",
            "ADUAN_DELIVERY_MAX_ATTEMPTS": "50",
            "ADUAN_DELIVERY_POLL_SECONDS": "0.2",
            "ADUAN_DELIVERY_SEND_TIMEOUT_SECONDS": "5",
            # The stand-in deduplicates and sends no status reports: a send left in doubt by a
            # kill is repeated after a short grace (test_whatsapp_takeover.py: the Cloud API).
            "ADUAN_WHATSAPP_CONFIRM_GRACE_SECONDS": "1",
        }
    )
    service_env["intake"].update(
        {"ADUAN_WHATSAPP_APP_SECRET": APP_SECRET, "ADUAN_WHATSAPP_VERIFY_TOKEN": "faults-verify"}
    )
    for name, url in (store_urls or {}).items():
        service_env[name]["ADUAN_STORE_URL"] = url
    return LocalStack.on_free_ports(data_dir, service_env=service_env, log_format="text")


@contextlib.contextmanager
def started(
    data_dir: Path,
    provider: StandInProvider,
    store_urls: Callable[[int], Mapping[str, str]] | None = None,
    attempts: int = 3,
) -> Iterator[LocalStack]:
    """A running stack from build_stack. Ports are picked free but bound later, so another
    process (even an outgoing connection's ephemeral port) can take one meanwhile: then the
    whole stack is started again on fresh ports (and `store_urls(attempt)`, fresh stores)."""
    for attempt in range(1, attempts + 1):
        stores = store_urls(attempt) if store_urls is not None else None
        stack = build_stack(data_dir / f"try{attempt}", provider, stores)
        try:
            stack.start(timeout=120)
        except (RuntimeError, TimeoutError):
            stack.stop()
            if attempt == attempts:
                raise
            continue
        break
    try:
        yield stack
    finally:
        # Every service drains at once (SIGTERM to all first), rather than one after another.
        for service in stack.services.values():
            if service.process is not None and service.alive():
                service.process.send_signal(signal.SIGTERM)
        stack.stop()


def logs_hint(stack: LocalStack) -> str:
    return f"logs in {stack.data_dir / 'logs'}"


# -- callers ---------------------------------------------------------------------------------------


class Callers:
    """Channels per service carrying the tokens of the roles the load plays."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self._opened: list[grpc.Channel] = []

    def _channel(self, service: str, token: str) -> grpc.Channel:
        channel = with_bearer(grpc.insecure_channel(self.stack.services[service].address), token)
        self._opened.append(channel)
        return channel

    def intake(self) -> intake_pb2_grpc.IntakeStub:
        return intake_pb2_grpc.IntakeStub(
            self._channel("intake", self.stack.token("gateway", sub="faults:gateway"))
        )

    def routing(self, role: str = "supervisor", office: str = SUPERVISOR_OFFICE) -> Any:
        token = self.stack.token(role, office, sub=f"faults:{role}:{office}:{uuid.uuid4().hex[:6]}")
        return routing_pb2_grpc.RoutingStub(self._channel("routing", token))

    def query(self) -> query_pb2_grpc.QueryStub:
        return query_pb2_grpc.QueryStub(
            self._channel("query", self.stack.token("auditor", sub="faults:auditor"))
        )

    def notification(self) -> notification_pb2_grpc.NotificationStub:
        return notification_pb2_grpc.NotificationStub(
            self._channel("notification", self.stack.token("auditor", sub="faults:auditor"))
        )

    def eventlog(self, service: str) -> eventlog_pb2_grpc.EventLogStub:
        return eventlog_pb2_grpc.EventLogStub(
            self._channel(service, self.stack.token("auditor", sub="faults:auditor"))
        )

    def close(self) -> None:
        for channel in self._opened:
            channel.close()
        self._opened.clear()


# Codes a caller may see while a process is down or a write lost a race: never INTERNAL/UNKNOWN.


@dataclass
class Filed:
    complaint_id: str
    ticket_number: str


@dataclass
class LoadRecord:
    filed: dict[str, Filed] = field(default_factory=dict)
    accepted_reassignments: int = 0
    accepted_responses: int = 0
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Unexpected outcomes (INTERNAL, UNKNOWN, ...) with their messages.
    unexpected: list[str] = field(default_factory=list)
    # Complaints filed or worked on since their notifications were last checked; and per checked
    # complaint, its deliveries (all SENT). A complaint nobody touched keeps its deliveries, and
    # a duplicate send for it would still show in the provider's total (Convergence).
    dirty: set[str] = field(default_factory=set)
    verified: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, filed: Filed) -> None:
        with self.lock:
            self.filed[filed.complaint_id] = filed
            self.dirty.add(filed.complaint_id)

    def touch(self, complaint_id: str) -> None:
        with self.lock:
            self.dirty.add(complaint_id)

    def note_error(self, rpc: str, error: grpc.RpcError) -> None:
        code = error.code()
        with self.lock:
            self.errors[(rpc, code.name)] += 1
            if code not in TRANSIENT:
                self.unexpected.append(f"{rpc}: {code.name}: {error.details()}")


class Load:
    """Files complaints at a steady rate and works on earlier ones (accept, respond, transfer),
    as a supervisor of the triage desk, in a background thread. A filing is retried with its
    idempotency key until it is acknowledged, so `record.filed` is exactly what was filed."""

    def __init__(self, stack: LocalStack, record: LoadRecord, rate: float, seed: int = 7) -> None:
        self.stack = stack
        self.record = record
        self.rate = rate
        self.random = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.callers = Callers(stack)
        self.kantahs = kantah_codes()

    def start(self) -> Load:
        self._thread = threading.Thread(target=self._run, name="fault-load", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(120)
            assert not self._thread.is_alive(), "the load generator did not stop"
        self.callers.close()

    def _run(self) -> None:
        intake = self.callers.intake()
        routing = self.callers.routing()
        n = 0
        while not self._stop.is_set():
            started = time.monotonic()
            self._file(intake, n)
            n += 1
            if self.record.filed and self.random.random() < 0.6:
                self._work(routing)
            self._stop.wait(max(0.0, 1.0 / self.rate - (time.monotonic() - started)))

    def _file(self, intake: intake_pb2_grpc.IntakeStub, n: int) -> None:
        regency = self.random.choice(REGENCIES)
        request = intake_pb2.FileComplaintRequest(
            idempotency_key=f"faults-{uuid.uuid4().hex}",
            channel=common_pb2.CHANNEL_WEB,
            reporter=intake_pb2.Reporter(name="Dewi Lestari", phone=f"08123{n:07d}"),
            category=common_pb2.CATEGORY_LAND_SERVICE,
            location=common_pb2.Location(province_code=regency[:2], regency_code=regency),
            subject=f"Sertifikat tertunda {n}",
            description=f"Permohonan sertifikat nomor {n} belum selesai lebih dari tiga bulan.",
        )
        # Keep trying while a fault lasts; give up only long after being told to stop.
        give_up = float("inf")
        while True:
            if self._stop.is_set() and give_up == float("inf"):
                give_up = time.monotonic() + 60
            try:
                response = intake.FileComplaint(request, timeout=5)
            except grpc.RpcError as error:
                self.record.note_error("FileComplaint", error)
                if time.monotonic() > give_up:
                    return
                time.sleep(0.2)
                continue
            self.record.add(Filed(response.complaint_id, response.ticket_number))
            return

    def _work(self, routing: routing_pb2_grpc.RoutingStub) -> None:
        with self.record.lock:
            complaint_id = self.random.choice(list(self.record.filed))
        self.record.touch(complaint_id)
        try:
            state = routing.GetCase(
                routing_pb2.GetCaseRequest(complaint_id=complaint_id), timeout=5
            ).state
            if state.status == common_pb2.COMPLAINT_STATUS_ASSIGNED:
                if self.random.random() < 0.5:
                    routing.AcceptCase(
                        routing_pb2.AcceptCaseRequest(
                            complaint_id=complaint_id, expected_version=state.version
                        ),
                        timeout=5,
                    )
                else:
                    target = self.random.choice(
                        [k for k in self.kantahs if k != state.holding_office.code]
                    )
                    routing.ReassignCase(
                        routing_pb2.ReassignCaseRequest(
                            complaint_id=complaint_id,
                            kind=common_pb2.REASSIGNMENT_KIND_TRANSFER,
                            to_office_code=target,
                            reason_code=common_pb2.REASON_CODE_WRONG_JURISDICTION,
                            note="Lokasi bidang di wilayah kantor lain.",
                            expected_version=state.version,
                        ),
                        timeout=5,
                    )
                    with self.record.lock:
                        self.record.accepted_reassignments += 1
            elif state.status == common_pb2.COMPLAINT_STATUS_IN_PROGRESS:
                routing.RespondToReporter(
                    routing_pb2.RespondToReporterRequest(
                        complaint_id=complaint_id,
                        text="Berkas Anda sedang kami periksa.",
                        expected_version=state.version,
                    ),
                    timeout=5,
                )
                with self.record.lock:
                    self.record.accepted_responses += 1
        except grpc.RpcError as error:
            self.record.note_error("routing", error)


@contextlib.contextmanager
def load_running(stack: LocalStack, record: LoadRecord, rate: float) -> Iterator[Load]:
    load = Load(stack, record, rate).start()
    try:
        yield load
    finally:
        load.stop()


def kantah_codes() -> list[str]:
    from aduan.reference.offices import OfficeLevel, default_registry

    return [o.code for o in default_registry().list() if o.level == OfficeLevel.KANTAH]


# -- the WhatsApp webhook --------------------------------------------------------------------------


def whatsapp_payload(sender: str, message_id: str, body: str) -> bytes:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "contacts": [{"profile": {"name": "Budi Santoso"}, "wa_id": sender}],
                            "messages": [
                                {
                                    "from": sender,
                                    "id": message_id,
                                    "type": "text",
                                    "text": {"body": body},
                                }
                            ],
                        },
                    }
                ]
            }
        ],
    }
    return json.dumps(payload).encode()


def post_webhook(port: int, raw: bytes, timeout: float = 30.0) -> tuple[int, dict[str, Any]]:
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhook/whatsapp",
        data=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )
    # A gateway retries what the webhook could not take (500 "temporarily unavailable", or no
    # answer); only the final answer counts. Every retry is one more delivery of the message.
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            if error.code < 500 or time.monotonic() > deadline:
                return error.code, {}
        except (ConnectionError, TimeoutError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


# -- convergence -----------------------------------------------------------------------------------


def paged(fetch: Callable[[str], Any], items: str) -> list[Any]:
    out: list[Any] = []
    token = ""
    while True:
        response = fetch(token)
        out.extend(getattr(response, items))
        token = response.page.next_page_token
        if not token:
            return out


# (reporter deliveries, office deliveries) each event causes (aduan_notification.rules), for a
# reporter who left a phone number.
NOTIFYING = {
    "ComplaintFiled": (1, 0),
    "CaseRouted": (1, 1),
    "CaseReassigned": (1, 1),
    "ReporterAnswered": (1, 0),
    "CaseResolved": (1, 0),
    "CaseClosed": (1, 0),
    "StatusRequested": (1, 0),
    "SlaBreached": (0, 1),
    "PingPongFlagged": (0, 1),
}


def projected_positions(query_store_url: str) -> dict[str, int]:
    from sqlalchemy import select

    from aduan_query.readmodels import LIVE, make_engine

    engine = make_engine(query_store_url)
    try:
        with engine.connect() as conn:
            return {r.upstream: int(r.position) for r in conn.execute(select(LIVE.tracking))}
    finally:
        engine.dispose()


def query_store_url(stack: LocalStack) -> str:
    env = stack.service_environment("query")
    return env.get("ADUAN_STORE_URL") or f"sqlite:///{stack.data_dir / 'query.sqlite'}"


class Convergence:
    """After a fault: every service SERVING; every filed complaint in the query service and
    routed; the query service has projected exactly what the write services stored; its read
    models equal a fresh rebuild from the EventLogs; every required notification sent once."""

    def __init__(
        self, stack: LocalStack, provider: StandInProvider, record: LoadRecord, within: float
    ) -> None:
        self.stack = stack
        self.provider = provider
        self.record = record
        self.within = within
        self.callers = Callers(stack)
        self.checked_deliveries = 0

    def check(self) -> str:
        """Run every check (each polls until it holds or fails); returns a summary line."""
        started = time.monotonic()
        try:
            self.stack.wait_serving(timeout=self.within)
            self.all_filed_routed()
            self.projected_equals_stored()
            self.read_models_equal_rebuild()
            self.notifications_sent_once()
            heads = self.heads()
        finally:
            self.callers.close()
        return (
            f"converged in {time.monotonic() - started:.1f} s: {len(self.record.filed)} "
            f"complaints, {self.record.accepted_reassignments} reassignments and "
            f"{self.record.accepted_responses} responses by the load, stored events {heads}, "
            f"{self.checked_deliveries} deliveries sent once ({self.provider.sends} accepted "
            f"by the provider, {len(self.provider.requests)} requests); caller errors "
            f"{dict(self.record.errors)}"
        )

    def all_filed_routed(self) -> None:
        query = self.callers.query()
        pending = set(self.record.filed)

        def probe() -> bool | None:
            views = paged(
                lambda token: query.ListComplaints(
                    query_pb2.ListComplaintsRequest(
                        page=common_pb2.PageRequest(page_size=500, page_token=token)
                    ),
                    timeout=30,
                ),
                "complaints",
            )
            for view in views:
                if view.holding_office.code and view.status != common_pb2.COMPLAINT_STATUS_RECEIVED:
                    pending.discard(view.complaint_id)
            return True if not pending else None

        eventually(
            probe,
            self.within,
            lambda: (
                f"{len(pending)} of {len(self.record.filed)} filed complaints not in the "
                f"query service or not routed (e.g. {sorted(pending)[:3]}); {logs_hint(self.stack)}"
            ),
            poll=0.5,
        )

    def heads(self) -> dict[str, int]:
        return {
            s: int(
                self.callers.eventlog(s).GetHead(eventlog_pb2.GetHeadRequest(), timeout=5).position
            )
            for s in WRITE_SERVICES
        }

    def projected_equals_stored(self) -> None:
        last: dict[str, Any] = {}

        def probe() -> bool | None:
            heads = self.heads()
            projected = projected_positions(query_store_url(self.stack))
            last.update(heads=heads, projected=projected)
            ok = all(projected.get(s, 0) == heads[s] for s in WRITE_SERVICES)
            return True if ok else None

        eventually(
            probe,
            self.within,
            lambda: (
                f"stored events (EventLog heads) {last.get('heads')} vs projected by query "
                f"{last.get('projected')}; {logs_hint(self.stack)}"
            ),
            poll=0.5,
        )

    def read_models_equal_rebuild(self) -> None:
        import asyncio

        from aduan.service.peers import tool_event_log_reader
        from aduan_query.readmodels import make_engine
        from aduan_query.rebuild import verify

        addresses = {s: self.stack.services[s].address for s in WRITE_SERVICES}
        token = self.stack.token("auditor", sub="faults:verify")

        async def run() -> Any:
            reader = tool_event_log_reader(addresses, env={"ADUAN_TOKEN": token})
            engine = make_engine(query_store_url(self.stack))
            try:
                return await verify(engine, reader, WRITE_SERVICES)
            finally:
                await reader.close()
                engine.dispose()

        report = asyncio.run(run())
        assert report.ok, (
            f"read models differ from a fresh rebuild at {report.positions}: "
            + "; ".join(str(d) for d in report.differences[:10])
            + f" ({len(report.differences)} differences); {logs_hint(self.stack)}"
        )

    def expected_deliveries(self, complaint_id: str) -> tuple[Counter[str], int]:
        """Per source event id, the deliveries it requires; and the total."""
        query = self.callers.query()
        entries = paged(
            lambda token: query.GetAuditTrail(
                query_pb2.GetAuditTrailRequest(
                    complaint_id=complaint_id,
                    page=common_pb2.PageRequest(page_size=500, page_token=token),
                ),
                timeout=10,
            ),
            "entries",
        )
        expected: Counter[str] = Counter()
        for entry in entries:
            reporter, office = NOTIFYING.get(entry.event_type, (0, 0))
            if reporter + office:
                expected[entry.event_id] += reporter + office
        return expected, sum(expected.values())

    def deliveries(self, complaint_id: str) -> list[Any]:
        notification = self.callers.notification()
        return paged(
            lambda token: notification.ListDeliveries(
                notification_pb2.ListDeliveriesRequest(
                    complaint_id=complaint_id,
                    page=common_pb2.PageRequest(page_size=500, page_token=token),
                ),
                timeout=10,
            ),
            "deliveries",
        )

    def notifications_sent_once(self) -> None:
        sent = notification_pb2.DELIVERY_STATUS_SENT
        record = self.record
        pending = {
            c: "not checked yet"
            for c in record.filed
            if c in record.dirty or c not in record.verified
        }

        def probe() -> bool | None:
            for complaint_id in sorted(pending):
                expected, total = self.expected_deliveries(complaint_id)
                deliveries = self.deliveries(complaint_id)
                by_event = Counter(d.source_event_id for d in deliveries)
                unsent = [d for d in deliveries if d.status != sent]
                if by_event != expected:
                    pending[complaint_id] = (
                        f"deliveries per event {dict(by_event)} != required {dict(expected)}"
                    )
                    continue
                if unsent:
                    pending[complaint_id] = (
                        f"{len(unsent)} of {total} deliveries not SENT "
                        f"({Counter(notification_pb2.DeliveryStatus.Name(d.status) for d in unsent)})"
                    )
                    continue
                ids = {d.delivery_id for d in deliveries}
                missing = ids - self.provider.accepted.keys()
                if missing:
                    pending[complaint_id] = f"{len(missing)} SENT deliveries the provider never got"
                    continue
                record.verified[complaint_id] = ids
                record.dirty.discard(complaint_id)
                del pending[complaint_id]
            return True if not pending else None

        def what() -> str:
            sample = list(pending.items())[:3]
            return (
                f"{len(pending)} of {len(self.record.filed)} complaints' notifications not all "
                f"sent exactly once, e.g. {sample}; {logs_hint(self.stack)}"
            )

        eventually(probe, self.within, what, poll=1.0)
        sent_ids = set().union(*record.verified.values())
        self.checked_deliveries = len(sent_ids)
        # Exactly once at the provider: every required delivery accepted, and nothing else (no
        # second message for any event, for complaints checked now or earlier).
        accepted = set(self.provider.accepted)
        assert sent_ids <= accepted, f"{len(sent_ids - accepted)} deliveries never reached it"
        extra = accepted - sent_ids
        assert not extra, (
            f"{len(extra)} messages accepted by the provider that no required delivery accounts "
            f"for, e.g. {[self.provider.accepted[k].document for k in sorted(extra)[:2]]}; "
            f"{logs_hint(self.stack)}"
        )
