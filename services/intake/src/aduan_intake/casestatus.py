"""Adapter: routing's events -> intake's cache of the case status.

Intake must refuse a withdrawal after resolution and accept a rating only after it, but the
resolution is routing's decision, recorded in routing's log. Intake follows routing's
CaseResolved / CaseReopened / CaseClosed events (durable consumer "intake-case-status") and keeps
the latest status (and the holding office, which decides which officers may see the reporter's
contact) per complaint in a side table, not as events of its own: that would publish
routing's facts a second time under intake's name. Every routing event is tracked, relevant or
not, so that the consumer's position stays contiguous.
"""

from __future__ import annotations

from aduan.v1 import events_pb2
from aduan_intake.application import IntakeApplication
from aduan_intake.domain import CaseStatus

DURABLE = "intake-case-status"
UPSTREAMS = ("routing",)

STATUS_BY_PAYLOAD = {
    "case_resolved": CaseStatus.RESOLVED,
    "case_reopened": CaseStatus.ACTIVE,
    "case_closed": CaseStatus.CLOSED,
}


class CaseStatusProcessor:
    """The EnvelopeProcessor of the intake-case-status consumer."""

    def __init__(self, app: IntakeApplication) -> None:
        self.app = app

    def last_position(self, upstream: str) -> int:
        return self.app.tracked_position(upstream)

    def process(self, envelope: events_pb2.Envelope) -> None:
        payload = envelope.WhichOneof("payload") or ""
        status = STATUS_BY_PAYLOAD.get(payload)
        office = ""
        if payload == "case_routed":
            office = envelope.case_routed.to_office.code
        elif payload == "case_reassigned":
            office = envelope.case_reassigned.to_office.code
        self.app.note_case_status(
            envelope.service, envelope.position, envelope.complaint_id, status, office
        )
