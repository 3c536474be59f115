"""Conventions of services/<name>/Dockerfile, checked by parsing (no container engine here):
multi-stage from a slim Python 3.11, uv installed with pip, a frozen `uv sync` of the one
package, a non-root user, a read-only-root-friendly environment, and an ENTRYPOINT that is a
console script the service's pyproject.toml declares.

Building the images, and installing a service the same way into a fresh venv to run `--help`,
are not done here."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass

import pytest
from chart.render import COMPONENTS, GRPC_PORTS, REPO_ROOT


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def parse(text: str) -> list[Instruction]:
    """Dockerfile instructions, with line continuations joined and comments dropped."""
    instructions: list[Instruction] = []
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, args = logical.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
        logical = ""
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    out: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def args_of(instructions: list[Instruction], keyword: str) -> list[str]:
    return [i.args for i in instructions if i.keyword == keyword]


@pytest.fixture(params=COMPONENTS)
def component(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def dockerfile(component: str) -> list[Instruction]:
    path = REPO_ROOT / "services" / component / "Dockerfile"
    assert path.is_file()
    return parse(path.read_text())


def test_multi_stage_slim_python_311(component: str) -> None:
    instructions = dockerfile(component)
    base = next(a for a in args_of(instructions, "ARG") if a.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-[a-z]+)?", base)
    froms = args_of(instructions, "FROM")
    assert len(froms) >= 2
    assert all(f.startswith("${PYTHON_IMAGE}") for f in froms)
    assert froms[0].endswith(" AS builder")


def test_builder_syncs_the_locked_package(component: str) -> None:
    builder, *_ = stages(dockerfile(component))
    runs = args_of(builder, "RUN")
    assert any(re.search(r"pip install .*\buv==(\d[\d.]*|\$\{UV_VERSION\})", r) for r in runs)
    assert any(re.fullmatch(r"UV_VERSION=\d+\.\d+\.\d+", a) for a in args_of(builder, "ARG"))
    syncs = [r for r in runs if "uv sync" in r]
    assert syncs
    for sync in syncs:
        assert "--frozen" in sync
        assert "--no-dev" in sync
        assert f"--package aduan-{component}" in sync
    env = " ".join(args_of(builder, "ENV"))
    assert "UV_PROJECT_ENVIRONMENT=/app/.venv" in env
    copies = args_of(builder, "COPY")
    # Dependencies first (lock and pyproject files only), sources after: layer caching.
    first_sync = next(
        i for i, ins in enumerate(builder) if ins.keyword == "RUN" and "uv sync" in ins.args
    )
    before = [ins.args for ins in builder[:first_sync] if ins.keyword == "COPY"]
    assert any("uv.lock" in c for c in before)
    assert all(
        all(src.endswith(("pyproject.toml", "uv.lock")) for src in c.split()[:-1]) for c in before
    )
    assert any(c.startswith(f"services/{component}/ ") for c in copies)


def test_runtime_is_non_root_and_read_only_friendly(component: str) -> None:
    *_, runtime = stages(dockerfile(component))
    copies = args_of(runtime, "COPY")
    assert any(c.startswith("--from=builder /app/.venv") for c in copies)
    users = args_of(runtime, "USER")
    assert users
    assert users[-1].split(":")[0] == "10001"
    env = " ".join(args_of(runtime, "ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "TMPDIR=/tmp" in env
    exposed = {int(p) for e in args_of(runtime, "EXPOSE") for p in e.split()}
    assert GRPC_PORTS[component] in exposed
    assert 9464 in exposed
    assert (8081 in exposed) == (component == "intake")


def test_entrypoint_is_a_declared_console_script(component: str) -> None:
    *_, runtime = stages(dockerfile(component))
    (entrypoint,) = args_of(runtime, "ENTRYPOINT")
    argv = json.loads(entrypoint)
    script = argv[0].rsplit("/", 1)[-1]
    assert argv[0] in (script, f"/app/.venv/bin/{script}")
    pyproject = tomllib.loads((REPO_ROOT / "services" / component / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == f"aduan-{component}"
    assert script in pyproject["project"]["scripts"]
    assert script == f"aduan-{component}"


def test_dockerignore_keeps_the_context_small() -> None:
    entries = {
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (".git", ".venv", "var/", "bench/results", "tests/"):
        assert required in entries, required
    assert not {"uv.lock", "pyproject.toml", "libs", "services"} & entries
