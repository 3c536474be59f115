"""What reacting to upstream events writes besides deliveries: the complaint records
(directory.py) and the ticket-number claims. One event writes them at once; a batch keeps them
here as its events leave them and writes them with its deliveries, in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aduan_notification.rules import ComplaintContact, Plan, UpstreamEvent

StoredRecord = tuple[ComplaintContact, int]
"""A complaint record and its version, as the directory stores it."""


@dataclass(frozen=True)
class Reaction:
    """One upstream event of a batch: its position in its upstream's log, the position it
    follows on from, and what it means here (None: nothing to do but record it as seen)."""

    service: str
    position: int
    previous_position: int
    event: UpstreamEvent | None


def claimed_ticket(event: UpstreamEvent, outcome: Plan) -> str | None:
    """The ticket number `event` makes this complaint's: a filing's, when it wrote the record
    (a filing seen again writes nothing, so it claims nothing)."""
    if event.event_type == "ComplaintFiled" and outcome.changed_contact is not None:
        return outcome.changed_contact.ticket_number
    return None


class BatchRecords:
    """The complaint records a batch touches: each as read before the batch (with its version)
    and as the batch's events have left it so far, and the tickets its filings claim."""

    def __init__(self, read: Mapping[str, StoredRecord | None]) -> None:
        """`read`: the stored record of every complaint the batch's events name (None: none)."""
        self._read = dict(read)
        self._current: dict[str, ComplaintContact | None] = {}
        self.tickets: dict[str, str] = {}

    def current(self, complaint_id: str) -> ComplaintContact | None:
        """The record the batch's next event about `complaint_id` is planned with."""
        if complaint_id not in self._current:
            before = self._read[complaint_id]
            self._current[complaint_id] = None if before is None else before[0]
        return self._current[complaint_id]

    def record_of(
        self, complaint_id: str, stored: Callable[[str], ComplaintContact | None]
    ) -> ComplaintContact | None:
        """Any complaint's record as the batch has left it; `stored` for one it has not
        touched yet."""
        if complaint_id in self._current:
            return self._current[complaint_id]
        return stored(complaint_id)

    def apply(self, event: UpstreamEvent, outcome: Plan) -> None:
        """Keeps what `outcome` (the plan of `event`) changes: the record, a ticket claim (the
        first claim of a ticket in the batch wins, as it would one event at a time)."""
        if outcome.changed_contact is not None:
            self._current[event.complaint_id] = outcome.changed_contact
        ticket = claimed_ticket(event, outcome)
        if ticket is not None:
            self.tickets.setdefault(ticket, event.complaint_id)

    def changed(self) -> list[StoredRecord]:
        """The records to write, each with the version it gets: those the batch changed."""
        records: list[StoredRecord] = []
        for complaint_id, contact in self._current.items():
            before = self._read[complaint_id]
            if contact is not None and (before is None or before[0] != contact):
                records.append((contact, 1 if before is None else before[1] + 1))
        return records
