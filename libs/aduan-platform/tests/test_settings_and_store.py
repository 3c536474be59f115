from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from notes_service import NotesApplication

from aduan.core.settings import (
    ServiceSettings,
    SettingsError,
    extra_flag,
    extra_int,
    extra_number,
    extra_positive,
    extra_secret,
)
from aduan.eventstore.store import UniqueClaims, store_env


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
    ("raw", "seconds"),
    [("", 7 * 86400), ("30d", 30 * 86400), ("12h", 43200), ("15m", 900), ("90s", 90), ("0", 0)],
)
def test_the_streams_age_limit_reads_as_a_duration(raw: str, seconds: int) -> None:
    env = {"ADUAN_STREAM_MAX_AGE": raw} if raw else {}
    assert ServiceSettings.from_env("intake", env=env).stream_max_age_seconds == seconds


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ADUAN_GRPC_PORT", "http", "ADUAN_GRPC_PORT must be an integer"),
        ("ADUAN_REFLECTION", "maybe", "ADUAN_REFLECTION must be true or false"),
        ("ADUAN_STREAM_REPLICAS", "0", "ADUAN_STREAM_REPLICAS must be at least 1"),
        ("ADUAN_STREAM_MAX_AGE", "a week", "ADUAN_STREAM_MAX_AGE must be a duration such as 7d"),
        ("ADUAN_STREAM_MAX_AGE", "-1d", "ADUAN_STREAM_MAX_AGE must be a duration"),
        ("ADUAN_STREAM_MAX_AGE", "2w", "ADUAN_STREAM_MAX_AGE must be a duration"),
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


def _synchronous_modes(app: NotesApplication) -> set[int]:
    """PRAGMA synchronous of every connection the store's pool holds or hands out."""
    pool: Any = app.recorder.datastore.pool  # type: ignore[attr-defined]
    connections = [pool.get_connection() for _ in range(3)]
    try:
        return {c._sqlite_conn.execute("PRAGMA synchronous;").fetchone()[0] for c in connections}
    finally:
        for connection in connections:
            pool.put_connection(connection)


def test_sqlite_commits_skip_the_fsync_unless_asked(tmp_path: Path) -> None:
    # WAL with synchronous=NORMAL (1): nothing lost when a process dies, no fsync per commit.
    default = NotesApplication(env=store_env(f"sqlite:///{tmp_path}/a.sqlite", "notes"))
    default.write("first")
    assert _synchronous_modes(default) == {1}
    full = NotesApplication(
        env=store_env(f"sqlite:///{tmp_path}/b.sqlite?synchronous=full", "notes")
    )
    full.write("first")
    assert _synchronous_modes(full) == {2}
    assert (
        store_env(f"sqlite:///{tmp_path}/b.sqlite?synchronous=full", "notes")["SQLITE_DBNAME"]
        == f"{tmp_path}/b.sqlite"
    )
    with pytest.raises(ValueError, match="synchronous='sometimes'"):
        store_env(f"sqlite:///{tmp_path}/c.sqlite?synchronous=sometimes", "notes")
    # Data written under NORMAL is there for the next process.
    default.close()
    reopened = NotesApplication(env=store_env(f"sqlite:///{tmp_path}/a.sqlite", "notes"))
    assert reopened.head_position() == 1


def test_unique_claims_keep_the_first_holder() -> None:
    from eventsourcing.popo import POPOAggregateRecorder

    claims = UniqueClaims(POPOAggregateRecorder())

    assert claims.claim("ticket", "ADU-2026-AAAAAA", "first") == "first"
    assert claims.claim("ticket", "ADU-2026-AAAAAA", "second") == "first"
    assert claims.get("ticket", "ADU-2026-AAAAAA") == "first"
    assert claims.get("ticket", "ADU-2026-BBBBBB") is None


def test_extra_settings_readers_name_the_variable_they_refuse(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("s3cret\n")
    extra = {"TOKEN_FILE": str(secret_file), "PLAIN": " x ", "N": "2.5", "BAD": "two", "F": "no"}
    assert extra_secret(extra, "TOKEN") == "s3cret"
    assert extra_secret(extra, "PLAIN") == "x"
    assert extra_secret(extra, "MISSING") == ""
    assert extra_number(extra, "N", 1.0, 0.0) == 2.5
    assert extra_number(extra, "MISSING", 1.0, 0.0) == 1.0
    assert extra_flag(extra, "F", True) is False
    assert extra_flag(extra, "MISSING", None) is None
    with pytest.raises(SettingsError, match="ADUAN_BAD must be a number"):
        extra_number(extra, "BAD", 1.0, 0.0)
    with pytest.raises(SettingsError, match="ADUAN_N must be at least 3"):
        extra_number(extra, "N", 1.0, 3.0)
    with pytest.raises(SettingsError, match="ADUAN_MISSING_FILE cannot be read"):
        extra_secret({"MISSING_FILE": str(tmp_path / "none")}, "MISSING")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("4.5", "ADUAN_LIMIT must be an integer, not '4.5'"),
        ("0", "ADUAN_LIMIT must be at least 1, not 0"),
    ],
)
def test_a_whole_number_setting_refuses_fractions_and_small_values(raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        extra_int({"LIMIT": raw}, "LIMIT", 3, 1)
    assert extra_int({}, "LIMIT", 3, 1) == 3
    assert extra_int({"LIMIT": " 7 "}, "LIMIT", 3, 1) == 7


@pytest.mark.parametrize("raw", ["0", "-1", "-0.5"])
def test_an_interval_setting_must_be_positive(raw: str) -> None:
    with pytest.raises(SettingsError, match=f"ADUAN_TICK must be positive, not {re.escape(raw)}"):
        extra_positive({"TICK": raw}, "TICK", 60.0)
    assert extra_positive({"TICK": "0.5"}, "TICK", 60.0) == 0.5
