"""The bulk fold that rebuilds use must produce exactly what live projection produces."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from aduan.eventstore.tracking import PositionGapError
from aduan.v1 import common_pb2, events_pb2
from aduan_devtools.testing.query import EPOCH, History, lifecycle, scenario
from aduan_query.fold import BulkFold, fold_stream
from aduan_query.projector import Projector
from aduan_query.readmodels import LIVE, make_engine, migrate
from aduan_query.rebuild import compare


async def stream(envelopes: Iterable[events_pb2.Envelope]) -> AsyncIterator[events_pb2.Envelope]:
    for envelope in envelopes:
        yield envelope


def add_checkpoint(history: History) -> None:
    """A sealed checkpoint (no complaint), as every write service emits them, after the rest."""
    history.add(
        EPOCH + timedelta(days=400),
        "",
        events_pb2.CheckpointSealed(
            from_position=1,
            to_position=40,
            event_count=40,
            root=b"\x01" * 32,
            key_id="routing-2026",
            public_key=b"\x02" * 32,
            signature=b"\x03" * 64,
        ),
    )
    history.seal()


async def fold_into(tmp_path: Path, name: str, history: History) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    migrate(engine)
    folded = await fold_stream(engine, LIVE, stream(history.in_history_order()), flush_events=500)
    assert folded.events == sum(len(log) for log in history.logs.values())
    return engine


@pytest.mark.parametrize("seed", [3, 8])
async def test_the_bulk_fold_equals_live_projection_in_any_upstream_interleaving(
    tmp_path: Path, seed: int
) -> None:
    history, _ = scenario(80, seed=seed)
    add_checkpoint(history)
    live = make_engine(f"sqlite:///{tmp_path / 'live.sqlite'}")
    migrate(live)
    projector = Projector(live)
    for envelope in history.interleaved(random.Random(seed)):
        projector.process(envelope)

    folded = await fold_into(tmp_path, "folded.sqlite", history)
    with live.connect() as mine, folded.connect() as theirs:
        counts, differences = compare(mine, theirs, left_name="live", right_name="fold")
    assert differences == []
    assert counts["complaints"] == 80
    assert counts["checkpoints"] == 1
    assert counts["custody"] > 80
    assert counts["office_queue"] > 80
    assert counts["complaint_versions"] > counts["complaints"]
    live.dispose()
    folded.dispose()


async def test_one_complaint_through_its_whole_lifecycle_folds_like_the_projector(
    tmp_path: Path,
) -> None:
    history, _ = lifecycle()
    live = make_engine(f"sqlite:///{tmp_path / 'live.sqlite'}")
    migrate(live)
    Projector(live).process_batch(history.in_history_order())
    folded = await fold_into(tmp_path, "folded.sqlite", history)
    with live.connect() as mine, folded.connect() as theirs:
        assert compare(mine, theirs)[1] == []
    live.dispose()
    folded.dispose()


def test_the_fold_skips_what_it_projected_and_refuses_gaps() -> None:
    history, _ = lifecycle()
    first, second, third = history.logs["routing"][:3]
    fold = BulkFold()
    assert fold.add(first)
    assert not fold.add(first)
    with pytest.raises(PositionGapError):
        fold.add(third)
    assert fold.add(second)
    assert fold.positions == {"routing": 2}


async def test_folding_in_a_child_process_gives_the_same_tables(tmp_path: Path) -> None:
    history, _ = scenario(60, seed=5)
    in_process = await fold_into(tmp_path, "here.sqlite", history)
    child = make_engine(f"sqlite:///{tmp_path / 'child.sqlite'}")
    migrate(child)
    progress: list[tuple[int, int]] = []
    folded = await fold_stream(
        child,
        LIVE,
        stream(history.in_history_order()),
        lambda done, expected: progress.append((done, expected)),
        flush_events=300,
        worker=True,
    )
    assert folded.events == sum(len(log) for log in history.logs.values())
    assert folded.positions == {s: len(log) for s, log in history.logs.items() if log}
    assert progress[-1] == (folded.events, folded.events)
    with in_process.connect() as mine, child.connect() as theirs:
        counts, differences = compare(mine, theirs, left_name="in process", right_name="child")
    assert differences == []
    assert counts["complaints"] == 60
    in_process.dispose()
    child.dispose()


async def test_a_gap_found_in_the_child_process_is_reported_as_a_gap(tmp_path: Path) -> None:
    history, _ = lifecycle()
    routing = history.logs["routing"]
    engine = make_engine(f"sqlite:///{tmp_path / 'child.sqlite'}")
    migrate(engine)
    with pytest.raises(PositionGapError):
        await fold_stream(engine, LIVE, stream([routing[0], routing[2]]), worker=True)
    engine.dispose()


WORDS = ("Budi Santoso", "Jl. Kenanga 7")


async def test_an_erasure_blanks_the_reporters_words_live_and_in_a_rebuild(
    tmp_path: Path,
) -> None:
    """A redacted copy may still name people and places: once the reporter is erased, no row,
    version or audit entry of the complaint keeps it, and a rebuild gives the same rows."""
    history = History()
    complaint, t = "c-erased", EPOCH
    history.add(
        t,
        complaint,
        events_pb2.ComplaintFiled(
            ticket_number="ADU-E-1",
            subject=f"Tanah {WORDS[0]}",
            description=f"Rumah di {WORDS[1]}, NIK [NIK]",
            attachments=[common_pb2.Attachment(uri="u", caption=WORDS[0])],
            redaction_rules=["nik"],
        ),
    )
    history.add(t + timedelta(hours=1), complaint, events_pb2.CaseOpened(ticket_number="ADU-E-1"))
    history.add(
        t + timedelta(hours=2),
        complaint,
        events_pb2.ReporterMessageAdded(message_id="m", text=f"Saya {WORDS[0]}"),
    )
    history.add(t + timedelta(hours=3), complaint, events_pb2.ComplaintWithdrawn(reason=WORDS[1]))
    history.add(
        t + timedelta(hours=4), complaint, events_pb2.ReporterErased(reporter_id="r", reason="x")
    )
    history.seal()
    live = make_engine(f"sqlite:///{tmp_path / 'live.sqlite'}")
    migrate(live)
    projector = Projector(live)
    for envelope in history.in_history_order():
        projector.process(envelope)

    folded = await fold_into(tmp_path, "folded.sqlite", history)
    for engine in (live, folded):
        with engine.connect() as conn:
            rows = [
                dict(row._mapping)
                for table in (LIVE.complaints, LIVE.versions, LIVE.audit)
                for row in conn.execute(select(table))
            ]
        assert len(rows) > 5
        dump = repr(rows).encode()
        for word in WORDS:
            assert word.encode() not in dump
        assert b"masked: nik" in dump  # what was masked stays on record
    with live.connect() as mine, folded.connect() as theirs:
        assert compare(mine, theirs)[1] == []
    live.dispose()
    folded.dispose()
