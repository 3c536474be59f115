"""B2: end to end, filed -> routed and visible in the query service (status ASSIGNED with the
holding office), at a steady arrival rate (targets: p50 <= 50 ms, p99 <= 250 ms at 100 complaints
per second for 60 seconds).

The whole local stack runs as processes (as `make up` runs it). Complaints are filed open-loop at
the given rate; the moment each becomes visible as routed comes from a WatchComplaints stream on
the query service (no polling). Baseline, measured in the same run: the FileComplaint round trip
alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from pathlib import Path

import grpc
from common import summary_ms, write_result

from aduan.stack import LocalStack
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc, query_pb2, query_pb2_grpc

REGENCIES = ["32.73", "31.71", "35.78", "33.74", "51.71", "73.71", "12.71", "64.72"]


async def run(rate: float, seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        stack = LocalStack.on_free_ports(Path(scratch) / "var", log_format="json")
        with stack:
            metadata = (
                (
                    "authorization",
                    f"Bearer {stack.token(['gateway', 'auditor'], 'PUSAT.IP3', sub='bench')}",
                ),
            )
            intake_channel = grpc.aio.insecure_channel(stack.services["intake"].address)
            query_channel = grpc.aio.insecure_channel(stack.services["query"].address)
            intake = intake_pb2_grpc.IntakeStub(intake_channel)
            query = query_pb2_grpc.QueryStub(query_channel)
            sent_at: dict[str, float] = {}
            routed_at: dict[str, float] = {}
            rpc_latency: list[float] = []
            filing_done, all_routed = asyncio.Event(), asyncio.Event()

            async def watch() -> None:
                stream = query.WatchComplaints(
                    query_pb2.WatchComplaintsRequest(), metadata=metadata
                )
                async for change in stream:
                    view = change.complaint
                    if view.holding_office.code and view.complaint_id not in routed_at:
                        routed_at[view.complaint_id] = time.perf_counter()
                        if filing_done.is_set() and set(sent_at) <= set(routed_at):
                            all_routed.set()

            watcher = asyncio.create_task(watch())
            await asyncio.sleep(1.0)  # the stream is open before the first filing

            async def file(n: int) -> None:
                started = time.perf_counter()
                response = await intake.FileComplaint(
                    intake_pb2.FileComplaintRequest(
                        idempotency_key=f"bench-{n}-{uuid.uuid4().hex[:8]}",
                        channel=common_pb2.CHANNEL_API,
                        reporter=intake_pb2.Reporter(anonymous=True),
                        location=common_pb2.Location(regency_code=REGENCIES[n % len(REGENCIES)]),
                        category=common_pb2.CATEGORY_LAND_SERVICE,
                        description=f"Permohonan sertipikat nomor {n} belum selesai diproses.",
                    ),
                    metadata=metadata,
                    timeout=30,
                )
                rpc_latency.append(time.perf_counter() - started)
                sent_at[response.complaint_id] = started

            total = int(rate * seconds)
            tasks = []
            begin = time.perf_counter()
            for n in range(total):
                await asyncio.sleep(max(0.0, begin + n / rate - time.perf_counter()))
                tasks.append(asyncio.create_task(file(n)))
            await asyncio.gather(*tasks)
            filing_done.set()
            if set(sent_at) <= set(routed_at):
                all_routed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_routed.wait(), timeout=60)
            watcher.cancel()
            await intake_channel.close()
            await query_channel.close()
    latencies = [routed_at[c] - sent_at[c] for c in sent_at if c in routed_at]
    end_to_end = summary_ms(latencies)
    return {
        "rate_per_second": rate,
        "seconds": seconds,
        "filed": len(sent_at),
        "routed_and_visible": len(latencies),
        "end_to_end": end_to_end,
        "baseline": {"what": "FileComplaint round trip alone, same run", **summary_ms(rpc_latency)},
        "targets": {"p50_ms": 50, "p99_ms": 250},
        "meets_targets": len(latencies) == len(sent_at)
        and end_to_end["p50_ms"] <= 50
        and end_to_end["p99_ms"] <= 250,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    write_result("B2-end-to-end", asyncio.run(run(args.rate, args.seconds)))


if __name__ == "__main__":
    main()
