"""Stand-ins for the outside world, used by the tests (and handy for local experiments):

- `StandInProvider`: an HTTP server playing the WhatsApp Cloud API (`POST /{id}/messages`) and an
  office webhook (`POST /webhook`). It deduplicates on the `Idempotency-Key` header, the way a
  provider with idempotency support does (`dedupe = False` plays the real Cloud API, which does
  not), and counts everything: raw requests, and messages accepted per key (what a citizen would
  receive). It can be told to answer 500, 429 with Retry-After, to stall past the client's
  timeout, or to hold a response while a test kills the sender. Interactive list messages are
  checked against the Cloud API's limits (refused with 400 like the real API) and recorded in
  `lists`.
- `FakeIntake`: an aduan.v1.Intake server answering GetReporterContact from a table, checking
  the caller's bearer token (only `service:notification` may ask) and answering
  FAILED_PRECONDITION for erased reporters.

- `Upstream` and friends: synthesised intake/routing envelopes with dense positions.

Loopback only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc

from aduan.contract.envelopes import timestamp
from aduan.core.errors import UnauthenticatedError
from aduan.service.auth import (
    ServiceIdentity,
    TokenSigner,
    TokenVerifier,
    bearer_interceptors,
    bearer_token,
)
from aduan.v1 import common_pb2, events_pb2, intake_pb2, intake_pb2_grpc
from aduan_notification.application import NotificationApplication
from aduan_notification.channels import (
    LogSender,
    OfficeWebhookSender,
    Sender,
    WebhookConfig,
    WhatsAppConfig,
    WhatsAppSender,
)
from aduan_notification.contacts import IntakeContacts
from aduan_notification.domain import Delivery, DeliveryChannel, RecipientKind, RetryPolicy
from aduan_notification.scheduling import ChannelPolicy
from aduan_notification.worker import DeliveryWorker


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    # Sleep this long before answering (longer than the client's timeout: a time-out).
    stall_seconds: float = 0.0


@dataclass
class ProviderRequest:
    path: str
    key: str
    headers: dict[str, str]
    document: Any


# The Cloud API's limits of an interactive list message.
LIST_LIMITS = {"body": 1024, "button": 20, "section_title": 24, "rows": 10}
ROW_LIMITS = {"id": 200, "title": 24, "description": 72}


def list_problem(document: Any) -> str | None:
    """Why the Cloud API would refuse this interactive list message, or None."""
    interactive = document.get("interactive") if isinstance(document, dict) else None
    if not isinstance(interactive, dict) or interactive.get("type") != "list":
        return "interactive.type must be list"
    body = interactive.get("body", {}).get("text", "")
    if not body or len(body) > LIST_LIMITS["body"]:
        return "body.text missing or too long"
    action = interactive.get("action", {})
    button = action.get("button", "")
    if not button or len(button) > LIST_LIMITS["button"]:
        return "action.button missing or too long"
    sections = action.get("sections", [])
    if not sections:
        return "action.sections missing"
    rows = [row for section in sections for row in section.get("rows", [])]
    if not rows or len(rows) > LIST_LIMITS["rows"]:
        return f"{len(rows)} rows (1 to {LIST_LIMITS['rows']})"
    if len(sections) > 1 and not all(section.get("title") for section in sections):
        return "every section needs a title when there are several"
    for section in sections:
        if len(section.get("title", "")) > LIST_LIMITS["section_title"]:
            return "section title too long"
    ids = [row.get("id", "") for row in rows]
    if len(set(ids)) != len(ids):
        return "row ids must be unique"
    for row in rows:
        for name, limit in ROW_LIMITS.items():
            value = row.get(name, "")
            if len(value) > limit or (name != "description" and not value):
                return f"row {name} missing or too long"
    return None


class StandInProvider:
    def __init__(self, token: str = "stand-in-token", webhook_secret: str = "stand-in-secret"):
        self.token = token
        self.webhook_secret = webhook_secret
        self.requests: list[ProviderRequest] = []
        # First accepted request per key, and how often each key was accepted (dedupe => 1).
        self.accepted: dict[str, ProviderRequest] = {}
        self.accept_counts: Counter[str] = Counter()
        self.message_ids: dict[str, str] = {}
        # Answers given, in order, to the first requests of every new key before it succeeds.
        self.failures_per_key: list[Answer] = []
        self.dedupe = True
        self.delay_seconds = 0.0
        # When set: after accepting the n-th distinct key, hold that response until released.
        self.hold_after: int | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> StandInProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status, headers, answer = provider.handle(self.path, dict(self.headers), body)
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (time-out) or died

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhook"

    # -- counting -------------------------------------------------------------------------------
    @property
    def sends(self) -> int:
        """Distinct messages accepted: what the recipients actually received."""
        with self._lock:
            return len(self.accepted)

    def requests_for(self, key: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.key == key)

    @property
    def lists(self) -> list[ProviderRequest]:
        """The interactive list messages accepted, in order (first acceptance per key)."""
        with self._lock:
            return [
                r
                for r in self.accepted.values()
                if isinstance(r.document, dict) and r.document.get("type") == "interactive"
            ]

    # -- behaviour --------------------------------------------------------------------------------
    def handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            document = json.loads(body or b"null")
        except ValueError:
            return 400, {}, {"error": {"message": "invalid JSON"}}
        key = headers.get("idempotency-key", "")
        request = ProviderRequest(path, key, headers, document)
        with self._lock:
            self.requests.append(request)
            if path == "/webhook":
                if not self._signature_valid(headers, body):
                    return 401, {}, {"error": "bad signature"}
            elif headers.get("authorization") != f"Bearer {self.token}":
                return 401, {}, {"error": {"message": "invalid token"}}
            if isinstance(document, dict) and document.get("type") == "interactive":
                problem = list_problem(document)
                if problem is not None:
                    return 400, {}, {"error": {"code": 131009, "message": problem}}
            if self.dedupe and key and key in self.accepted:
                return 200, {}, self._answer(path, self.message_ids[key])
            seen = self._seen[key]
            self._seen[key] += 1
            scripted = self.failures_per_key[seen] if seen < len(self.failures_per_key) else None
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        if scripted is not None:
            if scripted.stall_seconds:
                time.sleep(scripted.stall_seconds)
            return scripted.status, scripted.headers, {"error": {"code": scripted.status}}
        with self._lock:
            if self.dedupe and key and key in self.accepted:
                return 200, {}, self._answer(path, self.message_ids[key])
            message_id = f"wamid.stand-in.{next(self._ids)}"
            self.accepted.setdefault(key or message_id, request)
            self.accept_counts[key or message_id] += 1
            self.message_ids[key] = message_id
            hold = self.hold_after is not None and len(self.accepted) == self.hold_after
        if hold:
            # Accepted, but the answer does not reach the sender yet: a crash now is the
            # "sent but not recorded" case.
            self.holding.set()
            self.release.wait(30)
        return 200, {}, self._answer(path, message_id)

    def _answer(self, path: str, message_id: str) -> Any:
        if path == "/webhook":
            return {"id": message_id}
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "", "wa_id": ""}],
            "messages": [{"id": message_id}],
        }

    def _signature_valid(self, headers: dict[str, str], body: bytes) -> bool:
        stamp = headers.get("x-aduan-timestamp", "")
        expected = hmac.new(
            self.webhook_secret.encode(), stamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(headers.get("x-aduan-signature", ""), f"sha256={expected}")


FAKE_INTAKE_SECRET = "fake-intake-secret-for-tests-0123456789"


@dataclass
class FakeContact:
    name: str
    phone: str
    email: str
    nik: str
    language: str = "id"
    reporter_id: str = ""


class _FakeIntakeServicer(intake_pb2_grpc.IntakeServicer):
    def __init__(self, owner: FakeIntake) -> None:
        self.owner = owner

    def GetReporterContact(  # noqa: N802 - gRPC method name
        self, request: intake_pb2.GetReporterContactRequest, context: grpc.ServicerContext
    ) -> intake_pb2.GetReporterContactResponse:
        try:
            caller = self.owner.verifier.verify(bearer_token(context.invocation_metadata())).sub
        except UnauthenticatedError as error:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(error))
            raise AssertionError("abort raises") from None
        with self.owner.lock:
            self.owner.calls.append((request.complaint_id, request.purpose, caller))
            self.owner.reveal_purposes.append(request.reveal_purpose)
        if caller not in self.owner.allowed_callers:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"caller {caller!r} not allowed")
        if request.complaint_id in self.owner.erased:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "reporter erased")
        contact = self.owner.contacts.get(request.complaint_id) or self.owner.default
        if contact is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such complaint")
            raise AssertionError("abort raises")
        return intake_pb2.GetReporterContactResponse(
            reporter_id=contact.reporter_id,
            name=contact.name,
            phone=contact.phone,
            email=contact.email,
            nik=contact.nik,
            language=contact.language,
        )


class FakeIntake:
    def __init__(self, default: FakeContact | None = None) -> None:
        self.default = default
        self.contacts: dict[str, FakeContact] = {}
        self.erased: set[str] = set()
        self.allowed_callers = {"service:notification"}
        self.verifier = TokenVerifier(secret=FAKE_INTAKE_SECRET)
        self.calls: list[tuple[str, str, str]] = []
        # The RevealPurpose of each call, in the order of `calls`.
        self.reveal_purposes: list[int] = []
        self.lock = threading.Lock()
        self.port = 0
        self._server: grpc.Server | None = None

    def start(self) -> FakeIntake:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        intake_pb2_grpc.add_IntakeServicer_to_server(_FakeIntakeServicer(self), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(0)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextmanager
def running(*servers: StandInProvider | FakeIntake) -> Iterator[None]:
    for server in servers:
        server.start()
    try:
        yield
    finally:
        for server in servers:
            server.stop()


# -- synthesised upstream events ------------------------------------------------------------

CANARY = FakeContact(
    name="Canary Kenari Sentinel",
    phone="+6281299990001",
    email="canary.kenari@example.id",
    nik="3273011502900001",
    language="id",
    reporter_id="rep-canary",
)
ALL_LIVE = ChannelPolicy(
    live=True,
    configured=frozenset(
        {DeliveryChannel.WHATSAPP, DeliveryChannel.EMAIL, DeliveryChannel.OFFICE_WEBHOOK}
    ),
)
FAST_RETRIES = RetryPolicy(max_attempts=6, base_seconds=0.02, cap_seconds=0.2)


def office(code: str, name: str = "") -> common_pb2.OfficeRef:
    return common_pb2.OfficeRef(code=code, name=name or f"Kantor {code}")


@dataclass
class Upstream:
    """Synthesises the envelopes of one upstream service with dense positions."""

    service: str
    position: int = 0
    sent: list[events_pb2.Envelope] = field(default_factory=list)

    def envelope(self, complaint_id: str, **payload: Any) -> events_pb2.Envelope:
        (kind, message), *_ = payload.items()
        previous = self.position
        self.position += 1
        envelope = events_pb2.Envelope(
            event_id=f"{self.service}:{self.position}",
            event_type=type(message).DESCRIPTOR.name,
            complaint_id=complaint_id,
            service=self.service,
            position=self.position,
            occurred_at=timestamp(datetime.now(UTC)),
            actor=common_pb2.Actor(
                id=f"service:{self.service}", kind=common_pb2.ACTOR_KIND_SERVICE
            ),
            correlation_id=uuid.uuid4().hex,
            aggregate_id=complaint_id,
            aggregate_version=1,
            previous_position=previous,
        )
        getattr(envelope, kind).CopyFrom(message)
        self.sent.append(envelope)
        return envelope


def filed(
    ticket: str,
    *,
    channel: Any = common_pb2.CHANNEL_WHATSAPP,
    masked: str = "+62812****0001",
    anonymous: bool = False,
    language: str = "id",
    reporter_id: str = "rep-1",
) -> events_pb2.ComplaintFiled:
    return events_pb2.ComplaintFiled(
        ticket_number=ticket,
        channel=channel,
        reporter_id="" if anonymous else reporter_id,
        masked_contact="" if anonymous else masked,
        anonymous=anonymous,
        category=common_pb2.CATEGORY_LAND_SERVICE,
        subject="Sertifikat hilang",
        description="Sertifikat tanah saya hilang saat banjir.",
        language=language,
    )


def story(
    intake: Upstream, routing: Upstream, complaint_id: str, ticket: str
) -> list[events_pb2.Envelope]:
    """Every notifying event for one complaint, in a plausible order."""
    return [
        intake.envelope(complaint_id, complaint_filed=filed(ticket)),
        routing.envelope(
            complaint_id,
            case_routed=events_pb2.CaseRouted(to_office=office("KANTAH.32.73"), rule_id="r1"),
        ),
        routing.envelope(
            complaint_id,
            case_reassigned=events_pb2.CaseReassigned(
                kind=common_pb2.REASSIGNMENT_KIND_ESCALATE,
                from_office=office("KANTAH.32.73"),
                to_office=office("KANWIL.32"),
                reason_code=common_pb2.REASON_CODE_WIDE_IMPACT,
            ),
        ),
        routing.envelope(
            complaint_id,
            reporter_answered=events_pb2.ReporterAnswered(
                office=office("KANWIL.32"), text="Mohon datang ke loket 3.", first_response=True
            ),
        ),
        intake.envelope(
            complaint_id,
            status_requested=events_pb2.StatusRequested(channel=common_pb2.CHANNEL_WHATSAPP),
        ),
        routing.envelope(
            complaint_id,
            sla_breached=events_pb2.SlaBreached(
                sla=common_pb2.SLA_KIND_FIRST_RESPONSE,
                office=office("KANWIL.32"),
                escalated_to=office("PUSAT.IP3"),
            ),
        ),
        routing.envelope(
            complaint_id,
            ping_pong_flagged=events_pb2.PingPongFlagged(
                reassignment_count=4,
                returned_to=office("KANTAH.32.73"),
                supervising_office=office("KANWIL.32"),
            ),
        ),
        routing.envelope(
            complaint_id,
            case_resolved=events_pb2.CaseResolved(office=office("KANWIL.32"), summary="Selesai."),
        ),
        routing.envelope(complaint_id, case_closed=events_pb2.CaseClosed(automatic=True)),
    ]


# (template, recipient kind) of every delivery `story` causes.
STORY_DELIVERIES = [
    ("complaint_filed", "REPORTER"),
    ("case_assigned", "REPORTER"),
    ("office_case_assigned", "OFFICE"),
    ("case_assigned", "REPORTER"),
    ("office_case_escalated", "OFFICE"),
    ("officer_response", "REPORTER"),
    ("status_reply", "REPORTER"),
    ("office_sla_breached", "OFFICE"),
    ("office_ping_pong", "OFFICE"),
    ("case_resolved", "REPORTER"),
    ("case_closed", "REPORTER"),
]


def loop_story(
    intake: Upstream, routing: Upstream, complaint_id: str, ticket: str
) -> list[events_pb2.Envelope]:
    """A WhatsApp complaint intake had to ask about, then the citizen's loop: follow-ups before
    and after placement, a reply after resolution (routing reopens), a rating, the close."""
    whatsapp = common_pb2.CHANNEL_WHATSAPP

    def message(text: str) -> events_pb2.ReporterMessageAdded:
        return events_pb2.ReporterMessageAdded(message_id=text, channel=whatsapp, text=text)

    return [
        intake.envelope(complaint_id, complaint_filed=filed(ticket)),
        intake.envelope(
            complaint_id,
            details_requested=events_pb2.DetailsRequested(
                question=events_pb2.DETAIL_QUESTION_PROVINCE, page=1
            ),
        ),
        intake.envelope(
            complaint_id,
            complaint_located=events_pb2.ComplaintLocated(
                location=common_pb2.Location(province_code="32"),
                source=events_pb2.DETAIL_SOURCE_REPORTER_ANSWER,
                details_pending=True,
            ),
        ),
        intake.envelope(
            complaint_id,
            details_requested=events_pb2.DetailsRequested(
                question=events_pb2.DETAIL_QUESTION_REGENCY, province_code="32", page=1
            ),
        ),
        intake.envelope(complaint_id, reporter_message_added=message("Kota Bandung")),
        intake.envelope(
            complaint_id,
            complaint_located=events_pb2.ComplaintLocated(
                location=common_pb2.Location(province_code="32", regency_code="32.73"),
                source=events_pb2.DETAIL_SOURCE_REPORTER_ANSWER,
                details_pending=True,
            ),
        ),
        intake.envelope(
            complaint_id,
            details_requested=events_pb2.DetailsRequested(
                question=events_pb2.DETAIL_QUESTION_CATEGORY, page=1
            ),
        ),
        intake.envelope(
            complaint_id,
            complaint_classified=events_pb2.ComplaintClassified(
                category=common_pb2.CATEGORY_LAND_SERVICE,
                source=events_pb2.DETAIL_SOURCE_REPORTER_ANSWER,
            ),
        ),
        routing.envelope(
            complaint_id,
            case_routed=events_pb2.CaseRouted(to_office=office("KANTAH.32.73"), rule_id="r1"),
        ),
        intake.envelope(complaint_id, reporter_message_added=message("Ada kabar?")),
        routing.envelope(
            complaint_id,
            case_resolved=events_pb2.CaseResolved(
                office=office("KANTAH.32.73"), summary="Selesai."
            ),
        ),
        intake.envelope(complaint_id, reporter_message_added=message("Belum selesai.")),
        routing.envelope(
            complaint_id,
            case_reopened=events_pb2.CaseReopened(
                reason="the reporter replied after resolution", by_reporter=True
            ),
        ),
        routing.envelope(
            complaint_id,
            case_resolved=events_pb2.CaseResolved(office=office("KANTAH.32.73"), summary="Beres."),
        ),
        intake.envelope(complaint_id, resolution_rated=events_pb2.ResolutionRated(rating=5)),
        routing.envelope(complaint_id, case_closed=events_pb2.CaseClosed(automatic=True)),
    ]


# (template, recipient kind) of every delivery `loop_story` causes.
LOOP_DELIVERIES = [
    ("complaint_filed", "REPORTER"),
    ("ask_location", "REPORTER"),
    ("ask_regency", "REPORTER"),
    ("follow_up_received", "REPORTER"),  # no office holds it yet: the acknowledgement only
    ("ask_category", "REPORTER"),
    ("case_assigned", "REPORTER"),
    ("office_case_assigned", "OFFICE"),
    ("follow_up_received", "REPORTER"),
    ("office_follow_up", "OFFICE"),
    ("case_resolved", "REPORTER"),
    # The reply after resolution: nothing until routing's CaseReopened.
    ("case_reopened", "REPORTER"),
    ("office_case_reopened", "OFFICE"),
    ("case_resolved", "REPORTER"),
    ("rating_received", "REPORTER"),
    ("case_closed", "REPORTER"),
]


def scheduled_delivery(
    channel: DeliveryChannel = DeliveryChannel.WHATSAPP,
    *,
    source: str = "intake:7",
    complaint_id: str = "c-1",
    due_at: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    variables: dict[str, str] | None = None,
) -> Delivery:
    """A delivery of the filing confirmation to reporter rep-1, scheduled from `source`."""
    return Delivery.schedule(
        complaint_id=complaint_id,
        meta={},
        recipient_kind=RecipientKind.REPORTER,
        recipient="rep-1",
        recipient_masked="+62812****0001",
        channel=channel,
        template="complaint_filed",
        language="id",
        source_event_id=source,
        source_event_type="ComplaintFiled",
        variables=variables or {},
        due_at=due_at,
    )


def memory_app(**kwargs: Any) -> NotificationApplication:
    return NotificationApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, **kwargs)


def sqlite_app(path: Path, **kwargs: Any) -> NotificationApplication:
    return NotificationApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}, **kwargs
    )


# -- running the sender against the stand-ins ------------------------------------------------


def senders(provider: StandInProvider) -> dict[DeliveryChannel, Sender]:
    return {
        DeliveryChannel.WHATSAPP: WhatsAppSender(
            WhatsAppConfig(provider.base_url, provider.token, "1234567890"), timeout_seconds=2
        ),
        DeliveryChannel.OFFICE_WEBHOOK: OfficeWebhookSender(
            WebhookConfig(provider.webhook_url, provider.webhook_secret), timeout_seconds=2
        ),
        DeliveryChannel.LOG: LogSender(),
    }


def stand_in_worker(
    app: NotificationApplication, provider: StandInProvider, intake: FakeIntake
) -> DeliveryWorker:
    return DeliveryWorker(
        app, senders(provider), fake_intake_contacts(intake), concurrency=4, poll_seconds=0.05
    )


def fake_intake_contacts(intake: FakeIntake, service: str = "notification") -> IntakeContacts:
    """The production contact client, carrying `service`'s token as its composition root's
    `service_channel` would."""
    identity = ServiceIdentity(TokenSigner.hs256(FAKE_INTAKE_SECRET), service)
    return IntakeContacts(
        intake.address,
        channel_factory=lambda address: grpc.aio.insecure_channel(
            address, interceptors=bearer_interceptors(identity.token)
        ),
    )


async def run_worker_until(
    worker: DeliveryWorker, done: Callable[[], bool], within: float = 15.0
) -> None:
    task = asyncio.create_task(worker.run())
    deadline = time.monotonic() + within
    try:
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)
        await worker.contacts.close()
        for sender in worker.senders.values():
            await sender.close()


def store_bytes(store: Path) -> bytes:
    """The database file and its journals (-wal, -shm), as bytes."""
    return b"".join(p.read_bytes() for p in store.parent.iterdir() if p.name.startswith(store.name))
