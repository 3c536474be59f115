"""A private PostgreSQL cluster for the fault suite: initdb into a temporary directory, pg_ctl on
a free loopback port, one database per service. It can be restarted (fast shutdown, or SIGKILL
of the postmaster) without touching the system PostgreSQL on 5432.

PostgreSQL refuses to run as root, so when the tests run as root the binaries are run as the
`postgres` user (runuser) and the data directory is handed to that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from aduan_devtools.natsserver import free_port, wait_for_port

SEARCH_PATH = (
    "/usr/local/bin",
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
)


def binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in SEARCH_PATH:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    return None


def unavailable_reason() -> str | None:
    """Why a private cluster cannot run here, or None when it can."""
    for name in ("initdb", "pg_ctl", "postgres"):
        if binary(name) is None:
            return f"{name} not found (install the PostgreSQL server binaries)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


class PrivateCluster:
    def __init__(self, base_dir: Path | None = None, port: int = 0) -> None:
        # Not under pytest's tmp_path: every pytest session (other people's too, as the same
        # user) resets /tmp/pytest-of-<user> to 0700, which would lock the postgres user out of
        # its data directory in the middle of a run.
        self._owned = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="aduan-faults-pg-"))
        self.data_dir = self.base_dir / "pgdata"
        self.socket_dir = self.base_dir / "pgsock"
        self.log_file = self.base_dir / "postgres.log"
        self.port = port or free_port()
        self._as_postgres = os.geteuid() == 0

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}): {result.stdout}{result.stderr}"
                f"; see {self.log_file}"
            )
        return result

    def _chown(self, path: Path) -> None:
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def init(self) -> PrivateCluster:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.base_dir)
        for directory in (self.data_dir, self.socket_dir):
            directory.mkdir(exist_ok=True)
            self._chown(directory)
        self.log_file.touch()
        self._chown(self.log_file)
        initdb = binary("initdb")
        assert initdb is not None
        self._run(
            [
                initdb,
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\nmax_connections = 200\n"
                # A crash here is a process crash, not a power cut: the page cache survives, so
                # fsync can go. Commits stay synchronous: an acknowledged commit must survive.
                "fsync = off\nfull_page_writes = off\n"
            )
        return self

    def start(self, timeout: float = 60.0) -> None:
        pg_ctl = binary("pg_ctl")
        assert pg_ctl is not None
        command = [pg_ctl, "-D", str(self.data_dir), "-l", str(self.log_file), "-w"]
        command += ["-t", str(int(timeout)), "start"]
        # Once in a while a start right after a stop fails on a busy machine; one more try.
        for attempt in range(3):
            try:
                self._run(command)
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                time.sleep(1.0)
        wait_for_port("127.0.0.1", self.port, timeout)

    def create_databases(self, names: Iterable[str]) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            for name in names:
                conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self, mode: str = "fast") -> None:
        pg_ctl = binary("pg_ctl")
        assert pg_ctl is not None
        self._run([pg_ctl, "-D", str(self.data_dir), "-m", mode, "-w", "stop"], check=False)

    def crash(self) -> None:
        """Immediate shutdown: every process quits without a checkpoint, as in a crash, and the
        next start recovers from the WAL. (A SIGKILLed postmaster can leave orphaned backends
        holding its shared memory, which then blocks the restart; this has the same effect on
        the clients without that race.)"""
        self.stop("immediate")

    def restart(self, crash: bool = False) -> None:
        if crash:
            self.crash()
        else:
            self.stop()
        self.start()

    def __enter__(self) -> PrivateCluster:
        self.init()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop("immediate")
        if self._owned:
            shutil.rmtree(self.base_dir, ignore_errors=True)
