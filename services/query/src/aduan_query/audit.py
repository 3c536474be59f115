"""The audit trail's rows: one per event of any service (who, which offices, reason, note, rule
and a one-line summary, with the envelope itself), and one per sealed checkpoint.

`audit_details` dispatches on the event kind through `AUDITS`, one small function per kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aduan.v1 import common_pb2, events_pb2
from aduan_query.history import enum_name, stamp


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made the
# audit row of every projected event measurably slower (a rebuild builds one per event).
@dataclass(slots=True)
class AuditDetails:
    """What the audit trail says about one event beyond its envelope."""

    summary: str
    from_office: str = ""
    to_office: str = ""
    reason_code: str = ""
    note: str = ""
    rule_id: str = ""
    ruleset_version: str = ""

    def as_dict(self) -> dict[str, str]:
        """The audit-trail columns, in their table order."""
        return {
            "from_office": self.from_office,
            "to_office": self.to_office,
            "reason_code": self.reason_code,
            "note": self.note,
            "rule_id": self.rule_id,
            "ruleset_version": self.ruleset_version,
            "summary": self.summary,
        }


def _office(ref: common_pb2.OfficeRef) -> str:
    return str(ref.code)


# One function per event kind: (the event's payload, its envelope) -> details.


def _masked(payload: Any) -> str:
    """What the redacted copy of the event's text masked, e.g. " (masked: nik, phone-mobile)"
    ("" when nothing, or for an event stored before texts were redacted)."""
    rules = list(payload.redaction_rules)
    return f" (masked: {', '.join(rules)})" if rules else ""


def _complaint_filed(filed: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    channel = enum_name(common_pb2.Channel, filed.channel, "CHANNEL_")
    return AuditDetails(f"Filed {filed.ticket_number} via {channel}{_masked(filed)}")


def _reporter_message_added(added: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    # The note is the redacted copy, as the complaint's description is: the desk shows the
    # conversation from the trail (blanked with the rest once the reporter is erased).
    return AuditDetails(f"Reporter added a message{_masked(added)}", note=added.text)


def _checkpoint_sealed(sealed: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails(
        f"Log sealed: positions {sealed.from_position}..{sealed.to_position} "
        f"({sealed.event_count} events), key {sealed.key_id}"
    )


def _complaint_withdrawn(withdrawn: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails(f"Withdrawn by the reporter{_masked(withdrawn)}", note=withdrawn.reason)


def _resolution_rated(rated: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails(f"Resolution rated {rated.rating}/5{_masked(rated)}", note=rated.comment)


def _finding(found: Any, summary: str) -> AuditDetails:
    """A ComplaintLocated or ComplaintClassified: the rule and the evidence it rested on."""
    return AuditDetails(
        summary,
        rule_id=found.rule_id,
        ruleset_version=found.rules_version,
        note=found.evidence,
    )


def _source(found: Any) -> str:
    return enum_name(events_pb2.DetailSource, found.source, "DETAIL_SOURCE_").lower()


def _complaint_located(located: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    where = located.location.regency_code or located.location.province_code
    return _finding(located, f"Located in {where} ({_source(located)})")


def _complaint_classified(classified: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    category = enum_name(common_pb2.Category, classified.category, "CATEGORY_")
    return _finding(classified, f"Classified as {category} ({_source(classified)})")


def _conversation_reply_requested(requested: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    reply = enum_name(events_pb2.ConversationReply, requested.reply, "CONVERSATION_REPLY_")
    return AuditDetails(f"WhatsApp sender answered: {reply.lower().replace('_', ' ')}")


def _details_requested(requested: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    question = enum_name(events_pb2.DetailQuestion, requested.question, "DETAIL_QUESTION_")
    return AuditDetails(f"Reporter asked for the {question.lower()}")


def _status_requested(requested: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails("Reporter asked for the status")


def _revealed(what: str, revealed: Any) -> AuditDetails:
    """A ContactRevealed or TextRevealed: for what, the purpose and the fields revealed."""
    summary = f"{what} revealed for {revealed.purpose}"
    # UNSPECIFIED: a reveal made before purposes, whose kind and fields were not recorded (it
    # returned the whole identity); its summary stays as it always read.
    if revealed.reveal_purpose != common_pb2.REVEAL_PURPOSE_UNSPECIFIED:
        try:
            kind = enum_name(common_pb2.RevealPurpose, revealed.reveal_purpose, "REVEAL_PURPOSE_")
        except ValueError:  # a purpose added after this version
            kind = str(revealed.reveal_purpose)
        fields = ", ".join(revealed.revealed_fields)
        summary += f" ({kind.lower().replace('_', ' ')}: {fields})"
    return AuditDetails(summary, note=revealed.purpose)


def _contact_revealed(revealed: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return _revealed("Contact", revealed)


def _text_revealed(revealed: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return _revealed("Text", revealed)


def _reporter_erased(erased: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails("Reporter's personal data erased", note=erased.reason)


def _case_opened(opened: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails("Case opened")


def _case_routed(routed: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails(
        f"Routed to {routed.to_office.code} by rule {routed.rule_id}",
        to_office=_office(routed.to_office),
        rule_id=routed.rule_id,
        ruleset_version=routed.ruleset_version,
    )


def _case_classified(classified: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    category = enum_name(common_pb2.Category, classified.category, "CATEGORY_")
    return AuditDetails(f"Classified as {category}", note=classified.note)


def _case_accepted(accepted: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails(f"Accepted by {accepted.office.code}", to_office=_office(accepted.office))


def _case_reassigned(reassigned: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    kind = enum_name(common_pb2.ReassignmentKind, reassigned.kind, "REASSIGNMENT_KIND_")
    reason = enum_name(common_pb2.ReasonCode, reassigned.reason_code, "REASON_CODE_")
    return AuditDetails(
        f"{kind.replace('_', ' ').capitalize()} {reassigned.from_office.code} -> "
        f"{reassigned.to_office.code} ({reason})",
        from_office=_office(reassigned.from_office),
        to_office=_office(reassigned.to_office),
        reason_code=reason,
        note=reassigned.note,
        rule_id=reassigned.rule_id,
        ruleset_version=reassigned.ruleset_version,
    )


def _reporter_answered(answered: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    first = " (first response)" if answered.first_response else ""
    return AuditDetails(
        f"{answered.office.code} answered the reporter{first}",
        from_office=_office(answered.office),
        note=answered.text,
    )


def _case_resolved(resolved: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails(
        f"Resolved by {resolved.office.code}",
        from_office=_office(resolved.office),
        note=resolved.summary,
    )


def _case_reopened(reopened: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    by = " by the reporter" if reopened.by_reporter else ""
    return AuditDetails(f"Reopened{by}", note=reopened.reason)


def _case_closed(closed: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails(
        "Closed automatically" if closed.automatic else "Closed", note=closed.reason
    )


def _sla_breached(breach: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    sla = enum_name(common_pb2.SlaKind, breach.sla, "SLA_KIND_")
    escalated = breach.escalated_to.code
    return AuditDetails(
        f"{sla} deadline missed by {breach.office.code}"
        + (f", escalated to {escalated}" if escalated else ""),
        from_office=_office(breach.office),
        to_office=_office(breach.escalated_to),
        reason_code="SLA_BREACH",
    )


def _ping_pong_flagged(flagged: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails(
        f"Ping-pong flagged after {flagged.reassignment_count} reassignments; "
        f"supervisor {flagged.supervising_office.code}",
        from_office=_office(flagged.returned_to),
        to_office=_office(flagged.supervising_office),
    )


def _delivery_scheduled(scheduled: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    recipient = enum_name(events_pb2.RecipientKind, scheduled.recipient_kind, "RECIPIENT_KIND_")
    to_office = (
        scheduled.recipient if scheduled.recipient_kind == events_pb2.RECIPIENT_KIND_OFFICE else ""
    )
    return AuditDetails(
        f"Message {scheduled.template} scheduled for {recipient.lower()}", to_office=to_office
    )


def _delivery_progress(delivery: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    """An attempt or a send: the event type and the delivery say it all."""
    return AuditDetails(f"{envelope.event_type} {delivery.delivery_id}")


def _delivery_failed(failed: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails(
        f"Delivery {failed.delivery_id} attempt {failed.attempt} failed", note=failed.error
    )


def _delivery_gave_up(gave_up: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails(
        f"Delivery {gave_up.delivery_id} gave up after {gave_up.attempts} attempts",
        note=gave_up.last_error,
    )


def _delivery_skipped(skipped: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    return AuditDetails(
        f"Delivery {skipped.delivery_id} skipped ({skipped.reason})", note=skipped.reason
    )


def _delivery_status_reported(reported: Any, envelope: events_pb2.Envelope) -> AuditDetails:
    status = enum_name(events_pb2.ProviderStatus, reported.status, "PROVIDER_STATUS_")
    return AuditDetails(
        f"Delivery {reported.delivery_id} reported {status.lower()} by the provider",
        note=reported.error,
    )


Audit = Callable[[Any, events_pb2.Envelope], AuditDetails]

# Every event kind (payload field name) of the contract. An envelope without a payload this
# version knows is audited by its event type alone.
AUDITS: dict[str, Audit] = {
    "complaint_filed": _complaint_filed,
    "reporter_message_added": _reporter_message_added,
    "complaint_withdrawn": _complaint_withdrawn,
    "resolution_rated": _resolution_rated,
    "status_requested": _status_requested,
    "contact_revealed": _contact_revealed,
    "text_revealed": _text_revealed,
    "reporter_erased": _reporter_erased,
    "complaint_located": _complaint_located,
    "complaint_classified": _complaint_classified,
    "details_requested": _details_requested,
    "conversation_reply_requested": _conversation_reply_requested,
    "case_opened": _case_opened,
    "case_routed": _case_routed,
    "case_classified": _case_classified,
    "case_accepted": _case_accepted,
    "case_reassigned": _case_reassigned,
    "reporter_answered": _reporter_answered,
    "case_resolved": _case_resolved,
    "case_reopened": _case_reopened,
    "case_closed": _case_closed,
    "sla_breached": _sla_breached,
    "ping_pong_flagged": _ping_pong_flagged,
    "delivery_scheduled": _delivery_scheduled,
    "delivery_attempted": _delivery_progress,
    "delivery_sent": _delivery_progress,
    "delivery_failed": _delivery_failed,
    "delivery_gave_up": _delivery_gave_up,
    "delivery_skipped": _delivery_skipped,
    "delivery_status_reported": _delivery_status_reported,
    "checkpoint_sealed": _checkpoint_sealed,
}


def audit_details(envelope: events_pb2.Envelope) -> dict[str, str]:
    """from/to office, reason, note, rule and a one-line summary of an event."""
    kind = envelope.WhichOneof("payload")
    audit = AUDITS.get(kind) if kind else None
    if audit is None:
        return AuditDetails(envelope.event_type).as_dict()
    return audit(getattr(envelope, kind), envelope).as_dict()


def audit_row(envelope: events_pb2.Envelope, at: datetime | None = None) -> dict[str, Any]:
    return {
        "event_id": envelope.event_id,
        "complaint_id": envelope.complaint_id,
        "service": envelope.service,
        "position": envelope.position,
        "event_type": envelope.event_type,
        "occurred_at": stamp(envelope.occurred_at) if at is None else at,
        "actor_id": envelope.actor.id,
        "actor_kind": enum_name(common_pb2.ActorKind, envelope.actor.kind, "ACTOR_KIND_"),
        "actor_role": envelope.actor.role,
        "actor_office": envelope.actor.office_code,
        "aggregate_version": envelope.aggregate_version,
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "envelope": envelope.SerializeToString(deterministic=True),
        **audit_details(envelope),
    }


def checkpoint_row(envelope: events_pb2.Envelope) -> dict[str, Any]:
    sealed = envelope.checkpoint_sealed
    return {
        "event_id": envelope.event_id,
        "service": envelope.service,
        "position": envelope.position,
        "from_position": sealed.from_position,
        "to_position": sealed.to_position,
        "event_count": sealed.event_count,
        "root": sealed.root.hex(),
        "key_id": sealed.key_id,
        "public_key": sealed.public_key.hex(),
        "signature": sealed.signature.hex(),
        "sealed_at": stamp(envelope.occurred_at),
    }
