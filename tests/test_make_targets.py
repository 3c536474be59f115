"""The commands a newcomer reads (README, the `aduan up` banner) are make targets that exist and
run the `aduan` command with arguments it accepts, whether or not uv is on PATH."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from aduan_devtools.cli import EXAMPLE, TOKENS_HEADING, build_parser

REPO_ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def aduan_command(*make_args: str) -> list[str]:
    """The `aduan ...` arguments of the one line `make -n` would run through `uv run`."""
    dry_run = make("-n", *make_args)
    assert dry_run.returncode == 0, dry_run.stderr
    runs = [line for line in dry_run.stdout.splitlines() if " run --frozen aduan " in line]
    assert len(runs) == 1, dry_run.stdout
    words = shlex.split(runs[0])
    assert Path(words[0]).name == "uv"
    assert words[1:4] == ["run", "--frozen", "aduan"]
    return words[3:]


def makefile_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.MULTILINE))


def test_make_demo_runs_aduan_demo() -> None:
    assert aduan_command("demo") == ["aduan", "demo"]


def test_make_token_passes_role_and_office_to_aduan_token() -> None:
    command = aduan_command("token", "ROLE=officer", "OFFICE=KANTAH.32.73")

    assert command == ["aduan", "token", "--role", "officer", "--office", "KANTAH.32.73"]
    parsed = build_parser().parse_args(command[1:])
    assert (parsed.role, parsed.office) == (["officer"], "KANTAH.32.73")


def test_make_token_takes_several_roles_and_no_office() -> None:
    command = aduan_command("token", "ROLE=gateway auditor")

    assert command == ["aduan", "token", "--role", "gateway", "--role", "auditor"]
    assert build_parser().parse_args(command[1:]).role == ["gateway", "auditor"]


def test_make_token_without_a_role_says_how_to_call_it() -> None:
    result = make("-n", "token")

    assert result.returncode != 0
    assert "ROLE is required, e.g. make token ROLE=officer OFFICE=KANTAH.32.73" in result.stderr


def make_targets_named(text: str) -> set[str]:
    return set(re.findall(r"\bmake ([a-z][a-z-]*)\b", text))


def test_the_readmes_make_commands_are_targets() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert "`make demo`" in readme
    assert "`make token ROLE=" in readme
    assert {"up", "demo", "token"} <= make_targets_named(readme) <= makefile_targets()


def test_the_up_banner_names_make_demo_and_make_token() -> None:
    assert "make demo" in EXAMPLE
    assert "make token ROLE=" in TOKENS_HEADING
    assert "uv run" not in EXAMPLE + TOKENS_HEADING
    assert make_targets_named(EXAMPLE + TOKENS_HEADING) == {"demo", "token"}
    assert {"demo", "token"} <= makefile_targets()


def test_a_uv_off_path_is_named_with_the_line_that_adds_it(tmp_path: Path) -> None:
    bin_dir = tmp_path / "home" / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    uv = bin_dir / "uv"
    uv.write_text("#!/bin/sh\nexit 0\n")
    uv.chmod(0o755)
    # A PATH with make and a shell but no uv.
    path = os.pathsep.join(
        sorted({str(Path(tool).parent) for tool in (shutil.which("make"), "/bin/sh") if tool})
    )
    if shutil.which("uv", path=path):
        pytest.skip("uv is installed system-wide here")

    result = make("uv", f"UV={uv}", env={"PATH": path, "HOME": str(tmp_path / "home")})

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # `$(make token ...)` must capture the token alone
    assert result.stderr.strip() == (
        f"uv is installed at {uv}, which is not on your PATH; "
        f'add it with: export PATH="{bin_dir}:$PATH"'
    )


def test_no_uv_hint_when_uv_is_on_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    uv = bin_dir / "uv"
    uv.write_text("#!/bin/sh\nexit 0\n")
    uv.chmod(0o755)
    path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])

    result = make("uv", env={**os.environ, "PATH": path})

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
