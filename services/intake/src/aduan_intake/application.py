"""The intake application: files complaints exactly once, takes the reporter's follow-up actions,
and keeps the reporter's identity sealed. Pure domain: no transport."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from eventsourcing.persistence import IntegrityError

from aduan.core.context import CommandContext
from aduan.core.errors import ConcurrencyConflictError, InvalidStateError, NotFoundError
from aduan.eventstore.store import AduanApplication, SideWrites
from aduan_intake.caseview import CaseView
from aduan_intake.domain import (
    FILED_TEXTS,
    RATED_TEXTS,
    WITHDRAWN_TEXTS,
    Attachment,
    CaseStatus,
    CategoryFinding,
    Channel,
    Complaint,
    Conversation,
    DetailRequest,
    PlaceFinding,
    Reply,
)
from aduan_intake.filing import FilingRequest, FilingResult, ValidFiling, new_complaint
from aduan_intake.groupfiling import GroupAnswers, NewFiling, new_filing
from aduan_intake.lookups import Lookups
from aduan_intake.media import MediaStore
from aduan_intake.positions import ERASURE, FILED, MESSAGE, STATUS, CommandPositions
from aduan_intake.reveals import DEFAULT_PURPOSE, RevealPurpose, reveal
from aduan_intake.sealing import ANONYMOUS, Identity, MasterKey
from aduan_intake.senderlock import SenderLocks, sender_locks_for
from aduan_intake.sidetables import SideTables, side_tables_for
from aduan_intake.tickets import TicketNumbers
from aduan_intake.trackingcodes import TrackedState, TrackingCodes
from aduan_intake.validation import (
    validate_erasure,
    validate_filing,
    validate_message,
    validate_rating,
    validate_reveal,
    validate_status_request,
    validate_withdrawal,
)
from aduan_intake.vault import ReporterVault

T = TypeVar("T")

MAX_UPDATE_ATTEMPTS = 20


@dataclass(frozen=True)
class MessageResult:
    complaint_id: uuid.UUID
    message_id: str
    created: bool
    position: int


@dataclass(frozen=True)
class TrackedStatus:
    """What an anonymous reporter learns with their tracking code."""

    ticket_number: str
    status: TrackedState
    position: int


@dataclass(frozen=True)
class RevealedMessage:
    message_id: str
    text: str
    captions: list[str]


@dataclass(frozen=True)
class RevealedText:
    """A complaint's free texts as the reporter wrote them; `messages` in the order they were
    added, captions in their attachments' order."""

    complaint_id: uuid.UUID
    subject: str
    description: str
    captions: list[str]
    messages: list[RevealedMessage]
    withdrawal_reason: str
    rating_comment: str
    position: int

    def __repr__(self) -> str:  # the words stay out of tracebacks and logs
        return f"RevealedText(complaint={self.complaint_id}, <sealed>)"


@dataclass(frozen=True)
class RevealedContact:
    reporter_id: str
    identity: Identity
    position: int


