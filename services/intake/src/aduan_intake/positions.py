"""The positions that repeated commands answer with. Transport-free.

A command repeated with the same idempotency key stores nothing, yet its caller still needs a
read-your-writes token: the position of what the first call stored. The first call records that
position under a key of its own in the application's unique claims (outside the event log);
a repeat reads it back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aduan.eventstore.store import SideWrites, UniqueClaims

# Namespaces of the application's claims, one per kind of repeatable command.
FILED = "filed-position"
MESSAGE = "message-position"
STATUS = "status-position"
ERASURE = "erasure-position"


class CommandPositions:
    def __init__(self, claims: UniqueClaims, head_position: Callable[[], int]) -> None:
        self.claims = claims
        self.head_position = head_position

    def record(self, namespace: str, key: str, position: int) -> None:
        self.claims.claim(namespace, key, str(position))

    def record_all(
        self, side: SideWrites, namespace: str, positions: Sequence[tuple[str, int]]
    ) -> None:
        """Records every (key, position) in `side`'s transaction."""
        self.claims.claim_all(side, namespace, [(key, str(p)) for key, p in positions])

    def recorded(self, namespace: str, key: str) -> int:
        """The position an earlier call recorded for `key`; the head when that call has not
        recorded it yet (a later position is still a correct read-your-writes token)."""
        recorded = self.claims.get(namespace, key)
        return int(recorded) if recorded is not None else self.head_position()

    def answer(self, namespace: str, key: str, position: int | None) -> int:
        """What a call answers: `position` when it stored something (`None`: it was a repeat),
        recorded for the repeats to come; else the position the first call recorded."""
        if position is not None:
            self.record(namespace, key, position)
            return position
        return self.recorded(namespace, key)
