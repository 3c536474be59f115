"""Finding what a command or a question is about: a complaint by id or ticket number, a WhatsApp
sender's conversation, the open complaints a phone number filed. Reads only (the repository, the
ticket numbers, the vault's phone index). Transport-free.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Repository

from aduan.core.errors import FieldViolation, NotFoundError, ValidationError
from aduan_intake.caseview import CaseView
from aduan_intake.domain import CaseStatus, Complaint, Conversation
from aduan_intake.tickets import TicketNumbers
from aduan_intake.vault import ReporterVault


class Lookups:
    def __init__(
        self,
        repository: Repository[Any],
        tickets: TicketNumbers,
        vault: ReporterVault,
        cases: CaseView,
    ) -> None:
        self.repository = repository
        self.tickets = tickets
        self.vault = vault
        self.cases = cases

    def aggregate(self, aggregate_id: uuid.UUID) -> Complaint | Conversation | None:
        try:
            aggregate: Complaint | Conversation = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate

    def complaint(self, complaint_id: uuid.UUID) -> Complaint | None:
        found = self.aggregate(complaint_id)
        return found if isinstance(found, Complaint) else None

    def conversation(self, conversation_id: uuid.UUID) -> Conversation | None:
        found = self.aggregate(conversation_id)
        return found if isinstance(found, Conversation) else None

    def resolve(self, complaint_ref: str) -> uuid.UUID:
        """A complaint id, or a ticket number, to the id of an existing complaint."""
        ref = complaint_ref.strip()
        if not ref:
            raise ValidationError(FieldViolation("complaint_id", "required"))
        try:
            complaint_id = uuid.UUID(ref)
        except ValueError:
            holder = self.tickets.holder(ref.upper())
            if holder is None:
                raise NotFoundError(f"complaint {complaint_ref!r} not found") from None
            complaint_id = holder
        if self.complaint(complaint_id) is None:
            raise NotFoundError(f"complaint {complaint_ref!r} not found")
        return complaint_id

    def get_complaint(self, complaint_ref: str) -> Complaint:
        complaint = self.complaint(self.resolve(complaint_ref))
        if complaint is None:
            raise NotFoundError(f"complaint {complaint_ref!r} not found")
        return complaint

    def contact_holder(self, ref: str) -> Complaint | Conversation:
        """The complaint (by id or ticket number), or the WhatsApp conversation (by id), whose
        reporter's contact is asked for."""
        try:
            return self.get_complaint(ref)
        except NotFoundError:
            try:
                conversation = self.conversation(uuid.UUID(ref.strip()))
            except ValueError:
                conversation = None
            if conversation is None:
                raise
            return conversation

    def open_complaints_for_phone(self, phone: str) -> list[Complaint]:
        """Every complaint from `phone` (E.164) that is neither withdrawn nor closed, newest
        first."""
        found: list[Complaint] = []
        for complaint_id in self.vault.complaints_for_phone(phone):
            complaint = self.complaint(uuid.UUID(complaint_id))
            if complaint is None or complaint.withdrawn:
                continue
            if self.cases.status(complaint.id) == CaseStatus.CLOSED:
                continue
            found.append(complaint)
        return sorted(found, key=lambda c: c.filed_at, reverse=True)
