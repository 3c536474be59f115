"""SIGKILL the notification process in the middle of a batch and restart it: every reporter still
gets exactly one message (counted at the stand-in WhatsApp provider), none twice, none missing,
and the canary contact that intake hands out never lands in notification's store or logs.

The process is `python -m aduan_notification` against a real nats-server, a fake intake
(GetReporterContact) and the stand-in provider. The kill comes while the provider holds the
answer to a message it has already accepted: the "sent but not recorded" case. After the restart
that delivery is still ATTEMPTING and, once the (here short) confirmation grace period has passed
without a status report, is sent again with the same idempotency key, which the stand-in
recognises (as a provider with idempotency keys would).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import nats
import pytest

from aduan.contract.envelopes import subject_for
from aduan.messaging.jetstream import ensure_stream
from aduan.service.auth import DevTokens, with_bearer
from aduan.v1 import events_pb2, notification_pb2, notification_pb2_grpc
from aduan_devtools.natsserver import EmbeddedNats, free_port
from aduan_devtools.testing.notification import (
    CANARY,
    FAKE_INTAKE_SECRET,
    FakeIntake,
    StandInProvider,
    Upstream,
    filed,
)

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

BATCH = 20
HOLD_AT = 5


def wait_until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


async def publish(url: str, envelopes: list[events_pb2.Envelope]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js)
    for envelope in envelopes:
        await js.publish(
            subject_for(envelope.service, envelope.event_type),
            envelope.SerializeToString(),
            headers={"Nats-Msg-Id": envelope.event_id},
        )
    await nc.close()


@pytest.fixture
def stand_ins() -> Iterator[tuple[StandInProvider, FakeIntake]]:
    provider = StandInProvider().start()
    intake = FakeIntake(default=CANARY).start()
    try:
        yield provider, intake
    finally:
        provider.stop()
        intake.stop()


def start(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "aduan_notification"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def list_deliveries(address: str, complaint_id: str) -> list[notification_pb2.Delivery]:
    # The notification process signs its calls to the fake intake with the same secret.
    token = DevTokens(FAKE_INTAKE_SECRET).issue("auditor")
    with with_bearer(grpc.insecure_channel(address), token) as channel:
        stub = notification_pb2_grpc.NotificationStub(channel)
        try:
            response = stub.ListDeliveries(
                notification_pb2.ListDeliveriesRequest(complaint_id=complaint_id), timeout=2
            )
        except grpc.RpcError:
            return []
    return list(response.deliveries)


def test_sigkill_mid_batch_then_restart_sends_each_message_exactly_once(
    nats_server: EmbeddedNats, tmp_path: Path, stand_ins: tuple[StandInProvider, FakeIntake]
) -> None:
    provider, intake = stand_ins
    provider.delay_seconds = 0.05
    provider.hold_after = HOLD_AT
    upstream = Upstream("intake")
    complaints = [f"c-{n:02d}" for n in range(BATCH)]
    envelopes = [
        upstream.envelope(c, complaint_filed=filed(f"ADU-2026-K{n:05d}"))
        for n, c in enumerate(complaints)
    ]
    asyncio.run(publish(nats_server.url, envelopes))

    port = free_port()
    address = f"127.0.0.1:{port}"
    store = tmp_path / "data" / "notification.sqlite"
    log_path = tmp_path / "notification.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")},
        "ADUAN_GRPC_PORT": str(port),
        "ADUAN_NATS_URL": nats_server.url,
        "ADUAN_STORE_URL": f"sqlite:///{store}",
        "ADUAN_DATA_DIR": str(tmp_path / "data"),
        "ADUAN_INTAKE_ADDR": intake.address,
        "ADUAN_JWT_SECRET": FAKE_INTAKE_SECRET,
        "ADUAN_ROUTING_ADDR": f"127.0.0.1:{free_port()}",
        "ADUAN_LOG_LEVEL": "DEBUG",
        "ADUAN_NOTIFY_CHANNEL_MODE": "live",
        "ADUAN_WHATSAPP_BASE_URL": provider.base_url,
        "ADUAN_WHATSAPP_TOKEN": provider.token,
        "ADUAN_WHATSAPP_PHONE_NUMBER_ID": "1234567890",
        "ADUAN_DELIVERY_CONCURRENCY": "2",
        "ADUAN_DELIVERY_BACKOFF_BASE_SECONDS": "0.05",
        "ADUAN_DELIVERY_POLL_SECONDS": "0.1",
        # The stand-in deduplicates and sends no status reports: the in-doubt send is repeated
        # after a short confirmation grace (tests/faults/test_whatsapp_takeover.py: the Cloud API).
        "ADUAN_WHATSAPP_CONFIRM_GRACE_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    process = start(env, log_path)
    try:
        # The provider has accepted message HOLD_AT and holds its answer: kill the sender now.
        wait_until(provider.holding.is_set, 20, "the held send")
        wait_until(
            lambda: all(list_deliveries(address, c) for c in complaints),
            20,
            "every delivery scheduled",
        )
        held_key = list(provider.accepted)[HOLD_AT - 1]
        sends_at_kill = provider.sends
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        provider.hold_after = None
        provider.release.set()
        assert sends_at_kill < BATCH, "the kill came after the batch was done"

        process = start(env, log_path)
        wait_until(lambda: provider.sends == BATCH, 60, f"{BATCH} sends (have {provider.sends})")

        def all_sent() -> bool:
            return all(
                [d.status for d in list_deliveries(address, c)]
                == [notification_pb2.DELIVERY_STATUS_SENT]
                for c in complaints
            )

        wait_until(all_sent, 30, "every delivery recorded as SENT")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()

    # No duplicates, none missing: one accepted message per complaint's reporter.
    assert provider.sends == BATCH
    assert set(provider.accept_counts.values()) == {1}
    recipients = [r.document["to"] for r in provider.accepted.values()]
    assert recipients == [CANARY.phone.lstrip("+")] * BATCH
    # The interrupted send went out again after the restart, with the same key.
    assert provider.requests_for(held_key) == 2
    assert {c for c, _, _ in intake.calls} == set(complaints)

    stored = b"".join(
        p.read_bytes() for p in store.parent.iterdir() if p.name.startswith(store.name)
    )
    logged = log_path.read_text()
    assert "delivery sent" in logged
    for canary in (CANARY.name, CANARY.phone, CANARY.phone.lstrip("+"), CANARY.email, CANARY.nik):
        assert canary.encode() not in stored, canary
        assert canary not in logged, canary
