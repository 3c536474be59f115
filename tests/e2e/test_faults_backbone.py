"""Faults the backbone must survive without losing or duplicating a complaint.

- NATS is SIGKILLed while complaints are being filed: filing keeps succeeding, and after NATS
  restarts every complaint reaches the query service exactly once.
- intake is SIGKILLed after its store committed and before the relay published: after restart
  nothing is lost.
"""

from __future__ import annotations

import time
import uuid

import grpc
import pytest
from e2e.callers import operator_channel

from aduan.stack import LocalStack
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc, query_pb2, query_pb2_grpc

pytestmark = pytest.mark.faults


def file_complaint(stub: intake_pb2_grpc.IntakeStub, n: int) -> intake_pb2.FileComplaintResponse:
    response: intake_pb2.FileComplaintResponse = stub.FileComplaint(
        intake_pb2.FileComplaintRequest(
            idempotency_key=f"fault-{n}-{uuid.uuid4().hex[:6]}",
            channel=common_pb2.CHANNEL_API,
            reporter=intake_pb2.Reporter(anonymous=True),
            description=f"Keluhan nomor {n} selama gangguan jaringan.",
        ),
        timeout=10,
    )
    return response


def wait_all_projected_once(
    stack: LocalStack, filed: list[intake_pb2.FileComplaintResponse], timeout: float
) -> None:
    with operator_channel(stack, stack.services["query"].address) as channel:
        query = query_pb2_grpc.QueryStub(channel)
        deadline = time.monotonic() + timeout
        missing = {f.complaint_id for f in filed}
        while missing:
            for complaint_id in sorted(missing):
                try:
                    query.GetComplaint(
                        query_pb2.GetComplaintRequest(complaint_id=complaint_id), timeout=5
                    )
                except grpc.RpcError as error:
                    if error.code() != grpc.StatusCode.NOT_FOUND:
                        raise
                    continue
                missing.discard(complaint_id)
            if missing:
                assert time.monotonic() < deadline, (
                    f"{len(missing)} complaints never reached the query service"
                )
                time.sleep(0.2)
        for response in filed:
            trail = query.GetAuditTrail(
                query_pb2.GetAuditTrailRequest(complaint_id=response.complaint_id), timeout=5
            )
            filed_events = [e for e in trail.entries if e.event_type == "ComplaintFiled"]
            assert len(filed_events) == 1, (
                f"{response.ticket_number} projected {len(filed_events)} times"
            )


def test_filing_survives_nats_being_killed_and_every_complaint_arrives_once(
    fresh_stack: LocalStack,
) -> None:
    assert fresh_stack.nats is not None
    filed: list[intake_pb2.FileComplaintResponse] = []
    with operator_channel(fresh_stack, fresh_stack.services["intake"].address) as channel:
        intake = intake_pb2_grpc.IntakeStub(channel)
        for n in range(60):
            if n == 15:
                fresh_stack.nats.kill()
            if n == 40:
                fresh_stack.nats.start()
            filed.append(file_complaint(intake, n))  # must succeed whether NATS is up or not
            time.sleep(0.02)

    assert len({f.complaint_id for f in filed}) == 60
    wait_all_projected_once(fresh_stack, filed, timeout=60)
    fresh_stack.wait_serving(timeout=30)


def test_intake_killed_between_commit_and_publish_loses_nothing(fresh_stack: LocalStack) -> None:
    assert fresh_stack.nats is not None
    # With NATS down the relay cannot publish: whatever is filed now is committed but unpublished.
    fresh_stack.nats.kill()
    with operator_channel(fresh_stack, fresh_stack.services["intake"].address) as channel:
        intake = intake_pb2_grpc.IntakeStub(channel)
        filed = [file_complaint(intake, n) for n in range(10)]
    fresh_stack.kill_service("intake")
    fresh_stack.nats.start()
    fresh_stack.start_service("intake")
    fresh_stack.wait_serving(timeout=60)

    wait_all_projected_once(fresh_stack, filed, timeout=60)
