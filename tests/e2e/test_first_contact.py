"""A newcomer's first contact, as the README tells it, in a fresh clone of the committed tree:
`make up`, Ctrl-C, `make up` again at once, then the README's demo command as written.

Each step once failed a newcomer: the second `make up` refused with "ports in use" (the port probe
tripped over the first run's TIME_WAIT sockets), and the README's `uv run aduan demo` was "command
not found" where `make up` had installed uv off PATH. So this runs the real `make` with the PATH a
fresh shell has, on the default ports the README names, and sends Ctrl-C the way a terminal does
(SIGINT to the whole foreground process group)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from aduan_devtools.natsserver import port_is_free

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# The ports `make up` uses with no arguments (README's table): four gRPC services and the webhook.
DEFAULT_PORTS = [50051, 50052, 50053, 50054, 8081]
READY = "Ctrl-C stops everything"

pytestmark = pytest.mark.skipif(
    os.environ.get("ADUAN_E2E_TARGET", "local") != "local", reason="runs the local stack itself"
)


def readme_demo_command() -> str:
    """The command the README's "Try it" line tells a newcomer to run."""
    match = re.search(r"Try it from another terminal: `([^`]+)`", README.read_text())
    assert match, "README.md lost its 'Try it from another terminal' line"
    return match[1]


def newcomer_env() -> dict[str, str]:
    """A fresh shell's: no virtualenv active and no ~/.local/bin on PATH (where `make up` may put
    uv); the machine's own settings (certificates, proxies, package indexes) stay."""
    venv = os.environ.get("VIRTUAL_ENV", "")
    path = [
        p
        for p in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if ".local/bin" not in p and not (venv and p.startswith(venv))
    ]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "PYTHONPATH"} and not k.startswith(("UV_RUN", "PYTEST"))
    }
    return {**env, "PATH": os.pathsep.join(path), "NO_COLOR": "1"}


def start_up(clone: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["make", "up"],
        cwd=clone,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        # Its own process group, as a terminal's foreground job: Ctrl-C reaches make and every
        # child at once.
        start_new_session=True,
    )


def wait_ready(up: subprocess.Popen[bytes], log: Path, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if READY in log.read_text(errors="replace"):
            return
        if up.poll() is not None:
            pytest.fail(f"`make up` exited {up.returncode}:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
    pytest.fail(f"`make up` not ready within {within} s:\n{log.read_text(errors='replace')}")


def ctrl_c(up: subprocess.Popen[bytes], log: Path) -> None:
    os.killpg(up.pid, signal.SIGINT)
    try:
        up.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(up.pid, signal.SIGKILL)
        pytest.fail(f"`make up` did not stop on Ctrl-C:\n{log.read_text(errors='replace')}")
    assert "stopped." in log.read_text(errors="replace")


def test_make_up_ctrl_c_make_up_again_then_the_readme_demo(tmp_path: Path) -> None:
    busy = [port for port in DEFAULT_PORTS if not port_is_free(port)]
    if busy:
        pytest.skip(f"the default ports {busy} are taken (a `make up` running here?)")
    clone = tmp_path / "aduan"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = newcomer_env()

    first = start_up(clone, env, tmp_path / "up-1.log")
    try:
        wait_ready(first, tmp_path / "up-1.log", within=300)
    finally:
        if first.poll() is None:
            ctrl_c(first, tmp_path / "up-1.log")

    # At once: the first run's sockets are still in TIME_WAIT.
    second = start_up(clone, env, tmp_path / "up-2.log")
    try:
        wait_ready(second, tmp_path / "up-2.log", within=120)
        demo = subprocess.run(
            shlex.split(readme_demo_command()),
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert demo.returncode == 0, f"{readme_demo_command()}:\n{demo.stdout}\n{demo.stderr}"
        assert "ticketNumber" in demo.stdout
        assert "ComplaintFiled" in demo.stdout
    finally:
        if second.poll() is None:
            ctrl_c(second, tmp_path / "up-2.log")