class IntakeApplication(AduanApplication):
    name = "intake"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        master_key: MasterKey | None = None,
        media: MediaStore | None = None,
    ) -> None:
        super().__init__(env)
        self.master_key = master_key or MasterKey.development_key()
        # Where the reporters' WhatsApp media are kept (erased with the reporter).
        self.media = media
        self.tables: SideTables = side_tables_for(self.factory)
        self.vault = ReporterVault(self.tables, self.master_key)
        self.tracking_codes = TrackingCodes(self.tables, self.master_key)
        self.positions = CommandPositions(self.claims, self.head_position)
        self.cases = CaseView(self.tables)
        self.tickets = TicketNumbers(self.claims)
        self.lookups = Lookups(self.repository, self.tickets, self.vault, self.cases)
        # One WhatsApp sender's messages are decided one at a time across every replica on the
        # store (senderlock.py; WhatsAppInbound takes them).
        self.sender_locks: SenderLocks = sender_locks_for(self.factory)

    def close(self) -> None:
        self.sender_locks.close()
        super().close()

    # -- filing ----------------------------------------------------------------------------

    def file_complaint(self, request: FilingRequest, ctx: CommandContext) -> FilingResult:
        return self.file_valid(validate_filing(request), ctx)

    def file_valid(self, valid: ValidFiling, ctx: CommandContext) -> FilingResult:
        """Files one validated complaint in transactions of its own (`file_group` files many
        together)."""
        complaint_id = Complaint.create_id(valid.channel, valid.idempotency_key)
        existing = self.lookups.complaint(complaint_id)
        if existing is not None:
            return self._repeated_filing(existing)
        reporter = ANONYMOUS
        if valid.identity is not None:
            reporter = self.vault.seal_reporter(complaint_id, valid.identity)
        texts = self.vault.text_sealer(complaint_id)
        tracking_code = self.tracking_codes.issue(complaint_id) if valid.anonymous else ""
        ticket = self.tickets.claim(complaint_id)
        try:
            complaint = new_complaint(
                valid, ctx, ticket, reporter.reporter_id, reporter.masked_contact, texts
            )
            recordings = self.save(complaint)
        except IntegrityError:
            # A concurrent duplicate of this filing was saved first.
            existing = self.lookups.complaint(complaint_id)
            if existing is None:
                raise
            return self._repeated_filing(existing)
        position = recordings[-1].notification.id
        self.positions.record(FILED, str(complaint_id), position)
        return FilingResult(complaint_id, ticket, True, position, tracking_code)

    def file_group(
        self, filings: Sequence[tuple[ValidFiling, CommandContext]]
    ) -> list[FilingResult | Exception]:
        """Group commit: files validated complaints together, every new one (its complaint
        events, ticket claim, sealed reporter rows and filed position) in one transaction.
        Answers as `file_valid` would for each, in order; a filing's failure is its own result
        and never fails the others.

        A repeated idempotency key gets the answer of its first filing (created=False), also
        within the group. When the group's transaction fails (e.g. a concurrent duplicate from
        another writer, a ticket collision, a row left by an interrupted filing), each filing of
        it is filed on its own, where those cases are handled one by one."""
        if not self.joint_writes or not self.vault.joins_transactions:
            return [self._file_alone(valid, ctx) for valid, ctx in filings]
        ids = [Complaint.create_id(valid.channel, valid.idempotency_key) for valid, _ in filings]
        try:
            stored = self.existing_aggregates(ids)
        except Exception:
            return [self._file_alone(valid, ctx) for valid, ctx in filings]
        group = GroupAnswers(ids)
        fresh: list[NewFiling] = []
        for index in group.firsts():
            valid, ctx = filings[index]
            try:
                existing = self.lookups.complaint(ids[index]) if ids[index] in stored else None
                if existing is not None:
                    group.answer(index, self._repeated_filing(existing))
                else:
                    fresh.append(
                        new_filing(self.vault, self.tracking_codes, index, ids[index], valid, ctx)
                    )
            except Exception as error:
                group.answer(index, error)
        if fresh:
            try:
                for filing, result in zip(fresh, self._save_group(fresh), strict=True):
                    group.answer(filing.index, result)
            except Exception:
                for filing in fresh:
                    group.answer(filing.index, self._file_alone(*filings[filing.index]))
        return group.answers(lambda index: self._file_alone(*filings[index]))

    def _file_alone(self, valid: ValidFiling, ctx: CommandContext) -> FilingResult | Exception:
        try:
            return self.file_valid(valid, ctx)
        except Exception as error:
            return error

    def _save_group(self, fresh: list[NewFiling]) -> list[FilingResult]:
        """Saves the new filings in one transaction; their results, in order."""
        side = SideWrites()
        self.vault.record_new_reporters(
            side,
            [f.reporter for f in fresh if f.reporter is not None],
            [f.text_key for f in fresh if f.text_key is not None],
        )
        self.tracking_codes.record(side, [f.tracking[1] for f in fresh if f.tracking is not None])
        self.tickets.claim_all(side, [(f.ticket, f.complaint.id) for f in fresh])
        side.after_insert(
            lambda positions: self.positions.record_all(
                side, FILED, [(str(f.complaint.id), positions[f.complaint.id]) for f in fresh]
            )
        )
        recordings = self.save_with(*(f.complaint for f in fresh), side=side)
        last = {r.domain_event.originator_id: r.notification.id for r in recordings}
        return [
            FilingResult(
                f.complaint.id,
                f.ticket,
                True,
                last[f.complaint.id],
                f.tracking[0] if f.tracking is not None else "",
            )
            for f in fresh
        ]

    def _repeated_filing(self, existing: Complaint) -> FilingResult:
        position = self.positions.recorded(FILED, str(existing.id))
        return FilingResult(existing.id, existing.ticket_number, False, position)

    # -- reporter actions ------------------------------------------------------------------

    def add_reporter_message(
        self,
        complaint_ref: str,
        *,
        idempotency_key: str,
        channel: Channel | None,
        text: str,
        attachments: Sequence[Attachment],
        ctx: CommandContext,
    ) -> MessageResult:
        message = validate_message(idempotency_key, channel, text, attachments)
        complaint_id = self.resolve(complaint_ref)
        texts = self.vault.text_sealer(complaint_id)
        message_id, position = self._update(
            complaint_id,
            lambda c: c.add_message(
                idempotency_key=message.idempotency_key,
                channel=message.channel,
                text=message.text,
                attachments=message.attachments,
                ctx=ctx,
                texts=texts,
            ),
        )
        answered = self.positions.answer(MESSAGE, message_id, position)
        return MessageResult(complaint_id, message_id, position is not None, answered)

    def withdraw_complaint(self, complaint_ref: str, reason: str, ctx: CommandContext) -> int:
        reason = validate_withdrawal(reason)
        complaint_id = self.resolve(complaint_ref)
        status = self.case_status(complaint_id)
        texts = self.vault.text_sealer(complaint_id)
        _, position = self._update(
            complaint_id,
            lambda c: c.withdraw(reason=reason, case_status=status, ctx=ctx, texts=texts),
        )
        assert position is not None
        return position

    def rate_resolution(
        self, complaint_ref: str, rating: int, comment: str, ctx: CommandContext
    ) -> int:
        comment = validate_rating(rating, comment)
        complaint_id = self.resolve(complaint_ref)
        status = self.case_status(complaint_id)
        texts = self.vault.text_sealer(complaint_id)
        _, position = self._update(
            complaint_id,
            lambda c: c.rate(
                rating=rating, comment=comment, case_status=status, ctx=ctx, texts=texts
            ),
        )
        assert position is not None
        return position

    def request_status(
        self,
        complaint_ref: str,
        *,
        channel: Channel | None,
        idempotency_key: str,
        ctx: CommandContext,
    ) -> int:
        channel, key = validate_status_request(channel, idempotency_key)
        complaint_id = self.resolve(complaint_ref)
        _, position = self._update(
            complaint_id,
            lambda c: c.request_status(channel=channel, idempotency_key=key, ctx=ctx),
        )
        return self.positions.answer(STATUS, f"{complaint_id}:{key}", position)

    def request_status_by_tracking_code(
        self,
        tracking_code: str,
        *,
        channel: Channel | None,
        idempotency_key: str,
        ctx: CommandContext,
    ) -> TrackedStatus:
        """Records an anonymous reporter's status request, found by their tracking code, and
        answers the status. A malformed or unknown code (or one whose complaint was never saved)
        is the same NotFoundError, so a guess learns nothing about which complaints exist."""
        channel, key = validate_status_request(channel, idempotency_key)
        complaint_id = self.tracking_codes.complaint_for(tracking_code)
        complaint = None if complaint_id is None else self.lookups.complaint(complaint_id)
        if complaint is None:
            raise NotFoundError("no complaint has this tracking code")
        _, position = self._update(
            complaint.id,
            lambda c: c.request_status(channel=channel, idempotency_key=key, ctx=ctx),
        )
        answered = self.positions.answer(STATUS, f"{complaint.id}:{key}", position)
        # A status request changes no state, so the complaint as loaded still tells it.
        return TrackedStatus(complaint.ticket_number, self._tracked_state(complaint), answered)

    def _tracked_state(self, complaint: Complaint) -> TrackedState:
        if complaint.withdrawn:
            return TrackedState.WITHDRAWN
        status = self.cases.status(complaint.id)
        if status is CaseStatus.ACTIVE:
            held = bool(self.cases.holding_office(complaint.id))
            return TrackedState.ASSIGNED if held else TrackedState.RECEIVED
        return TrackedState(status.value)

    # -- the sealed identity ---------------------------------------------------------------

    def reveal_contact(
        self,
        complaint_ref: str,
        purpose: str,
        ctx: CommandContext,
        reveal_purpose: RevealPurpose | None = DEFAULT_PURPOSE,
    ) -> RevealedContact:
        """The fields of the reporter's identity that `reveal_purpose` returns (the others are
        empty), for an authorised caller; the reveal is recorded first."""
        purpose, kind = validate_reveal(purpose, reveal_purpose)
        holder = self.lookups.contact_holder(complaint_ref)
        holder.check_contact_revealable()
        reporter_id = holder.reporter_id
        identity = self.vault.open(reporter_id)
        if identity is None:
            raise InvalidStateError(f"the reporter of {complaint_ref} was erased: no contact")
        _, position = self._update(
            holder.id,
            lambda c: c.reveal_contact(purpose=purpose, reveal_purpose=kind, ctx=ctx),
        )
        assert position is not None
        return RevealedContact(reporter_id, reveal(identity, kind), position)

    def reveal_text(
        self,
        complaint_ref: str,
        purpose: str,
        ctx: CommandContext,
        reveal_purpose: RevealPurpose | None = DEFAULT_PURPOSE,
    ) -> RevealedText:
        """The reporter's free texts as written, for an authorised caller; the reveal is
        recorded (TextRevealed) before they are returned. Refused once the reporter was erased
        (their data key, and with it every sealed text, is gone)."""
        purpose, kind = validate_reveal(purpose, reveal_purpose)
        complaint = self.get_complaint(complaint_ref)
        complaint.check_text_revealable()
        texts = self.vault.text_sealer(complaint.id)
        opened: dict[tuple[str, str], str] = {}
        for written in complaint.written:
            if not written.sealed:
                # Stored before texts were sealed (the words as written), or after the key was
                # gone (the redacted copy is all there is).
                opened[written.item, written.field] = written.stored
            elif not texts.can_open:
                raise InvalidStateError(f"the reporter of {complaint_ref} was erased: no text")
            else:
                opened[written.item, written.field] = texts.open(
                    written.item, written.field, written.sealed
                )
        _, position = self._update(
            complaint.id,
            lambda c: c.reveal_text(
                purpose=purpose,
                reveal_purpose=kind,
                fields=[written.revealed_as for written in complaint.written],
                ctx=ctx,
            ),
        )
        assert position is not None
        messages = [
            RevealedMessage(message_id, opened.get((message_id, "text"), ""), [])
            for message_id in complaint.messages.values()
        ]
        return RevealedText(
            complaint.id,
            subject=opened.get((FILED_TEXTS, "subject"), ""),
            description=opened.get((FILED_TEXTS, "description"), ""),
            captions=_captions(opened, FILED_TEXTS),
            messages=[
                RevealedMessage(m.message_id, m.text, _captions(opened, m.message_id))
                for m in messages
            ],
            withdrawal_reason=opened.get((WITHDRAWN_TEXTS, "reason"), ""),
            rating_comment=opened.get((RATED_TEXTS, "comment"), ""),
            position=position,
        )

    def erase_reporter(self, reporter_id: str, reason: str, ctx: CommandContext) -> int:
        """Destroys the reporter's data key (and their phone index entries), then records the
        erasure. A retry after a failure in between completes the record."""
        reporter_id, reason = validate_erasure(reporter_id, reason)
        holder_id = self.vault.holder_of(reporter_id)
        if holder_id is None:
            raise NotFoundError(f"reporter {reporter_id!r} not found")
        self.vault.destroy(reporter_id)
        if self.media is not None:
            self.media.delete_prefix(reporter_id)
        _, position = self._update(holder_id, lambda c: c.erase_reporter(reason=reason, ctx=ctx))
        return self.positions.answer(ERASURE, reporter_id, position)

    def identity_is_recoverable(self, reporter_id: str) -> bool:
        return self.vault.is_recoverable(reporter_id)

    # -- where and what, learned after filing ---------------------------------------------

    def learn_details(
        self,
        complaint_ref: str,
        *,
        place: PlaceFinding | None,
        category: CategoryFinding | None,
        ask: DetailRequest | None,
        answer_key: str,
        answer_due: datetime,
        ctx: CommandContext,
    ) -> tuple[uuid.UUID, int | None]:
        """Records what the reporter's message `answer_key` told about the complaint and the
        next question, once per message. Returns the complaint id and the position of the last
        event stored (None for a repeat)."""
        complaint_id = self.resolve(complaint_ref)
        _, position = self._update(
            complaint_id,
            lambda c: c.learn(
                place=place,
                category=category,
                ask=ask,
                ctx=ctx,
                answer_key=answer_key,
                answer_due=answer_due,
            ),
        )
        return complaint_id, position

    # -- answers about no complaint ----------------------------------------------------------

    def reply_to_sender(
        self, phone: str, profile_name: str, reply: Reply, ctx: CommandContext
    ) -> tuple[uuid.UUID, bool]:
        """Records that the WhatsApp sender `phone` is owed `reply` (about no complaint of
        theirs), once per inbound message. The number is sealed like a reporter's, under the
        sender's conversation. Returns the conversation id and whether this call recorded it.
        A sender whose data were erased gets no answer (there is no contact left to use)."""
        conversation_id = Conversation.id_for(self.vault.phone_digest(phone))
        for _ in range(MAX_UPDATE_ATTEMPTS):
            conversation = self.lookups.conversation(conversation_id)
            if conversation is None:
                sender = Identity(name=profile_name, phone=phone)
                sealed = self.vault.seal_sender(conversation_id, sender)
                conversation = Conversation.start(
                    conversation_id=conversation_id,
                    reporter_id=sealed.reporter_id,
                    masked_contact=sealed.masked_contact,
                    reply=reply,
                    ctx=ctx,
                )
            elif conversation.reporter_erased or not conversation.answer(reply, ctx):
                return conversation_id, False
            try:
                self.save(conversation)
            except IntegrityError:
                continue  # a concurrent first message of this sender: decide again
            return conversation_id, True
        raise ConcurrencyConflictError(f"conversation {conversation_id} is busy; retry")

    def reporter_owns(self, complaint: Complaint, phone: str) -> bool:
        """Whether `phone` filed `complaint` (through the phone index, without storing it)."""
        return str(complaint.id) in self.vault.complaints_for_phone(phone)

    # -- routing's view of the case --------------------------------------------------------

    def case_status(self, complaint_id: uuid.UUID) -> CaseStatus:
        return self.cases.status(complaint_id)

    def note_case_status(
        self,
        upstream: str,
        position: int,
        complaint_id: str,
        status: CaseStatus | None,
        holding_office: str = "",
    ) -> None:
        """Records routing's case status (when `status` is given) and that event `position` of
        `upstream` is processed. The status write is idempotent (a later routing position wins),
        so a crash between the two writes is repaired by the redelivery.

        Raises DuplicateEventError when the event was processed already."""
        self.cases.note(complaint_id, status, holding_office, position)
        self.save_reaction(upstream, position)

    def holding_office(self, complaint_ref: str) -> str:
        """The office routing placed the complaint with ("" before routing placed it)."""
        return self.cases.holding_office(self.get_complaint(complaint_ref).id)

    # -- follow-up threading ---------------------------------------------------------------

    def open_complaint_for_phone(self, phone: str) -> Complaint | None:
        """The newest complaint from `phone` (E.164) that is neither withdrawn nor closed: it
        stays the thread for the reporter's messages while it is open, however old."""
        open_complaints = self.lookups.open_complaints_for_phone(phone)
        return open_complaints[0] if open_complaints else None

    def open_complaints_for_phone(self, phone: str) -> list[Complaint]:
        """Every complaint from `phone` that is neither withdrawn nor closed, newest first."""
        return self.lookups.open_complaints_for_phone(phone)

    # -- reading ---------------------------------------------------------------------------

    def get_complaint(self, complaint_ref: str) -> Complaint:
        return self.lookups.get_complaint(complaint_ref)

    def resolve(self, complaint_ref: str) -> uuid.UUID:
        """A complaint id, or a ticket number, to the id of an existing complaint."""
        return self.lookups.resolve(complaint_ref)

    def _update(self, complaint_id: uuid.UUID, change: Callable[[Any], T]) -> tuple[T, int | None]:
        """Applies `change` to the current complaint and saves what it recorded, retrying on a
        concurrent write. Returns the change's result and the position of the last stored event
        (None when the change recorded nothing, e.g. a repeated command)."""
        for _ in range(MAX_UPDATE_ATTEMPTS):
            complaint = self.lookups.aggregate(complaint_id)
            if complaint is None:
                raise NotFoundError(f"complaint {complaint_id} not found")
            result = change(complaint)
            try:
                recordings = self.save(complaint)
            except IntegrityError:
                continue  # another writer changed the complaint first: decide again
            return result, (recordings[-1].notification.id if recordings else None)
        raise ConcurrencyConflictError(f"complaint {complaint_id} is busy; retry")


def _captions(opened: Mapping[tuple[str, str], str], item: str) -> list[str]:
    """The opened captions of one event's attachments, in their order (an empty caption is
    not kept, so one that follows it keeps its place)."""
    count = 1 + max(
        (
            int(name.removeprefix("caption."))
            for i, name in opened
            if i == item and name.startswith("caption.")
        ),
        default=-1,
    )
    return [opened.get((item, f"caption.{index}"), "") for index in range(count)]


__all__: list[Any] = [
    "FilingRequest",
    "FilingResult",
    "IntakeApplication",
    "MessageResult",
    "RevealedContact",
    "RevealedMessage",
    "RevealedText",
    "TrackedStatus",
]
