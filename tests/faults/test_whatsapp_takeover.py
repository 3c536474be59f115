"""No duplicate citizen message after a takeover (issue 16, item 3).

Two notification replicas share one PostgreSQL database; the one holding the leader lock sends.
The stand-in WhatsApp Cloud API (tests/cloudapi.py), which like the real one does not deduplicate,
accepts a message to the citizen and holds its HTTP answer: the leader is SIGKILLed right then,
after the provider accepted the message and before the delivery was recorded as sent. The other
replica takes the lead and finds the delivery ATTEMPTING: in doubt.

- With status webhooks (`sent`, `delivered`, carrying `biz_opaque_callback_data`, signed like
  Meta's, posted to intake's webhook, which forwards them to notification): the new leader does
  not send it again; the report records it as sent, and the delivery ends DELIVERED. The reports
  are held back until the new leader has led for a while, so that a sender repeating at once
  (as before this change) is caught.
- Without status webhooks: the new leader waits the confirmation grace period
  (ADUAN_WHATSAPP_CONFIRM_GRACE_SECONDS), then sends the message once more.

Intake forwards the reports to the surviving replica (in a cluster, the Service routes to a live
one). Needs ADUAN_TEST_POSTGRES_URL (skipped otherwise).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
import httpx
import pytest
from cloudapi import CloudApiStandIn, payload, signed, text
from polling import eventually

from aduan.core.settings import ALL_SERVICES
from aduan.service.auth import with_bearer
from aduan.v1 import events_pb2, notification_pb2, notification_pb2_grpc
from aduan_devtools.natsserver import free_port
from aduan_devtools.stack import LocalStack

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.postgres]

APP_SECRET = "takeover-app-secret"
CITIZEN = "6281299990001"
# How long the new leader leads before the status reports are let through: a sender that
# repeats in-doubt sends at once does so well within it (it polls every 0.2 s).
LEADING_BEFORE_REPORTS = 4.0
T = TypeVar("T")


def leads(log: Path) -> bool:
    """The replica logging to `log` took the leader lock (aduan.eventstore.leader)."""
    return log.exists() and "became leader" in log.read_text(errors="replace")


@dataclass
class Takeover:
    stack: LocalStack
    cloud: CloudApiStandIn
    follower: subprocess.Popen[bytes]
    follower_address: str
    follower_log: Path

    def deliveries(self, complaint_id: str) -> list[notification_pb2.Delivery]:
        token = self.stack.token("auditor", sub="takeover:auditor")
        with with_bearer(grpc.insecure_channel(self.follower_address), token) as channel:
            stub = notification_pb2_grpc.NotificationStub(channel)
            response = stub.ListDeliveries(
                notification_pb2.ListDeliveriesRequest(complaint_id=complaint_id),
                timeout=5,
            )
        return list(response.deliveries)

    def file_complaint(self) -> str:
        """The citizen writes by WhatsApp; returns the complaint id intake answers with."""
        raw = json.dumps(
            payload(
                text("sertifikat tanah saya di Kota Bandung belum selesai", sender=CITIZEN),
                sender=CITIZEN,
            )
        ).encode()
        response = httpx.post(
            f"http://127.0.0.1:{self.stack.webhook_port}/webhook/whatsapp",
            content=raw,
            headers=signed(raw, APP_SECRET),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]
        return str(result["complaint_id"])

    def kill_leader_in_the_send_window(self) -> dict[str, Any]:
        """The first message to the citizen is accepted and its answer held; the leader dies
        now. Returns that message as the provider recorded it."""
        self.cloud.hold_next_response()
        complaint_id = self.file_complaint()
        assert self.cloud.holding.wait(30), "no message reached the stand-in Cloud API"
        self.stack.kill_service("notification")  # SIGKILL
        held = {**self.cloud.messages[0], "complaint_id": complaint_id}
        eventually(lambda: leads(self.follower_log), 20, "the follower to take the lead")
        return held


def start_follower(stack: LocalStack, grpc_port: int, log: Path) -> subprocess.Popen[bytes]:
    env = stack.service_environment("notification")
    env["ADUAN_GRPC_PORT"] = str(grpc_port)
    env["ADUAN_METRICS_PORT"] = str(free_port())
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "aduan_notification"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.fixture
def takeover(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> Iterator[Takeover]:
    grace, with_statuses = request.param
    cloud = CloudApiStandIn().start()
    follower_port = free_port()
    service_env: dict[str, dict[str, str]] = {name: {} for name in ALL_SERVICES}
    service_env["intake"] = {
        "ADUAN_WHATSAPP_APP_SECRET": APP_SECRET,
        "ADUAN_WHATSAPP_VERIFY_TOKEN": "takeover-verify",
        # Status reports go to the replica that survives (a Service would route to it).
        "ADUAN_NOTIFICATION_ADDR": f"127.0.0.1:{follower_port}",
    }
    service_env["notification"] = {
        "ADUAN_STORE_URL": postgres_url,
        "ADUAN_NOTIFY_CHANNEL_MODE": "live",
        "ADUAN_WHATSAPP_BASE_URL": cloud.base_url,
        "ADUAN_WHATSAPP_TOKEN": cloud.token,
        "ADUAN_WHATSAPP_PHONE_NUMBER_ID": "1",
        "ADUAN_WHATSAPP_CONFIRM_GRACE_SECONDS": str(grace),
        "ADUAN_DELIVERY_POLL_SECONDS": "0.2",
    }
    stack = LocalStack.on_free_ports(tmp_path / "var", service_env=service_env)
    if with_statuses:
        cloud.report_statuses(
            f"http://127.0.0.1:{stack.webhook_port}/webhook/whatsapp",
            APP_SECRET,
            ("sent", "delivered"),
        )
        cloud.hold_statuses()
    follower: subprocess.Popen[bytes] | None = None
    try:
        stack.start(timeout=120)
        leader_log = stack.services["notification"].log_path
        eventually(lambda: leads(leader_log), 20, "the first replica to lead")
        follower_log = stack.data_dir / "logs" / "notification-follower.log"
        follower_address = f"127.0.0.1:{follower_port}"
        follower = start_follower(stack, follower_port, follower_log)
        started = follower
        eventually(lambda: _serving(follower_address, started), 60, "the follower serving")
        assert not leads(follower_log)
        yield Takeover(stack, cloud, follower, follower_address, follower_log)
    finally:
        cloud.release_statuses()
        cloud.release_response()
        if follower is not None and follower.poll() is None:
            follower.send_signal(signal.SIGTERM)
            try:
                follower.wait(20)
            except subprocess.TimeoutExpired:
                follower.kill()
        stack.stop()
        cloud.stop()


def _serving(address: str, process: subprocess.Popen[bytes]) -> bool:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    if process.poll() is not None:
        raise AssertionError("the follower replica exited")
    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


def logs(takeover: Takeover) -> str:
    return f"logs in {takeover.stack.data_dir / 'logs'}"


@pytest.mark.parametrize("takeover", [(30.0, True)], indirect=True, ids=["status-webhooks"])
def test_a_message_confirmed_by_its_status_webhook_is_not_sent_again(takeover: Takeover) -> None:
    cloud = takeover.cloud
    held = takeover.kill_leader_in_the_send_window()
    delivery_id = held["biz_opaque_callback_data"]
    assert delivery_id, "the send carried no biz_opaque_callback_data"

    time.sleep(LEADING_BEFORE_REPORTS)  # the new leader has had every chance to repeat it
    assert len(cloud.for_delivery(delivery_id)) == 1, (
        f"the new leader sent the in-doubt message again before its status came; {logs(takeover)}"
    )
    cloud.release_statuses()

    def confirmed() -> notification_pb2.Delivery | None:
        found = {d.delivery_id: d for d in takeover.deliveries(held["complaint_id"])}
        delivery = found.get(delivery_id)
        if delivery is None or delivery.status != notification_pb2.DELIVERY_STATUS_DELIVERED:
            return None
        return delivery

    delivery = eventually(confirmed, 30, f"the delivery DELIVERED; {logs(takeover)}")
    assert delivery.attempts == 1
    assert delivery.provider_message_id == held["wamid"]

    # Everything else the citizen was told also went out (case_assigned after routing), each
    # confirmed by its own report; the office's messages go to the log channel here.
    def all_done() -> list[notification_pb2.Delivery] | None:
        deliveries = takeover.deliveries(held["complaint_id"])
        whatsapp = [d for d in deliveries if d.channel == events_pb2.DELIVERY_CHANNEL_WHATSAPP]
        others = [d for d in deliveries if d not in whatsapp]
        done = len(whatsapp) >= 2 and all(
            d.status == notification_pb2.DELIVERY_STATUS_DELIVERED for d in whatsapp
        )
        done = done and all(d.status == notification_pb2.DELIVERY_STATUS_SENT for d in others)
        return deliveries if done else None

    eventually(all_done, 60, f"every delivery sent and confirmed; {logs(takeover)}")
    time.sleep(1.0)
    per_delivery: dict[str, int] = {}
    for message in cloud.sent_to(CITIZEN):
        key = message["biz_opaque_callback_data"]
        per_delivery[key] = per_delivery.get(key, 0) + 1
    assert per_delivery
    assert all(count == 1 for count in per_delivery.values()), per_delivery
    assert takeover.follower.poll() is None


GRACE = 8.0


@pytest.mark.parametrize("takeover", [(GRACE, False)], indirect=True, ids=["no-status-webhooks"])
def test_an_unconfirmed_message_is_sent_once_more_after_the_grace_period(
    takeover: Takeover,
) -> None:
    cloud = takeover.cloud
    held = takeover.kill_leader_in_the_send_window()
    delivery_id = held["biz_opaque_callback_data"]

    time.sleep(LEADING_BEFORE_REPORTS)
    assert len(cloud.for_delivery(delivery_id)) == 1, (
        f"the new leader did not wait the grace period; {logs(takeover)}"
    )

    def sent() -> notification_pb2.Delivery | None:
        found = {d.delivery_id: d for d in takeover.deliveries(held["complaint_id"])}
        delivery = found.get(delivery_id)
        if delivery is None or delivery.status != notification_pb2.DELIVERY_STATUS_SENT:
            return None
        return delivery

    delivery = eventually(sent, GRACE + 30, f"the repeat after the grace; {logs(takeover)}")
    assert delivery.attempts == 2
    first, again = cloud.for_delivery(delivery_id)
    waited = again["accepted_at"] - first["accepted_at"]
    # The grace counts from the attempt, recorded just before the first send.
    assert waited >= GRACE - 1.0, f"repeated after {waited:.1f} s, before the grace period"
    time.sleep(1.0)
    assert len(cloud.for_delivery(delivery_id)) == 2
    assert takeover.follower.poll() is None
