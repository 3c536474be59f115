"""Anonymous reporters' tracking codes: the only key an anonymous reporter holds to their
complaint. Transport-free.

A code is random (`secrets`), never derived from the complaint id or ticket, which are shown to
officers and travel in events: whoever knows those must not be able to ask in the reporter's
name. Intake stores only a keyed hash of the code (the master key's tracking sub-key), as it does
for phone numbers, so a leaked table neither gives the codes nor allows a dictionary attack.
"""

from __future__ import annotations

import secrets
import uuid
from enum import StrEnum

from aduan.eventstore.store import SideWrites
from aduan_intake.sealing import MasterKey
from aduan_intake.sidetables import SideTables, SqlSideTables

# No 0/O, 1/I/L: read aloud or typed on a phone, the code must survive a misreading.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
GROUP_LENGTH = 5
SEPARATORS = " -"


class TrackedState(StrEnum):
    """The status an anonymous reporter is told, as far as intake knows it from routing's
    events: it does not follow acceptance, so ASSIGNED also covers a case being worked on."""

    RECEIVED = "RECEIVED"  # no office holds it yet
    ASSIGNED = "ASSIGNED"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"
    WITHDRAWN = "WITHDRAWN"


def new_tracking_code() -> str:
    """A fresh code, grouped for reading: "7KQ9M-2XHPA" (31^10, about 8 * 10^14 codes)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:GROUP_LENGTH]}-{raw[GROUP_LENGTH:]}"


def canonical_tracking_code(text: str) -> str | None:
    """The code as it is hashed (upper case, no separators); None when `text` cannot be one."""
    raw = "".join(ch for ch in text.upper() if ch not in SEPARATORS)
    if len(raw) != CODE_LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return raw


class TrackingCodes:
    """Issues codes and finds a code's complaint, through the side tables."""

    def __init__(self, tables: SideTables, master_key: MasterKey) -> None:
        self.tables = tables
        self.master_key = master_key

    def _digest(self, code: str) -> str:
        canonical = canonical_tracking_code(code)
        assert canonical is not None, "only codes from new_tracking_code are issued"
        return self.master_key.tracking_digest(canonical)

    def issue(self, complaint_id: uuid.UUID) -> str:
        """A new code for the complaint, stored (hashed) at once. Call it before the complaint is
        saved, as `ReporterVault.seal_reporter`: a lookup skips a complaint not saved (yet)."""
        code = new_tracking_code()
        self.tables.put_tracking_code(self._digest(code), str(complaint_id))
        return code

    def prepare(self, complaint_id: uuid.UUID) -> tuple[str, tuple[str, str]]:
        """A new code and its row (digest, complaint id), written later by `record` in the
        transaction that saves the complaint (group commit)."""
        code = new_tracking_code()
        return code, (self._digest(code), str(complaint_id))

    def record(self, side: SideWrites, rows: list[tuple[str, str]]) -> None:
        tables = self.tables
        assert isinstance(tables, SqlSideTables)
        tables.record_tracking_codes(side, rows)

    def complaint_for(self, text: str) -> uuid.UUID | None:
        """The complaint a code (as the reporter typed it) was issued for; None for a malformed
        or unknown code."""
        canonical = canonical_tracking_code(text)
        if canonical is None:
            return None
        found = self.tables.complaint_for_tracking_code(self.master_key.tracking_digest(canonical))
        return None if found is None else uuid.UUID(found)
