"""One sender, one thread: a burst of a sender's WhatsApp messages lands on one complaint,
within one process (SQLite: the process's lock) and across intake applications that share a
PostgreSQL database (the sender's advisory lock; skipped unless ADUAN_TEST_POSTGRES_URL is set).
The end-to-end version with two intake processes is tests/e2e/test_whatsapp_replicas.py."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cloudapi import payload, text

from aduan.eventstore.store import store_env
from aduan_intake.application import IntakeApplication
from aduan_intake.inbound import InboundMessage, WhatsAppInbound
from aduan_intake.senderlock import PostgresSenderLocks, SenderLocks
from aduan_intake.webhook import PATH, WebhookSettings, build_web_app, signature_for

SETTINGS = WebhookSettings(verify_token="verify-me", app_secret="s3cret")
SENDERS = 20
MESSAGES_PER_SENDER = 3
# How long another sender's lock may take to be granted before it counts as waiting.
ACQUIRE_BOUND_SECONDS = 10.0


def senders() -> list[str]:
    return [f"6281355{index:06d}" for index in range(SENDERS)]


def body(sender: str, m: int) -> str:
    return f"Sertifikat tanah saya belum terbit, pesan ke-{m + 1} dari {sender}."


def assert_one_complaint_each(app: IntakeApplication, sent: dict[str, set[str]]) -> None:
    """Exactly one complaint per sender, holding that sender's messages (filing + follow-ups)."""
    filed = [
        n
        for n in app.read_notifications(0, 100_000)
        if type(app.decode(n)).__qualname__ == "Complaint.Filed"
    ]
    assert len(filed) == len(sent)
    for sender, message_ids in sent.items():
        [complaint] = app.open_complaints_for_phone(f"+{sender}")
        assert {complaint.idempotency_key, *complaint.messages} == message_ids


# -- one process (SQLite): the process's lock ------------------------------------------------


@pytest.fixture
async def client(sqlite_app: IntakeApplication) -> Any:
    async with TestClient(TestServer(build_web_app(WhatsAppInbound(sqlite_app), SETTINGS))) as c:
        yield c


async def test_bursts_of_many_senders_at_once_thread_onto_one_complaint_each_on_sqlite(
    client: TestClient[Any, Any], sqlite_app: IntakeApplication
) -> None:
    assert type(sqlite_app.sender_locks) is SenderLocks  # the process's lock alone
    sent: dict[str, set[str]] = {}
    deliveries = []
    for sender in senders():
        for m in range(MESSAGES_PER_SENDER):
            message = text(body(sender, m), sender=sender)
            sent.setdefault(sender, set()).add(message["id"])
            deliveries.append(payload(message, sender=sender))

    async def deliver(content: dict[str, Any]) -> dict[str, Any]:
        raw = json.dumps(content).encode()
        response = await client.post(
            PATH,
            data=raw,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": signature_for(raw, SETTINGS.app_secret),
            },
        )
        assert response.status == 200, await response.text()
        [result] = (await response.json())["results"]
        return dict(result)

    outcomes = await asyncio.gather(*(deliver(d) for d in deliveries))
    assert sorted(o["action"] for o in outcomes).count("filed") == SENDERS
    assert_one_complaint_each(sqlite_app, sent)


def test_the_process_lock_holds_one_sender_and_lets_others_pass() -> None:
    locks = SenderLocks()
    one, other = "ab" * 32, "cd" * 32
    entered = threading.Event()
    with locks.hold(one):
        waiter = threading.Thread(target=lambda: _enter(locks, one, entered))
        waiter.start()
        assert not entered.wait(0.3)  # the same sender waits
        assert _acquires(locks, other)  # another sender does not
    assert entered.wait(5)
    waiter.join()


def _acquires(locks: Any, digest: str) -> bool:
    """Whether another thread takes `digest`'s lock while this one goes on holding its own. A
    lock that waited would wait until released, so a generous bound tells the two apart without
    timing how fast the lock is (a loaded machine is slow, not wrong)."""
    entered = threading.Event()
    taker = threading.Thread(target=lambda: _enter(locks, digest, entered), daemon=True)
    taker.start()
    taken = entered.wait(ACQUIRE_BOUND_SECONDS)
    taker.join(ACQUIRE_BOUND_SECONDS)
    return taken


def _enter(locks: Any, digest: str, entered: threading.Event) -> None:
    with locks.hold(digest):
        entered.set()


# -- replicas on one PostgreSQL database: the sender's advisory lock --------------------------


@pytest.fixture
def pg_apps(postgres_url: str) -> Iterator[list[IntakeApplication]]:
    """Two intake applications on one database, as two replicas are: each has its own process
    lock, so only the database serialises a sender between them."""
    apps = [IntakeApplication(env=store_env(postgres_url, "intake")) for _ in range(2)]
    yield apps
    for app in apps:
        app.close()


@pytest.mark.integration
@pytest.mark.postgres
def test_bursts_spread_over_two_applications_on_postgres_thread_onto_one_complaint_each(
    pg_apps: list[IntakeApplication],
) -> None:
    assert all(isinstance(app.sender_locks, PostgresSenderLocks) for app in pg_apps)
    inbounds = [WhatsAppInbound(app) for app in pg_apps]
    sent: dict[str, set[str]] = {}
    work: list[tuple[WhatsAppInbound, InboundMessage]] = []
    for s, sender in enumerate(senders()):
        for m in range(MESSAGES_PER_SENDER):
            message = InboundMessage(f"wamid.{uuid.uuid4().hex}", sender, "text", body(sender, m))
            sent.setdefault(sender, set()).add(message.message_id)
            work.append((inbounds[(s + m) % 2], message))
    start = threading.Barrier(len(work))

    def handle(item: tuple[WhatsAppInbound, InboundMessage]) -> str:
        inbound, message = item
        start.wait()
        return inbound.handle(message).action

    with ThreadPoolExecutor(len(work)) as pool:
        actions = list(pool.map(handle, work))
    assert actions.count("filed") == SENDERS
    assert_one_complaint_each(pg_apps[0], sent)


@pytest.mark.integration
@pytest.mark.postgres
def test_the_advisory_lock_holds_one_sender_across_applications_and_lets_others_pass(
    pg_apps: list[IntakeApplication],
) -> None:
    first, second = (app.sender_locks for app in pg_apps)
    one, other = "ab" * 32, "cd" * 32
    entered = threading.Event()
    with first.hold(one):
        waiter = threading.Thread(target=lambda: _enter(second, one, entered))
        waiter.start()
        assert not entered.wait(0.5)  # the other replica waits for the same sender
        assert _acquires(second, other)  # but not for another sender
    assert entered.wait(5)  # released with the guard transaction
    waiter.join()

    # A handler that fails releases the lock too (the guard transaction rolls back).
    with pytest.raises(RuntimeError), first.hold(one):
        raise RuntimeError("the store failed")
    assert _acquires(second, one)
