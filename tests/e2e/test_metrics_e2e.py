"""A service's Prometheus endpoint parses, and the relay's lag rises while NATS is stopped and
falls back to zero after it returns."""

from __future__ import annotations

import time
import urllib.request
import uuid

from e2e.callers import operator_channel
from prometheus_client.parser import text_string_to_metric_families

from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc
from aduan_devtools.stack import LocalStack


def scrape(stack: LocalStack, service: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    url = f"http://127.0.0.1:{stack.metrics_ports[service]}/metrics"
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return samples


def relay_lag(stack: LocalStack) -> float:
    return max(value for _, value in scrape(stack, "intake")["aduan_relay_lag"])


def wait_for(condition: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_metrics_parse_and_relay_lag_follows_nats(fresh_stack: LocalStack) -> None:
    assert fresh_stack.nats is not None
    with operator_channel(fresh_stack, fresh_stack.services["intake"].address) as channel:
        intake = intake_pb2_grpc.IntakeStub(channel)

        def file(n: int) -> None:
            intake.FileComplaint(
                intake_pb2.FileComplaintRequest(
                    idempotency_key=f"metrics-{n}-{uuid.uuid4().hex[:6]}",
                    channel=common_pb2.CHANNEL_API,
                    reporter=intake_pb2.Reporter(anonymous=True),
                    description="Loket pelayanan tutup tanpa pemberitahuan.",
                ),
                timeout=10,
            )

        file(0)
        wait_for(lambda: relay_lag(fresh_stack) == 0, 15, "relay never caught up")
        samples = scrape(fresh_stack, "intake")
        rpc_counts = {
            labels["method"]: value for labels, value in samples["aduan_rpc_duration_seconds_count"]
        }
        assert rpc_counts["/aduan.v1.Intake/FileComplaint"] >= 1
        published = {
            labels["event_type"]: value for labels, value in samples["aduan_events_published_total"]
        }
        assert published["ComplaintFiled"] >= 1
        for service in ("routing", "notification", "query"):
            assert "aduan_consumer_lag" in scrape(fresh_stack, service)

        fresh_stack.nats.kill()
        for n in range(1, 6):
            file(n)
        wait_for(lambda: relay_lag(fresh_stack) >= 5, 15, "lag did not rise while NATS was down")
        fresh_stack.nats.start()
        wait_for(lambda: relay_lag(fresh_stack) == 0, 60, "lag did not return to zero")
