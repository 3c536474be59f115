"""`aduan keys`: each service's identity key and the JWKS its peers trust, as the deploy guide
has a platform engineer generate them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from aduan.core.settings import ALL_SERVICES, AuthSettings
from aduan.service.auth import ServiceAuth
from aduan_devtools.cli import main
from aduan_devtools.keygen import JWKS_FILE, write_service_keys


def test_written_keys_let_each_service_call_its_peers(tmp_path: Path) -> None:
    write_service_keys(tmp_path)
    for caller in ALL_SERVICES:
        caller_auth = ServiceAuth.build(
            AuthSettings(
                jwks_file=str(tmp_path / JWKS_FILE),
                signing_key_file=str(tmp_path / f"{caller}.pem"),
                kid=f"aduan-{caller}",
                issuer="https://sso.example/realms/atrbpn",
            ),
            caller,
        )
        token = caller_auth.identity.token()
        for callee in ALL_SERVICES:
            callee_auth = ServiceAuth.build(
                AuthSettings(
                    jwks_file=str(tmp_path / JWKS_FILE),
                    signing_key_file=str(tmp_path / f"{callee}.pem"),
                    kid=f"aduan-{callee}",
                    issuer="https://sso.example/realms/atrbpn",
                ),
                callee,
            )
            principal = callee_auth.verifier.verify(token)
            assert principal.sub == f"service:{caller}"


def test_private_keys_are_owner_only_and_the_jwks_holds_no_private_part(tmp_path: Path) -> None:
    write_service_keys(tmp_path)
    for service in ALL_SERVICES:
        assert stat.S_IMODE((tmp_path / f"{service}.pem").stat().st_mode) == 0o600
    published = json.loads((tmp_path / JWKS_FILE).read_text())
    assert [key["kid"] for key in published["keys"]] == [f"aduan-{s}" for s in ALL_SERVICES]
    assert all("d" not in key for key in published["keys"])


def test_existing_keys_are_never_overwritten(tmp_path: Path) -> None:
    write_service_keys(tmp_path)
    before = (tmp_path / "intake.pem").read_bytes()
    with pytest.raises(FileExistsError, match=r"intake\.pem"):
        write_service_keys(tmp_path)
    assert (tmp_path / "intake.pem").read_bytes() == before


def test_the_cli_writes_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "--out", str(tmp_path / "keys")]) == 0
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == sorted(
        [f"{s}.pem" for s in ALL_SERVICES] + [JWKS_FILE]
    )
    assert "jwks.json" in capsys.readouterr().out
