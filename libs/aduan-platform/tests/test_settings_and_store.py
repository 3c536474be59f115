from __future__ import annotations

from pathlib import Path

import pytest

from aduan.settings import ServiceSettings, SettingsError
from aduan.store import UniqueClaims, store_env


def test_defaults_are_the_local_development_stack() -> None:
    settings = ServiceSettings.from_env("routing", env={})

    assert settings.grpc_address == "127.0.0.1:50052"
    assert settings.store_url == "sqlite:///var/routing.sqlite"
    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert settings.peers["intake"] == "127.0.0.1:50051"
    assert settings.reflection is True


def test_environment_overrides_and_nats_url_fallback() -> None:
    settings = ServiceSettings.from_env(
        "query",
        env={
            "NATS_URL": "nats://127.0.0.1:4333",
            "ADUAN_GRPC_PORT": "6000",
            "ADUAN_REFLECTION": "off",
        },
    )

    assert settings.nats_url == "nats://127.0.0.1:4333"
    assert settings.grpc_port == 6000
    assert settings.reflection is False


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ADUAN_GRPC_PORT", "http", "ADUAN_GRPC_PORT must be an integer"),
        ("ADUAN_REFLECTION", "maybe", "ADUAN_REFLECTION must be true or false"),
        ("ADUAN_STREAM_REPLICAS", "0", "ADUAN_STREAM_REPLICAS must be at least 1"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        ServiceSettings.from_env("intake", env={name: value})


def test_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = store_env("sqlite:///var/x/intake.sqlite", "intake")
    assert relative["SQLITE_DBNAME"] == "var/x/intake.sqlite"
    absolute = store_env(f"sqlite:///{tmp_path}/a.sqlite", "intake")
    assert absolute["SQLITE_DBNAME"] == f"{tmp_path}/a.sqlite"
    assert store_env("memory://", "intake") == {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    with pytest.raises(ValueError, match="unsupported store URL"):
        store_env("mysql://db/x", "intake")


def test_unique_claims_keep_the_first_holder() -> None:
    from eventsourcing.popo import POPOAggregateRecorder

    claims = UniqueClaims(POPOAggregateRecorder())

    assert claims.claim("ticket", "ADU-2026-AAAAAA", "first") == "first"
    assert claims.claim("ticket", "ADU-2026-AAAAAA", "second") == "first"
    assert claims.get("ticket", "ADU-2026-AAAAAA") == "first"
    assert claims.get("ticket", "ADU-2026-BBBBBB") is None
