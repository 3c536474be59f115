"""One conversation, one thread, whatever replica answers (issue 16, item 2).

Two real intake processes (`python -m aduan_intake`) share one PostgreSQL database, as two pods
of a Deployment do. Twenty citizens each send three WhatsApp messages in a row; the ingress
spreads the deliveries over both replicas, all at once, through the signed webhook. Each citizen
must end up with exactly one complaint holding their three messages: whether a message files a
new complaint or follows one up is decided one sender at a time across the replicas (docs/intake.md,
"One sender, one thread"), not only within a process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from cloudapi import payload, text
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aduan.eventstore.store import store_env
from aduan_devtools.natsserver import EmbeddedNats, free_port
from aduan_devtools.stack import LocalStack
from aduan_intake.application import IntakeApplication
from aduan_intake.webhook import signature_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

APP_SECRET = "e2e-replicas-secret"
REPLICAS = 2
SENDERS = 20
MESSAGES_PER_SENDER = 3
SENDERS_AT_ONCE = 4
START_SECONDS = 60.0


@dataclass
class Replica:
    name: str
    grpc_port: int
    webhook_port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    def serving(self) -> bool:
        with grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}") as channel:
            try:
                response = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1.0
                )
            except grpc.RpcError:
                return False
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def replicas(
    tmp_path: Path, postgres_url: str, nats_server: EmbeddedNats
) -> Iterator[list[Replica]]:
    """Two intake processes on one fresh PostgreSQL database, each with its own gRPC, metrics
    and webhook port, started at the same instant (the schema lock lets them)."""
    if os.environ.get("ADUAN_E2E_TARGET", "local") != "local":
        pytest.skip("starts intake processes locally")
    # The environment a LocalStack gives intake, with the shared store.
    stack = LocalStack.on_free_ports(
        tmp_path / "var", nats_url=nats_server.url, env={"ADUAN_STORE_URL": postgres_url}
    )
    started: list[Replica] = []
    try:
        for index in range(REPLICAS):
            name = f"intake-{index}"
            data_dir = tmp_path / name
            (data_dir / "logs").mkdir(parents=True)
            grpc_port, webhook_port = free_port(), free_port()
            env = stack.service_environment("intake")
            env.update(
                {
                    "ADUAN_GRPC_PORT": str(grpc_port),
                    "ADUAN_METRICS_PORT": str(free_port()),
                    "ADUAN_WEBHOOK_PORT": str(webhook_port),
                    "ADUAN_DATA_DIR": str(data_dir),
                    "ADUAN_WHATSAPP_APP_SECRET": APP_SECRET,
                    "ADUAN_WHATSAPP_VERIFY_TOKEN": "e2e-verify",
                }
            )
            log_path = data_dir / "logs" / "intake.log"
            with open(log_path, "ab") as log_file:
                process = subprocess.Popen(
                    [sys.executable, "-m", "aduan_intake"],
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append(Replica(name, grpc_port, webhook_port, log_path, process))
        deadline = time.monotonic() + START_SECONDS
        for replica in started:
            while not replica.serving():
                if replica.process.poll() is not None:
                    raise RuntimeError(f"{replica.name} exited:\n{replica.log_path.read_text()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{replica.name} not SERVING after {START_SECONDS} s")
                time.sleep(0.2)
        yield started
    finally:
        for replica in started:
            replica.stop()


def deliver(replica: Replica, body: dict[str, Any]) -> dict[str, Any]:
    """One webhook delivery as Meta makes it (signed JSON over HTTP), retried on a 500 as the
    gateway retries (a retry is harmless: one message, one effect)."""
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature_for(raw, APP_SECRET),
    }
    url = f"http://127.0.0.1:{replica.webhook_port}/webhook/whatsapp"
    for _ in range(5):
        response = httpx.post(url, content=raw, headers=headers, timeout=60)
        if response.status_code != 500:
            break
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    return dict(result)


def test_a_burst_from_each_sender_spread_over_two_replicas_is_one_complaint(
    replicas: list[Replica], postgres_url: str
) -> None:
    senders = [f"6281377{index:06d}" for index in range(SENDERS)]
    deliveries: list[tuple[Replica, str, dict[str, Any]]] = []
    sent: dict[str, set[str]] = {sender: set() for sender in senders}
    for s, sender in enumerate(senders):
        for m in range(MESSAGES_PER_SENDER):
            message = text(
                f"Sertifikat tanah saya belum terbit, pesan ke-{m + 1} dari {sender}.",
                sender=sender,
            )
            sent[sender].add(message["id"])
            # The ingress spreads a sender's messages over both replicas.
            deliveries.append(
                (replicas[(s + m) % REPLICAS], sender, payload(message, sender=sender))
            )

    def burst(sender: str) -> list[tuple[str, dict[str, Any]]]:
        """The sender's three messages, delivered at the same instant to both replicas."""
        mine = [d for d in deliveries if d[1] == sender]
        start = threading.Barrier(len(mine))

        def send(delivery: tuple[Replica, str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
            replica, _, body = delivery
            start.wait()
            return sender, deliver(replica, body)

        with ThreadPoolExecutor(len(mine)) as pool:
            return list(pool.map(send, mine))

    # Senders overlap, a few at a time: each replica handles a handful of messages at once
    # (its worker threads), so more would only queue them and spread each burst out in time.
    with ThreadPoolExecutor(SENDERS_AT_ONCE) as pool:
        outcomes = [outcome for results in pool.map(burst, senders) for outcome in results]

    by_sender: dict[str, list[dict[str, Any]]] = {sender: [] for sender in senders}
    for sender, outcome in outcomes:
        by_sender[sender].append(outcome)
    split = {
        sender: sorted({o["complaint_id"] for o in results})
        for sender, results in by_sender.items()
        if len({o["complaint_id"] for o in results}) != 1
    }
    assert not split, f"{len(split)} of {SENDERS} senders got more than one complaint: {split}"
    for sender, results in by_sender.items():
        actions = sorted(o["action"] for o in results)
        assert actions == ["filed", "follow_up", "follow_up"], (sender, results)

    # What the shared store holds: exactly one complaint per sender, holding their messages.
    app = IntakeApplication(env=store_env(postgres_url, "intake"))
    try:
        filed = [
            n for n in app.read_notifications(0, 10_000) if n.topic.endswith("Complaint.Filed")
        ]
        assert len(filed) == SENDERS
        for sender in senders:
            [complaint] = app.open_complaints_for_phone(f"+{sender}")
            assert {complaint.idempotency_key, *complaint.messages} == sent[sender]
    finally:
        app.close()
