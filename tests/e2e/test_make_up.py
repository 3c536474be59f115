"""`aduan up` (what `make up` runs): all four services SERVING and the desk ready at the URL it
prints, an example call that works, and
Ctrl-C / SIGTERM stops every child with nothing left behind."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from aduan_devtools.natsserver import port_is_free
from aduan_intake.webhook import DEV_VERIFY_TOKEN

pytestmark = pytest.mark.skipif(
    os.environ.get("ADUAN_E2E_TARGET", "local") != "local", reason="runs the local stack itself"
)


def free_port_block(size: int = 4) -> int:
    for _ in range(100):
        base = random.randint(20_000, 40_000)
        if all(port_is_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def children_of(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append(int(proc.name))
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_up_serves_then_stops_every_child_cleanly(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    base = free_port_block()
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aduan_devtools.cli",
            "up",
            "--data-dir",
            str(tmp_path / "var"),
            "--nats-port",
            "0",
            "--base-port",
            str(base),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert up.stdout is not None
    output = []
    started = time.monotonic()
    try:
        for line in up.stdout:
            output.append(line)
            if "Ctrl-C stops everything" in line:
                break
            assert time.monotonic() - started < 90, "".join(output)
        text = "".join(output)
        assert "Aduan is up" in text, text
        assert f"127.0.0.1:{base}" in text
        assert f"127.0.0.1:{base + 3}" in text
        assert "aduan.v1.Intake/FileComplaint" in text
        assert "export ADUAN_TOKEN_OFFICER=" in text
        # The WhatsApp webhook it prints answers Meta's verification challenge.
        webhook = re.search(r"WhatsApp\s+(http://127\.0\.0\.1:\d+/webhook/whatsapp)", text)
        assert webhook, text
        challenge = httpx.get(
            webhook[1],
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": DEV_VERIFY_TOKEN,
                "hub.challenge": "4242",
            },
            timeout=10,
        )
        assert (challenge.status_code, challenge.text) == (200, "4242")

        desk = re.search(r"desk\s+(http://127\.0\.0\.1:\d+/)", text)
        assert desk, text
        assert httpx.get(f"{desk[1]}readyz", timeout=10).status_code == 200

        children = children_of(up.pid)
        assert len(children) == 6, f"expected NATS + 4 services + the desk, found {children}"
        demo = subprocess.run(
            [
                sys.executable,
                "-m",
                "aduan_devtools.cli",
                "demo",
                "--intake",
                f"127.0.0.1:{base}",
                "--query",
                f"127.0.0.1:{base + 3}",
                "--data-dir",
                str(tmp_path / "var"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert demo.returncode == 0, demo.stderr
        assert "ticketNumber" in demo.stdout
        assert "ComplaintFiled" in demo.stdout

        up.send_signal(stop_signal)
        assert up.wait(timeout=60) == 0
        rest = up.stdout.read()
        assert "stopped." in rest
        for pid in children:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
            ), f"orphan {pid}"
    finally:
        if up.poll() is None:
            up.kill()
