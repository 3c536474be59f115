"""Issue 20, item 2: an auditor token alone (no database URL) runs `aduan audit trail`, `export`,
`replay` and `verify` against the running services, over their gRPC APIs. The command runs as a
subprocess whose environment holds the token and nothing else of Aduan (no ADUAN_STORE_URL, no
settings of the stack); the services' addresses are given as flags. Times show in the zone of the
office (Makassar keeps WITA) with the office's name next to its code; a token without the auditor's
role is refused with PERMISSION_DENIED."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from polling import eventually

from aduan.core.settings import WRITE_SERVICES
from aduan.reference.timezones import WITA, format_compact
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc, query_pb2, query_pb2_grpc
from aduan_devtools.stack import LocalStack

MAKASSAR = "KANTAH.73.71"


@dataclass
class Filed:
    complaint_id: str
    ticket: str
    filed_at: datetime
    before: datetime


def audit(
    tmp_path: Path, endpoints: dict[str, str], token: str, *command: str
) -> subprocess.CompletedProcess[str]:
    """`aduan-audit COMMAND` with `token` as the only Aduan setting in its environment."""
    addresses = ["--query", endpoints["query"]]
    if command[0] == "verify":
        addresses = [f"--eventlog={s}={endpoints[s]}" for s in WRITE_SERVICES]
    return subprocess.run(
        [sys.executable, "-m", "aduan_query.cli", *command, *addresses],
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "ADUAN_TOKEN": token,
        },
        cwd=tmp_path,  # no var/query.sqlite here either
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def filed(channels: dict[str, grpc.Channel]) -> Filed:
    """A land-service complaint in Makassar, placed with its Kantah and projected."""
    before = datetime.now(UTC) - timedelta(seconds=1)
    response = intake_pb2_grpc.IntakeStub(channels["intake"]).FileComplaint(
        intake_pb2.FileComplaintRequest(
            idempotency_key=f"e2e-audit-cli-{uuid.uuid4()}",
            channel=common_pb2.CHANNEL_WEB,
            category=common_pb2.CATEGORY_LAND_SERVICE,
            reporter=intake_pb2.Reporter(name="Andi Mappanyukki", phone="081355556666"),
            location=common_pb2.Location(province_code="73", regency_code="73.71"),
            subject="Sertifikat belum terbit",
            description="Sertifikat tanah saya belum terbit setelah enam bulan.",
        ),
        timeout=10,
    )
    query = query_pb2_grpc.QueryStub(channels["query"])

    def placed() -> query_pb2.ComplaintView | None:
        view = query.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=response.complaint_id), timeout=10
        ).complaint
        return view if view.holding_office.code == MAKASSAR else None

    view = eventually(placed, 30, "the complaint to reach the Makassar Kantah")
    return Filed(
        response.complaint_id, response.ticket_number, view.filed_at.ToDatetime(UTC), before
    )


def test_an_auditor_token_alone_runs_trail_export_replay_and_verify(
    stack: LocalStack, endpoints: dict[str, str], filed: Filed, tmp_path: Path
) -> None:
    auditor = stack.token("auditor", sub="auditor:bpk")

    trail = audit(tmp_path, endpoints, auditor, "trail", filed.ticket)
    assert trail.returncode == 0, trail.stderr
    assert f"Audit trail of {filed.ticket}" in trail.stdout
    assert "ComplaintFiled" in trail.stdout
    assert "CaseRouted" in trail.stdout
    # Filed in Makassar: the time in WITA, the Kantah with its name.
    assert format_compact(filed.filed_at, WITA) in trail.stdout
    assert MAKASSAR in trail.stdout
    assert "Makassar" in trail.stdout.replace(MAKASSAR, "")
    assert "Custody" in trail.stdout

    export = audit(tmp_path, endpoints, auditor, "export", "--since", filed.before.isoformat())
    assert export.returncode == 0, export.stderr
    lines = [json.loads(line) for line in export.stdout.splitlines()]
    mine = [line for line in lines if line["complaint_id"] == filed.complaint_id]
    assert [line["event_type"] for line in mine][:1] == ["ComplaintFiled"]
    [routed] = [line for line in mine if line["event_type"] == "CaseRouted"]
    assert routed["to_office"] == MAKASSAR
    assert routed["occurred_at"].endswith("+00:00")
    assert routed["occurred_at_local"].endswith("+08:00")
    assert routed["local_zone"] == "WITA"

    now = datetime.now(UTC).isoformat()
    replay = audit(tmp_path, endpoints, auditor, "replay", "--as-of", now, "--format", "jsonl")
    assert replay.returncode == 0, replay.stderr
    shown = {row["complaint_id"]: row for row in map(json.loads, replay.stdout.splitlines())}
    assert shown[filed.complaint_id]["holding_office"] == MAKASSAR
    before = audit(
        tmp_path,
        endpoints,
        auditor,
        "replay",
        "--as-of",
        filed.before.isoformat(),
        "--format",
        "jsonl",
    )
    assert before.returncode == 0, before.stderr
    assert filed.complaint_id not in before.stdout

    verify = audit(tmp_path, endpoints, auditor, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "OK: every chain and checkpoint verifies" in verify.stdout
    for service in WRITE_SERVICES:
        assert f"history of {service}:" in verify.stdout


def test_a_token_without_the_auditors_role_is_refused(
    stack: LocalStack, endpoints: dict[str, str], filed: Filed, tmp_path: Path
) -> None:
    officer = stack.token("officer", MAKASSAR, sub="officer:makassar")
    for command in (["export"], ["verify"]):
        done = audit(tmp_path, endpoints, officer, *command)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "error: PERMISSION_DENIED" in done.stderr
        assert "Traceback" not in done.stderr
