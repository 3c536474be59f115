"""The composition root, in-process against a real nats-server: gRPC, the webhook listener and
the intake-case-status consumer are wired; routing's CaseResolved (published on NATS) makes a
withdrawal FAILED_PRECONDITION."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import nats
import pytest
from aiohttp import ClientSession

from aduan.contract.envelopes import subject_for
from aduan.core.settings import ServiceSettings
from aduan.messaging.jetstream import ensure_stream
from aduan.service.auth import DevTokens, bearer_interceptors
from aduan.v1 import common_pb2, events_pb2, intake_pb2, intake_pb2_grpc
from aduan_devtools.natsserver import EmbeddedNats, free_port
from aduan_intake.__main__ import build_runtime

pytestmark = pytest.mark.integration
SECRET = "composition-test-secret-0123456789abcdef"


async def test_the_service_wires_grpc_webhook_and_case_status(
    tmp_path: Path, nats_server: EmbeddedNats
) -> None:
    grpc_port, webhook_port = free_port(), free_port()
    settings = ServiceSettings.from_env(
        "intake",
        {
            "ADUAN_GRPC_PORT": str(grpc_port),
            "ADUAN_NATS_URL": nats_server.url,
            "ADUAN_DATA_DIR": str(tmp_path),
            "ADUAN_METRICS_PORT": "0",
            "ADUAN_WEBHOOK_PORT": str(webhook_port),
            "ADUAN_ROUTING_ADDR": f"127.0.0.1:{free_port()}",
            "ADUAN_JWT_SECRET": SECRET,
        },
    )
    runtime = build_runtime(settings)
    serving = asyncio.create_task(runtime.serve())
    try:
        gateway = bearer_interceptors(lambda: DevTokens(SECRET).issue("gateway"))
        async with grpc.aio.insecure_channel(
            f"127.0.0.1:{grpc_port}", interceptors=gateway
        ) as channel:
            await asyncio.wait_for(channel.channel_ready(), 10)
            intake = intake_pb2_grpc.IntakeStub(channel)
            filed = await intake.FileComplaint(
                intake_pb2.FileComplaintRequest(
                    idempotency_key="wiring-1",
                    channel=common_pb2.CHANNEL_API,
                    reporter=intake_pb2.Reporter(anonymous=True),
                    description="Pungutan liar di loket pendaftaran hak tanggungan.",
                )
            )

            async with ClientSession() as http:
                deadline = time.monotonic() + 10
                while True:
                    try:
                        async with http.get(f"http://127.0.0.1:{webhook_port}/healthz") as reply:
                            assert await reply.text() == "ok"
                            break
                    except OSError:
                        assert time.monotonic() < deadline, "webhook not listening"
                        await asyncio.sleep(0.1)

            # Routing resolves the case: intake hears it over NATS.
            resolved = events_pb2.Envelope(
                event_id="routing:1",
                event_type="CaseResolved",
                complaint_id=filed.complaint_id,
                service="routing",
                position=1,
                previous_position=0,
                case_resolved=events_pb2.CaseResolved(summary="Selesai"),
            )
            nc = await nats.connect(nats_server.url)
            try:
                js = nc.jetstream()
                await ensure_stream(js)
                await js.publish(
                    subject_for("routing", "CaseResolved"),
                    resolved.SerializeToString(),
                    headers={"Nats-Msg-Id": "routing:1"},
                )
            finally:
                await nc.close()

            # A rating is refused until intake knows of the resolution, then accepted.
            rating = intake_pb2.RateResolutionRequest(complaint_id=filed.ticket_number, rating=5)
            deadline = time.monotonic() + 15
            while True:
                try:
                    await intake.RateResolution(rating)
                    break
                except grpc.aio.AioRpcError as error:
                    refused = error.code()
                assert refused == grpc.StatusCode.FAILED_PRECONDITION
                assert time.monotonic() < deadline, "routing's resolution never arrived"
                await asyncio.sleep(0.1)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await intake.WithdrawComplaint(
                    intake_pb2.WithdrawComplaintRequest(complaint_id=filed.ticket_number)
                )
            assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    finally:
        runtime.request_stop()
        await asyncio.wait_for(serving, 30)
