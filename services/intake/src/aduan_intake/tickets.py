"""Ticket numbers, the short references reporters quote, held unique by claims in the
application's store (outside the event log). Transport-free.

A complaint tries its candidates (`filing.ticket_candidates`) in order and keeps the first that
no other complaint holds; a retry of the same filing finds its own claim and keeps it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aduan.core.errors import ConcurrencyConflictError
from aduan.eventstore.store import SideWrites, UniqueClaims
from aduan_intake.filing import ticket_candidates

# Namespace of the application's claims: ticket number -> complaint id.
TICKETS = "ticket"


class TicketNumbers:
    def __init__(self, claims: UniqueClaims) -> None:
        self.claims = claims

    def claim(self, complaint_id: uuid.UUID) -> str:
        """The complaint's ticket number: its first candidate not held by another complaint."""
        for ticket in ticket_candidates(complaint_id):
            if self.claims.claim(TICKETS, ticket, str(complaint_id)) == str(complaint_id):
                return ticket
        raise ConcurrencyConflictError("could not allocate a unique ticket number; retry")

    def claim_all(self, side: SideWrites, tickets: Sequence[tuple[str, uuid.UUID]]) -> None:
        """Claims every (ticket, complaint id) in `side`'s transaction; a ticket held already
        fails that transaction."""
        self.claims.claim_all(side, TICKETS, [(ticket, str(c)) for ticket, c in tickets])

    def holder(self, ticket: str) -> uuid.UUID | None:
        """The complaint holding `ticket` (as written, upper case), if any."""
        holder = self.claims.get(TICKETS, ticket)
        return None if holder is None else uuid.UUID(holder)
