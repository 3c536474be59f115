"""One trace id links the FileComplaint call, the relay's publish, routing's consumption and
assignment, and notification's send — across the services running as processes."""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.callers import operator_channel

from aduan.core.settings import ALL_SERVICES
from aduan.v1 import (
    common_pb2,
    intake_pb2,
    intake_pb2_grpc,
    notification_pb2,
    notification_pb2_grpc,
)
from aduan_devtools.stack import LocalStack

pytestmark = pytest.mark.skipif(
    os.environ.get("ADUAN_E2E_TARGET", "local") != "local", reason="reads the services' span files"
)


@pytest.fixture
def traced_stack(tmp_path: Path) -> Iterator[tuple[LocalStack, Path]]:
    traces = tmp_path / "traces"
    service_env = {
        name: {"ADUAN_TRACES_FILE": str(traces / f"{name}.jsonl")} for name in ALL_SERVICES
    }
    with LocalStack.on_free_ports(tmp_path / "var", service_env=service_env) as stack:
        yield stack, traces


def spans_of(traces: Path, trace_id: str) -> list[dict[str, str]]:
    found = []
    for path in traces.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            span = json.loads(line)
            if span["trace_id"] == trace_id:
                found.append(span)
    return found


def test_one_trace_from_filing_to_the_citizen_reply(traced_stack: tuple[LocalStack, Path]) -> None:
    stack, traces = traced_stack
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    with operator_channel(stack, stack.services["intake"].address) as channel:
        filed = intake_pb2_grpc.IntakeStub(channel).FileComplaint(
            intake_pb2.FileComplaintRequest(
                idempotency_key=f"trace-{uuid.uuid4()}",
                channel=common_pb2.CHANNEL_API,
                reporter=intake_pb2.Reporter(name="Rina", phone="081311112222"),
                location=common_pb2.Location(province_code="32", regency_code="32.73"),
                subject="Sertifikat hilang",
                description="Sertifikat tanah saya hilang dan saya butuh penggantinya.",
            ),
            metadata=[("traceparent", traceparent)],
            timeout=10,
        )

    wanted = {
        ("intake", "/aduan.v1.Intake/FileComplaint"),
        ("intake", "publish aduan.intake.complaint_filed"),
        ("routing", "process ComplaintFiled"),
        ("routing", "publish aduan.routing.case_routed"),
        ("notification", "process ComplaintFiled"),
    }
    deadline = time.monotonic() + 30
    while True:
        spans = spans_of(traces, trace_id)
        names = {(s["service"], s["name"]) for s in spans}
        sent = [
            s for s in spans if s["service"] == "notification" and s["name"].startswith("send ")
        ]
        if wanted <= names and sent:
            break
        assert time.monotonic() < deadline, (
            f"missing {wanted - names} (send spans: {len(sent)}); seen {sorted(names)}"
        )
        time.sleep(0.2)

    with operator_channel(stack, stack.services["notification"].address) as channel:
        deliveries = notification_pb2_grpc.NotificationStub(channel).ListDeliveries(
            notification_pb2.ListDeliveriesRequest(complaint_id=filed.complaint_id), timeout=10
        )
    assert any(d.status == notification_pb2.DELIVERY_STATUS_SENT for d in deliveries.deliveries)
    # Each hop is a child of the one before it: the trace is one tree, not loose spans.
    by_id = {s["span_id"]: s for s in spans}
    routed = next(s for s in spans if s["name"] == "publish aduan.routing.case_routed")
    chain = []
    node: dict[str, str] | None = routed
    while node is not None:
        chain.append(node["name"])
        node = by_id.get(node["parent_id"])
    assert chain == [
        "publish aduan.routing.case_routed",
        "process ComplaintFiled",
        "publish aduan.intake.complaint_filed",
        "/aduan.v1.Intake/FileComplaint",
    ], chain
