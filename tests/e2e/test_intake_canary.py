"""Intake end to end (the local process stack, as `make up` runs it): the canary reporter files
through gRPC and the WhatsApp webhook, typing their NIK and phone number into the description and
a follow-up as citizens do, and after everything has flowed through NATS to the other services,
the plaintext appears in no stream message, in no file of the stack (every service's store, WAL,
DEBUG log and span file, and the NATS store) and in no export (`aduan audit export` and `aduan
audit bundle`). Only the audited reveals return it. Then EraseReporter: the reveal is refused and
the audit trail still lists every event.

Reusable by the cross-service canary: `e2e.canary` (CANARY, find_canary, scan_tree).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from e2e.callers import notification_metadata, operator_channel, operator_token
from e2e.canary import CANARY, find_canary, scan_tree, stream_messages
from polling import eventually

from aduan.core.settings import ALL_SERVICES, WRITE_SERVICES
from aduan.v1 import (
    common_pb2,
    events_pb2,
    intake_pb2,
    intake_pb2_grpc,
    notification_pb2,
    notification_pb2_grpc,
    query_pb2,
    query_pb2_grpc,
)
from aduan_devtools.natsserver import free_port
from aduan_devtools.stack import LocalStack
from aduan_query import cli

APP_SECRET = "e2e-app-secret"
# The canary's NIK and phone number as a citizen types them into free text.
DESCRIPTION = (
    "Sertipikat hak milik saya belum terbit setelah dua tahun menunggu. "
    f"NIK saya {CANARY.nik}, hubungi {CANARY.phone}."
)
FOLLOW_UP = f"Ini foto patoknya. KTP saya {CANARY.nik}, WA saya {CANARY.phone}."
T = TypeVar("T")


@pytest.fixture(scope="module")
def intake_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, int]]:
    webhook_port = free_port()
    data_dir = tmp_path_factory.mktemp("intake-e2e") / "var"
    # Every service writes its spans inside the data dir (searched like every other file) and
    # logs at DEBUG, so that a datum slipping into a span attribute or a debug line is caught.
    service_env: dict[str, dict[str, str]] = {
        name: {
            "ADUAN_TRACES_FILE": str(data_dir / "traces" / f"{name}.jsonl"),
            "ADUAN_LOG_LEVEL": "DEBUG",
        }
        for name in ALL_SERVICES
    }
    service_env["intake"].update(
        {
            "ADUAN_WEBHOOK_PORT": str(webhook_port),
            "ADUAN_WHATSAPP_APP_SECRET": APP_SECRET,
            "ADUAN_WHATSAPP_VERIFY_TOKEN": "e2e-verify",
        }
    )
    stack = LocalStack.on_free_ports(data_dir, service_env=service_env)
    with stack:
        yield stack, webhook_port


def post_whatsapp(port: int, message_id: str, body: str) -> dict[str, Any]:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "contacts": [
                                {"profile": {"name": CANARY.name}, "wa_id": CANARY.whatsapp_id}
                            ],
                            "messages": [
                                {
                                    "from": CANARY.whatsapp_id,
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
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhook/whatsapp",
        data=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )
    deadline = time.monotonic() + 15
    while True:  # the webhook listener comes up with the service
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return dict(json.loads(response.read()))
        except (ConnectionError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def audit_types(query: query_pb2_grpc.QueryStub, complaint_id: str, position: int) -> list[str]:
    trail = query.GetAuditTrail(
        query_pb2.GetAuditTrailRequest(
            complaint_id=complaint_id,
            consistency=query_pb2.Consistency(
                min_positions=[common_pb2.EventPosition(service="intake", position=position)]
            ),
        ),
        timeout=15,
    )
    return [entry.event_type for entry in trail.entries if entry.service == "intake"]


def all_event_types(query: query_pb2_grpc.QueryStub, complaint_id: str) -> list[str]:
    trail = query.GetAuditTrail(
        query_pb2.GetAuditTrailRequest(complaint_id=complaint_id), timeout=10
    )
    return [entry.event_type for entry in trail.entries]


SETTLED = {
    notification_pb2.DELIVERY_STATUS_SENT,
    notification_pb2.DELIVERY_STATUS_SKIPPED,
    notification_pb2.DELIVERY_STATUS_GAVE_UP,
}


def deliveries_settled(
    notification: notification_pb2_grpc.NotificationStub, complaint_id: str
) -> bool | None:
    """True once the complaint's deliveries (filing and assignment at least) have all settled and
    some were sent."""
    deliveries = notification.ListDeliveries(
        notification_pb2.ListDeliveriesRequest(complaint_id=complaint_id), timeout=10
    ).deliveries
    templates = {d.template for d in deliveries}
    sent = any(d.status == notification_pb2.DELIVERY_STATUS_SENT for d in deliveries)
    if len(templates) >= 2 and sent and all(d.status in SETTLED for d in deliveries):
        return True
    return None


async def test_the_canary_appears_nowhere_in_the_stack(
    intake_stack: tuple[LocalStack, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, webhook_port = intake_stack
    with (
        operator_channel(stack, stack.services["intake"].address) as intake_channel,
        operator_channel(stack, stack.services["query"].address) as query_channel,
    ):
        intake = intake_pb2_grpc.IntakeStub(intake_channel)
        query = query_pb2_grpc.QueryStub(query_channel)
        filed = intake.FileComplaint(
            intake_pb2.FileComplaintRequest(
                idempotency_key=f"canary-{uuid.uuid4()}",
                channel=common_pb2.CHANNEL_WEB,
                reporter=intake_pb2.Reporter(
                    name=CANARY.name, phone=CANARY.phone, email=CANARY.email, nik=CANARY.nik
                ),
                location=common_pb2.Location(province_code="32", regency_code="32.73"),
                description=DESCRIPTION,
            ),
            timeout=10,
        )
        follow_up = post_whatsapp(webhook_port, f"wamid.{uuid.uuid4().hex}", FOLLOW_UP)
        assert follow_up["results"][0]["action"] == "follow_up"
        status = post_whatsapp(
            webhook_port, f"wamid.{uuid.uuid4().hex}", f"STATUS {filed.ticket_number}"
        )
        assert status["results"][0]["action"] == "status_requested"
        revealed = intake.GetReporterContact(
            intake_pb2.GetReporterContactRequest(
                complaint_id=filed.ticket_number,
                purpose="e2e",
                # A purpose that returns the NIK, so that the canary covers it too (asked by
                # an administrator: the notification service never gets the NIK).
                reveal_purpose=common_pb2.REVEAL_PURPOSE_LEGAL_PROCESS,
            ),
            metadata=(("authorization", f"Bearer {stack.token('admin', sub='admin:e2e')}"),),
            timeout=10,
        )
        assert revealed.nik == CANARY.nik
        # The words as written, sealed in intake, open to their own reveal (for a purpose that
        # may see the NIK), so that the canary covers that reply and its trace too.
        text = intake.RevealComplaintText(
            intake_pb2.RevealComplaintTextRequest(
                complaint_id=filed.ticket_number,
                purpose="e2e",
                reveal_purpose=common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION,
            ),
            metadata=(("authorization", f"Bearer {stack.token('admin', sub='admin:e2e')}"),),
            timeout=10,
        )
        assert text.description == DESCRIPTION
        assert [m.text for m in text.messages] == [FOLLOW_UP]

        types = audit_types(query, filed.complaint_id, text.position.position)
        assert types == [
            "ComplaintFiled",
            "ReporterMessageAdded",
            "StatusRequested",
            "ContactRevealed",
            "TextRevealed",
        ]
        # The read model holds the redacted copy, which says what was masked.
        view = query.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=filed.complaint_id), timeout=10
        ).complaint
        assert "[NIK]" in view.description
        assert "[nomor telepon]" in view.description

        # Let routing place the case and notification send its messages (it fetches the
        # plaintext contact from intake at send time), so that their stores, logs and the stream
        # hold everything this complaint will ever cause before they are searched.
        eventually(lambda: "CaseRouted" in all_event_types(query, filed.complaint_id) or None)
        with operator_channel(
            stack, stack.services["notification"].address
        ) as notification_channel:
            notification = notification_pb2_grpc.NotificationStub(notification_channel)
            eventually(lambda: deliveries_settled(notification, filed.complaint_id), 30)

    messages = await stream_messages(stack.resolved_nats_url)
    intake_envelopes = [
        e for e in map(events_pb2.Envelope.FromString, messages) if e.service == "intake"
    ]
    assert len(intake_envelopes) >= 5
    assert [find_canary(m) for m in messages if find_canary(m)] == []
    # The auditors' exports are written inside the data dir, so the scan below covers them;
    # the bundle is a zip file, so its members are searched as well.
    monkeypatch.setenv("ADUAN_TOKEN", stack.token("auditor", sub="auditor:e2e"))
    exports = await asyncio.to_thread(write_exports, stack)
    assert bundle_leaks(exports / "bundle.zip") == {}
    exported = (exports / "audit.jsonl").read_text()
    assert '"TextRevealed"' in exported
    assert '"ReporterMessageAdded"' in exported
    # Every file of the stack: the four stores (and their WAL files), every log, every service's
    # spans, the NATS store.
    for name in ALL_SERVICES:
        log = stack.services[name].log_path
        assert log.is_relative_to(stack.data_dir)
        assert log.stat().st_size > 0, f"no log from {name}"
        spans = stack.data_dir / "traces" / f"{name}.jsonl"
        assert spans.is_file(), f"no spans from {name}"
        assert spans.stat().st_size > 0, f"no spans from {name}"
    intake_spans = (stack.data_dir / "traces" / "intake.jsonl").read_text()
    # The reveals themselves were traced, and searched.
    assert "GetReporterContact" in intake_spans
    assert "RevealComplaintText" in intake_spans
    assert scan_tree(stack.data_dir) == {}
    # Nor does any bearer token (the JWT header every token of the stack starts with): a logged
    # token would let its reader act as its holder.
    jwt_header = operator_token(stack).split(".")[0].encode()
    holding = [
        str(path)
        for path in stack.data_dir.rglob("*")
        if path.is_file() and (jwt_header in path.read_bytes() or b"Bearer " in path.read_bytes())
    ]
    assert holding == []


def write_exports(stack: LocalStack) -> Path:
    """`aduan audit export` (query's read models, through the Query API) and `aduan audit bundle`
    (the EventLogs), both as an auditor, written into the stack's data dir; returns their directory."""
    exports = stack.data_dir / "exports"
    exports.mkdir(exist_ok=True)
    query = f"--query={stack.services['query'].address}"
    exported = cli.main(["export", query, "--output", str(exports / "audit.jsonl")])
    assert exported == 0
    eventlogs = [f"--eventlog={s}={stack.services[s].address}" for s in WRITE_SERVICES]
    bundled = cli.main(["bundle", "--output", str(exports / "bundle.zip"), *eventlogs])
    assert bundled == 0
    return exports


def bundle_leaks(path: Path) -> dict[str, list[str]]:
    """{member (or member:position): canary fields} for the bundle's members, each event's
    stored state decoded from its base64 as well (a compressed or encoded copy would hide
    from a scan of the file)."""
    leaks = {}
    with zipfile.ZipFile(path) as bundle:
        names = bundle.namelist()
        assert {f"events/{service}.jsonl" for service in WRITE_SERVICES} <= set(names), names
        for name in names:
            data = bundle.read(name)
            if find_canary(data):
                leaks[name] = find_canary(data)
            if not name.startswith("events/"):
                continue
            for line in data.splitlines():
                event = json.loads(line)
                found = find_canary(base64.b64decode(event["state"]))
                if found:
                    leaks[f"{name}:{event['position']}"] = found
    return leaks


def test_erasure_end_to_end(intake_stack: tuple[LocalStack, int]) -> None:
    stack, _ = intake_stack
    with (
        operator_channel(stack, stack.services["intake"].address) as intake_channel,
        operator_channel(stack, stack.services["query"].address) as query_channel,
    ):
        intake = intake_pb2_grpc.IntakeStub(intake_channel)
        query = query_pb2_grpc.QueryStub(query_channel)
        filed = intake.FileComplaint(
            intake_pb2.FileComplaintRequest(
                idempotency_key=f"erase-{uuid.uuid4()}",
                channel=common_pb2.CHANNEL_PHONE_DESK,
                reporter=intake_pb2.Reporter(name=CANARY.name, phone=CANARY.phone),
                description="Pengaduan melalui telepon tentang pengukuran ulang tanah.",
            ),
            timeout=10,
        )
        contact = intake.GetReporterContact(
            intake_pb2.GetReporterContactRequest(complaint_id=filed.complaint_id, purpose="e2e"),
            metadata=notification_metadata(stack),
            timeout=10,
        )
        erased = intake.EraseReporter(
            intake_pb2.EraseReporterRequest(reporter_id=contact.reporter_id, reason="Permintaan"),
            timeout=10,
        )
        with pytest.raises(grpc.RpcError) as raised:
            intake.GetReporterContact(
                intake_pb2.GetReporterContactRequest(complaint_id=filed.complaint_id, purpose="x"),
                metadata=notification_metadata(stack),
                timeout=10,
            )
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert audit_types(query, filed.complaint_id, erased.position.position) == [
            "ComplaintFiled",
            "ContactRevealed",
            "ReporterErased",
        ]
        found = query.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=filed.ticket_number), timeout=10
        )
        assert found.complaint.complaint_id == filed.complaint_id
    assert isinstance(stack.data_dir, Path)
