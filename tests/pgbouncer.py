"""A private PgBouncer for tests: the Debian `pgbouncer` binary on a free loopback port in front
of the PostgreSQL server named by a URL, in transaction mode by default (as a CloudNativePG
Pooler usually runs). Tests that need it skip, saying why, when the binary is absent
(`apt-get install pgbouncer`).

PgBouncer refuses to run as root, so when the tests run as root it is started with `-u postgres`
and its directory is handed to that user (as tests/faults/pg.py does for PostgreSQL).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from aduan_devtools.natsserver import free_port, wait_for_port

SEARCH_PATH = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")


def binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    for directory in SEARCH_PATH:
        candidate = Path(directory) / "pgbouncer"
        if candidate.exists():
            return str(candidate)
    return None


def unavailable_reason() -> str | None:
    """Why a private PgBouncer cannot run here, or None when it can."""
    if binary() is None:
        return "pgbouncer not found (apt-get install pgbouncer)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run PgBouncer as"
    return None


class PgBouncer:
    """`with PgBouncer(server_url) as bouncer: bouncer.url(database)`."""

    def __init__(self, server_url: str, *, pool_mode: str = "transaction", pool_size: int = 2):
        parsed = urlparse(server_url)
        self.server_host = parsed.hostname or "127.0.0.1"
        self.server_port = parsed.port or 5432
        self.server_user = parsed.username or "postgres"
        self.server_url = server_url
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self.port = free_port()
        # Not under pytest's tmp_path (reset to 0700 by other pytest sessions; see faults/pg.py).
        self.base_dir = Path(tempfile.mkdtemp(prefix="aduan-pgbouncer-"))
        self.log_file = self.base_dir / "pgbouncer.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str | None = None) -> str:
        """`server_url` with PgBouncer's address (and `database`, if given)."""
        parsed = urlparse(self.server_url)
        netloc = f"{self.server_user}@127.0.0.1:{self.port}"
        path = f"/{database}" if database else parsed.path
        return urlunparse(parsed._replace(netloc=netloc, path=path))

    def through(self, url: str) -> str:
        """The same database as `url`, reached through PgBouncer."""
        return self.url(urlparse(url).path.lstrip("/"))

    def start(self) -> PgBouncer:
        config = self.base_dir / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            # Any database name: the server's database of that name, as the one user.
            f"* = host={self.server_host} port={self.server_port} user={self.server_user}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir = {self.base_dir}\n"
            "auth_type = any\n"
            f"pool_mode = {self.pool_mode}\n"
            f"default_pool_size = {self.pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
            "max_client_conn = 200\n"
            f"logfile = {self.log_file}\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            "server_reset_query = DISCARD ALL\n"
        )
        command = [binary() or "pgbouncer"]
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for path in (self.base_dir, config):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            command += ["-u", "postgres"]
        command.append(str(config))
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_for_port("127.0.0.1", self.port, 20.0)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
