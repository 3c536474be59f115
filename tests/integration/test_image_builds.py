"""The Dockerfile's build steps for each SERVICE, replayed as far as a machine without a container
engine allows: the builder stage's COPY and `uv sync` steps run in a fresh directory with the
stage's environment and build arguments, the venv holds no dev tool and no nats-server, then the
program the image's ENTRYPOINT links to runs with `--help` from the resulting venv."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# The four services and the desk, all built from the one Dockerfile.
SERVICES = ["intake", "routing", "notification", "query", "desk"]
DOCKERFILE = ROOT / "Dockerfile"
DEV_ONLY = re.compile(
    r"nats[-_]server[-_]bin|pytest.*|ruff|mypy.*|hypothesis|moto|helm[-_].*|grpcio[-_]tools",
    re.IGNORECASE,
)


def stages(dockerfile: Path) -> dict[str, list[tuple[str, str]]]:
    """Instructions per stage name, with line continuations joined."""
    result: dict[str, list[tuple[str, str]]] = {"": []}  # "": global ARGs before the first FROM
    current = ""
    logical = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        logical += line.removesuffix("\\").strip() + " "
        if line.endswith("\\"):
            continue
        instruction, _, argument = logical.strip().partition(" ")
        logical = ""
        if instruction.upper() == "FROM":
            current = argument.split(" AS ")[-1].strip() if " AS " in argument else argument
            result[current] = []
        else:
            result[current].append((instruction.upper(), argument.strip()))
    return result


def parse_env(argument: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(argument))


def with_args(argument: str, args: dict[str, str]) -> str:
    for name, value in args.items():
        argument = argument.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return argument


@pytest.mark.parametrize("service", SERVICES)
def test_the_builder_steps_install_a_working_service(service: str, tmp_path: Path) -> None:
    builder = stages(DOCKERFILE)["builder"]
    build_args = {"SERVICE": service}
    context = tmp_path / "src"
    context.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    venv = tmp_path / "app" / ".venv"
    ran_sync = 0
    for instruction, argument in builder:
        if instruction == "ENV":
            env.update(parse_env(argument))
            env["UV_PROJECT_ENVIRONMENT"] = str(venv)  # the image's /app/.venv, here
        elif instruction == "COPY":
            *sources, destination = shlex.split(with_args(argument, build_args))
            for source in sources:
                origin = ROOT / source
                target = (
                    context
                    / destination
                    / (origin.name if destination.endswith("/") and origin.is_file() else "")
                )
                if origin.is_dir():
                    shutil.copytree(
                        origin,
                        context / destination,
                        dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "tests", ".venv"),
                    )
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(
                        origin, target if destination.endswith("/") else context / destination
                    )
        elif instruction == "RUN" and argument.startswith("uv sync"):
            completed = subprocess.run(
                shlex.split(with_args(argument, build_args)),
                cwd=context,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert completed.returncode == 0, completed.stderr
            ran_sync += 1
    assert ran_sync >= 1, "the builder stage must install with uv sync"

    # What the image would hold: the service's runtime dependencies, nothing for tests or `aduan up`.
    site_packages = next(venv.glob("lib/python*/site-packages"))
    leaked = [
        dist.name
        for dist in site_packages.glob("*.dist-info")
        if DEV_ONLY.fullmatch(dist.name.split("-")[0])
    ]
    assert not leaked, leaked
    assert not (venv / "bin" / "nats-server").exists()

    runtime = stages(DOCKERFILE)["runtime"]
    [entrypoint] = [json.loads(arg) for ins, arg in runtime if ins == "ENTRYPOINT"]
    [link] = [
        shlex.split(with_args(arg, build_args))
        for ins, arg in runtime
        if ins == "RUN" and entrypoint[0] in arg and arg.startswith("ln -s")
    ]
    assert link[3] == entrypoint[0]
    executable = Path(link[2]).name
    completed = subprocess.run(
        [str(venv / "bin" / executable), "--help"],
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert f"aduan-{service}" in completed.stdout
    # The image runs the installed package, not the workspace sources.
    shown = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            f"import aduan_{service}, aduan; print(aduan_{service}.__file__, aduan.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(ROOT) not in shown.stdout
