"""The tracking rule (`aduan.eventstore.tracking`): in order, already processed, a gap, and a batch over
several upstreams."""

from __future__ import annotations

import pytest

from aduan.eventstore.tracking import BatchPositions, PositionGapError, follows_on


def test_the_next_event_in_order_follows_on() -> None:
    assert follows_on("intake", 6, 5, 5)


def test_an_event_that_skips_positions_the_upstream_never_published_follows_on() -> None:
    # Positions are the upstream's whole log: its previous published event is what counts.
    assert follows_on("intake", 9, 5, 5)


@pytest.mark.parametrize("position", [5, 3, 1])
def test_an_event_processed_before_does_not_follow_on(position: int) -> None:
    assert not follows_on("intake", position, position - 1, 5)


def test_a_gap_is_an_error_naming_the_event_and_the_tracked_position() -> None:
    with pytest.raises(PositionGapError) as raised:
        follows_on("routing", 9, 7, 5)

    assert str(raised.value) == "routing:9 follows 7, but routing is processed up to 5"


def test_a_duplicate_is_recognised_before_a_gap() -> None:
    # A redelivered old event looks like a gap by its previous position, but was processed.
    assert not follows_on("intake", 4, 3, 5)


def test_the_first_event_of_an_upstream_follows_on_from_nothing() -> None:
    assert follows_on("notification", 1, 0, 0)


def test_a_batch_reads_each_upstream_once_and_moves_it_on_in_memory() -> None:
    known = {"intake": 3, "routing": 10}
    asked: list[str] = []

    def known_position(upstream: str) -> int:
        asked.append(upstream)
        return known.get(upstream, 0)

    positions = BatchPositions(known_position)

    admitted = [
        positions.admit("intake", 4, 3),
        positions.admit("routing", 10, 9),  # processed before the batch
        positions.admit("intake", 5, 4),
        positions.admit("routing", 11, 10),
        positions.admit("intake", 5, 4),  # twice in one batch
        positions.admit("notification", 1, 0),
        positions.admit("intake", 7, 5),
    ]

    assert admitted == [True, False, True, True, False, True, True]
    assert asked == ["intake", "routing", "notification"]
    assert positions.tracked == {"intake": 3, "routing": 10, "notification": 0}
    assert positions.newest == {"intake": 7, "routing": 11, "notification": 1}


def test_a_batch_tracks_an_upstream_it_only_skipped_but_has_no_newest_for_it() -> None:
    positions = BatchPositions(lambda upstream: 8)

    assert not positions.admit("intake", 8, 7)

    assert positions.tracked == {"intake": 8}
    assert positions.newest == {}


def test_a_gap_within_a_batch_is_measured_from_what_the_batch_admitted() -> None:
    positions = BatchPositions(lambda upstream: 2)
    assert positions.admit("intake", 3, 2)

    with pytest.raises(
        PositionGapError, match=r"^intake:6 follows 4, but intake is processed up to 3$"
    ):
        positions.admit("intake", 6, 4)

    assert positions.newest == {"intake": 3}
