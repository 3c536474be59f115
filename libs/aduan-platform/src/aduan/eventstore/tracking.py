"""The tracking rule (docs/architecture.md, rules 2 and 7): whether an upstream event follows on
from the last position processed of its upstream, was processed before, or reveals a gap.

Every consumer decides by this module: routing's and notification's batches, query's projector
and its bulk fold. Transport-free: positions and upstream names only, no envelopes.
"""

from __future__ import annotations

from collections.abc import Callable


class PositionGapError(Exception):
    """An upstream event does not follow on from the last one processed (an earlier one is
    missing): the consumer repairs the gap from the upstream's EventLog first."""


def follows_on(upstream: str, position: int, previous_position: int, last: int) -> bool:
    """Whether event `position` of `upstream` is to be processed now that `upstream` is processed
    up to `last`: False when it was processed before; PositionGapError when an event before it
    (its `previous_position`, as the upstream saw it) has not been processed yet."""
    if position <= last:
        return False
    if previous_position > last:
        raise PositionGapError(
            f"{upstream}:{position} follows {previous_position}, "
            f"but {upstream} is processed up to {last}"
        )
    return True


class BatchPositions:
    """The tracking rule across one batch of events from several upstreams: each upstream's
    tracked position is read once, when the batch first meets it, and the events the batch
    admits move it on in memory, so the batch writes every tracking record once at the end."""

    def __init__(self, known_position: Callable[[str], int]) -> None:
        self._known_position = known_position
        # The position each upstream met was tracked at when the batch began: what the batch
        # was decided on, for the store to check in the batch's transaction.
        self.tracked: dict[str, int] = {}
        # The newest position admitted per upstream (only upstreams with an admitted event).
        self.newest: dict[str, int] = {}

    def admit(self, upstream: str, position: int, previous_position: int) -> bool:
        """`follows_on` against the batch so far; an admitted event moves `upstream` on."""
        if upstream not in self.tracked:
            self.tracked[upstream] = self._known_position(upstream)
        last = self.newest.get(upstream, self.tracked[upstream])
        if not follows_on(upstream, position, previous_position, last):
            return False
        self.newest[upstream] = position
        return True
