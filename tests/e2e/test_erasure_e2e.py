"""Erasure end to end (gRPC and the audit CLI, then the stack's files): the canary reporter types
their NIK and phone number into the description and a follow-up; after EraseReporter, intake
refuses to reveal the identity and the words as written (their data key is gone from its store,
so the sealed copies in its events open for nobody), notification skips the reporter's message
as ERASED and query shows the contact as erased and the free text blanked; the canary appears in
no file of the stack and no stream message; and every service's hash chain and signed
checkpoints still verify, because erasure destroys only the reporter's key in intake's side
table, never an event of the log."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import grpc
import pytest
from e2e.callers import notification_metadata, operator_channel
from e2e.canary import CANARY, find_canary, scan_tree, stream_messages
from polling import eventually

from aduan.core.settings import WRITE_SERVICES
from aduan.service.peers import AuthenticatedEventLogReader
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
from aduan_devtools.stack import LocalStack
from aduan_devtools.testing.notification import StandInProvider
from aduan_query import cli

T = TypeVar("T")

# The canary's NIK and phone number as a citizen types them into free text.
DESCRIPTION = (
    f"Ada dua sertifikat untuk bidang tanah yang sama. NIK saya {CANARY.nik}, "
    f"hubungi {CANARY.phone}."
)
FOLLOW_UP = f"Mohon kabari ke nomor {CANARY.phone}; KTP {CANARY.nik} sudah saya kirim."


def data_key_rows(store: Path, reporter_id: str) -> int:
    """How many data keys intake's SQLite store holds for `reporter_id` (read-only)."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT count(*) FROM intake_data_keys WHERE reporter_id = ?", (reporter_id,)
        ).fetchone()
    return int(row[0])


async def sealed_up_to(addresses: dict[str, str], token: str) -> dict[str, tuple[int, int]]:
    """Per service: (head, highest position sealed by a checkpoint)."""
    reader = AuthenticatedEventLogReader(addresses, lambda: token)
    try:
        seals = {}
        for service in WRITE_SERVICES:
            sealed, head = 0, 0
            async for envelope in reader.read(service):
                head = envelope.position
                if envelope.WhichOneof("payload") == "checkpoint_sealed":
                    sealed = envelope.checkpoint_sealed.to_position
            seals[service] = (head, sealed)
        return seals
    finally:
        await reader.close()


@pytest.fixture
def provider() -> Iterator[StandInProvider]:
    """A loopback WhatsApp stand-in: WhatsApp deliveries need the reporter's phone from intake."""
    running = StandInProvider().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sealing_stack(tmp_path: Path, provider: StandInProvider) -> Iterator[LocalStack]:
    """Checkpoints every second; notification sends WhatsApp to the stand-in."""
    notification_env = {
        "ADUAN_NOTIFY_CHANNEL_MODE": "live",
        "ADUAN_WHATSAPP_BASE_URL": provider.base_url,
        "ADUAN_WHATSAPP_TOKEN": provider.token,
        "ADUAN_WHATSAPP_PHONE_NUMBER_ID": "1234567890",
    }
    with LocalStack.on_free_ports(
        tmp_path / "var",
        env={"ADUAN_CHECKPOINT_SECONDS": "1"},
        service_env={"notification": notification_env},
    ) as running:
        yield running


