"""Routing's view of each case, as intake keeps it: the case status (may the complaint still be
withdrawn, or rated?) and the holding office (whose officers may see the reporter's contact).
Transport-free; `casestatus.py` feeds it from routing's events.

Kept in side tables, not as events of intake's own: routing's log holds the history already.
Each write carries routing's position, and a later position wins, so redeliveries and
out-of-order deliveries leave the latest decision.
"""

from __future__ import annotations

import uuid

from aduan_intake.domain import CaseStatus
from aduan_intake.sidetables import SideTables


class CaseView:
    def __init__(self, tables: SideTables) -> None:
        self.tables = tables

    def status(self, complaint_id: uuid.UUID) -> CaseStatus:
        """ACTIVE until routing resolves or closes the case."""
        record = self.tables.case_status(str(complaint_id))
        return CaseStatus.ACTIVE if record is None else CaseStatus(record.status)

    def holding_office(self, complaint_id: uuid.UUID) -> str:
        """The office routing placed the complaint with ("" before routing placed it)."""
        return self.tables.case_office(str(complaint_id))

    def note(
        self, complaint_id: str, status: CaseStatus | None, holding_office: str, position: int
    ) -> None:
        """Notes what routing's event at `position` decided: a status, a holding office, both or
        neither (an event about no complaint, or one that changes neither)."""
        if status is not None and complaint_id:
            self.tables.note_case_status(complaint_id, status.value, position)
        if holding_office and complaint_id:
            self.tables.note_case_office(complaint_id, holding_office, position)