def test_erased_identity_is_gone_everywhere_and_history_still_verifies(
    sealing_stack: LocalStack,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    addresses = {name: service.address for name, service in sealing_stack.services.items()}
    channels = {
        name: operator_channel(sealing_stack, address) for name, address in addresses.items()
    }
    notification_caller = notification_metadata(sealing_stack)
    auditor = sealing_stack.token("auditor", sub="auditor:e2e")
    try:
        intake = intake_pb2_grpc.IntakeStub(channels["intake"])
        query = query_pb2_grpc.QueryStub(channels["query"])
        notification = notification_pb2_grpc.NotificationStub(channels["notification"])
        filed = intake.FileComplaint(
            intake_pb2.FileComplaintRequest(
                idempotency_key=f"e2e-erase-{uuid.uuid4()}",
                channel=common_pb2.CHANNEL_WEB,
                reporter=intake_pb2.Reporter(
                    name=CANARY.name, phone=CANARY.phone, email=CANARY.email, nik=CANARY.nik
                ),
                location=common_pb2.Location(province_code="32", regency_code="32.73"),
                subject="Sertifikat ganda",
                description=DESCRIPTION,
            ),
            timeout=10,
        )
        intake.AddReporterMessage(
            intake_pb2.AddReporterMessageRequest(
                complaint_id=filed.complaint_id,
                idempotency_key=f"e2e-erase-follow-up-{uuid.uuid4()}",
                channel=common_pb2.CHANNEL_WEB,
                text=FOLLOW_UP,
            ),
            timeout=10,
        )
        revealed = intake.GetReporterContact(
            intake_pb2.GetReporterContactRequest(
                complaint_id=filed.complaint_id, purpose="confirm receipt"
            ),
            metadata=notification_caller,
            timeout=10,
        )
        assert revealed.phone == CANARY.phone_e164
        # Until the erasure the words as written open to a reveal that may see the NIK.
        text_reveal = intake_pb2.RevealComplaintTextRequest(
            complaint_id=filed.complaint_id,
            purpose="verifikasi lapangan",
            reveal_purpose=common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION,
        )
        admin = (("authorization", f"Bearer {sealing_stack.token('admin', sub='admin:e2e')}"),)
        text = intake.RevealComplaintText(text_reveal, metadata=admin, timeout=10)
        assert (text.description, [m.text for m in text.messages]) == (DESCRIPTION, [FOLLOW_UP])
        intake_store = sealing_stack.data_dir / "intake.sqlite"
        assert data_key_rows(intake_store, revealed.reporter_id) == 1

        erased = intake.EraseReporter(
            intake_pb2.EraseReporterRequest(
                reporter_id=revealed.reporter_id, reason="Permintaan pelapor (UU PDP)"
            ),
            timeout=10,
        )

        # intake: the identity can no longer be revealed, to anyone.
        with pytest.raises(grpc.RpcError) as refused:
            intake.GetReporterContact(
                intake_pb2.GetReporterContactRequest(
                    complaint_id=filed.complaint_id, purpose="status reply"
                ),
                metadata=notification_caller,
                timeout=10,
            )
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        # Nor the words as written: their data key is gone from intake's store, so the sealed
        # copies its events still hold open for nobody.
        with pytest.raises(grpc.RpcError) as refused:
            intake.RevealComplaintText(text_reveal, metadata=admin, timeout=10)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert data_key_rows(intake_store, revealed.reporter_id) == 0

        # query: the view says so, at (at least) the erasure's position, and holds no free text.
        view = query.GetComplaint(
            query_pb2.GetComplaintRequest(
                complaint_id=filed.ticket_number,
                consistency=query_pb2.Consistency(min_positions=[erased.position]),
            ),
            timeout=10,
        ).complaint
        assert view.masked_contact == "[erased]"
        assert view.reporter_erased
        assert (view.subject, view.description) == ("", "")

        # notification: a status reply requested after the erasure is skipped, never sent.
        intake.RequestStatus(
            intake_pb2.RequestStatusRequest(
                complaint_id=filed.complaint_id,
                channel=common_pb2.CHANNEL_WEB,
                idempotency_key=f"e2e-erase-status-{uuid.uuid4()}",
            ),
            timeout=10,
        )

        def skipped_reply() -> notification_pb2.Delivery | None:
            deliveries = notification.ListDeliveries(
                notification_pb2.ListDeliveriesRequest(complaint_id=filed.complaint_id),
                timeout=5,
            ).deliveries
            return next(
                (
                    d
                    for d in deliveries
                    if d.template == "status_reply" and d.skip_reason == "ERASED"
                ),
                None,
            )

        seen: list[str] = []

        def skipped_reply_noted() -> notification_pb2.Delivery | None:
            found = skipped_reply()
            seen[:] = [
                f"{d.template}:{d.status}:{d.skip_reason}:{d.last_error}"
                for d in notification.ListDeliveries(
                    notification_pb2.ListDeliveriesRequest(complaint_id=filed.complaint_id),
                    timeout=5,
                ).deliveries
            ]
            return found

        try:
            reply = eventually(skipped_reply_noted, 60, "the status reply to be skipped as ERASED")
        except AssertionError as error:
            raise AssertionError(f"{error}; deliveries: {seen}") from None
        assert not reply.provider_message_id
        assert reply.channel == events_pb2.DELIVERY_CHANNEL_WHATSAPP

        # Every service's log is sealed past the erasure, and everything verifies.
        def all_sealed() -> dict[str, tuple[int, int]] | None:
            seals = asyncio.run(sealed_up_to(addresses, auditor))
            done = seals["intake"][1] >= erased.position.position and all(
                sealed > 0 for _, sealed in seals.values()
            )
            return seals if done else None

        eventually(all_sealed, 30, "a checkpoint in every write service after the erasure")
        eventlogs = [f"--eventlog={s}={addresses[s]}" for s in WRITE_SERVICES]
        # The EventLogs answer only authenticated callers: verify reads them as an auditor.
        monkeypatch.setenv("ADUAN_TOKEN", auditor)
        status = cli.main(["verify", "--history", *eventlogs])
        out = capsys.readouterr().out
        assert status == 0, out
        assert "OK: every chain and checkpoint verifies" in out
        for service in WRITE_SERVICES:
            assert f"history of {service}: " in out
        assert "TAMPERED" not in out
    finally:
        for channel in channels.values():
            channel.close()
    # The canary appears nowhere: no store (intake's holds only ciphertext under a destroyed
    # key), log or NATS file of the stack, and no stream message.
    assert scan_tree(sealing_stack.data_dir) == {}
    messages = asyncio.run(stream_messages(sealing_stack.resolved_nats_url))
    assert messages
    assert [find_canary(m) for m in messages if find_canary(m)] == []
