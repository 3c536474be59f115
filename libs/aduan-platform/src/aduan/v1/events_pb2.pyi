import datetime

from aduan.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DetailSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DETAIL_SOURCE_UNSPECIFIED: _ClassVar[DetailSource]
    DETAIL_SOURCE_TEXT_RULE: _ClassVar[DetailSource]
    DETAIL_SOURCE_LOCATION_PIN: _ClassVar[DetailSource]
    DETAIL_SOURCE_REPORTER_ANSWER: _ClassVar[DetailSource]

class DetailQuestion(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DETAIL_QUESTION_UNSPECIFIED: _ClassVar[DetailQuestion]
    DETAIL_QUESTION_PROVINCE: _ClassVar[DetailQuestion]
    DETAIL_QUESTION_REGENCY: _ClassVar[DetailQuestion]
    DETAIL_QUESTION_CATEGORY: _ClassVar[DetailQuestion]

class ConversationReply(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSATION_REPLY_UNSPECIFIED: _ClassVar[ConversationReply]
    CONVERSATION_REPLY_WELCOME: _ClassVar[ConversationReply]
    CONVERSATION_REPLY_UNSUPPORTED_MESSAGE: _ClassVar[ConversationReply]
    CONVERSATION_REPLY_STATUS_OVERVIEW: _ClassVar[ConversationReply]
    CONVERSATION_REPLY_UNKNOWN_TICKET: _ClassVar[ConversationReply]

class RecipientKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECIPIENT_KIND_UNSPECIFIED: _ClassVar[RecipientKind]
    RECIPIENT_KIND_REPORTER: _ClassVar[RecipientKind]
    RECIPIENT_KIND_OFFICE: _ClassVar[RecipientKind]

class DeliveryChannel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_CHANNEL_UNSPECIFIED: _ClassVar[DeliveryChannel]
    DELIVERY_CHANNEL_WHATSAPP: _ClassVar[DeliveryChannel]
    DELIVERY_CHANNEL_EMAIL: _ClassVar[DeliveryChannel]
    DELIVERY_CHANNEL_OFFICE_WEBHOOK: _ClassVar[DeliveryChannel]
    DELIVERY_CHANNEL_LOG: _ClassVar[DeliveryChannel]

class ProviderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROVIDER_STATUS_UNSPECIFIED: _ClassVar[ProviderStatus]
    PROVIDER_STATUS_SENT: _ClassVar[ProviderStatus]
    PROVIDER_STATUS_DELIVERED: _ClassVar[ProviderStatus]
    PROVIDER_STATUS_READ: _ClassVar[ProviderStatus]
    PROVIDER_STATUS_FAILED: _ClassVar[ProviderStatus]
DETAIL_SOURCE_UNSPECIFIED: DetailSource
DETAIL_SOURCE_TEXT_RULE: DetailSource
DETAIL_SOURCE_LOCATION_PIN: DetailSource
DETAIL_SOURCE_REPORTER_ANSWER: DetailSource
DETAIL_QUESTION_UNSPECIFIED: DetailQuestion
DETAIL_QUESTION_PROVINCE: DetailQuestion
DETAIL_QUESTION_REGENCY: DetailQuestion
DETAIL_QUESTION_CATEGORY: DetailQuestion
CONVERSATION_REPLY_UNSPECIFIED: ConversationReply
CONVERSATION_REPLY_WELCOME: ConversationReply
CONVERSATION_REPLY_UNSUPPORTED_MESSAGE: ConversationReply
CONVERSATION_REPLY_STATUS_OVERVIEW: ConversationReply
CONVERSATION_REPLY_UNKNOWN_TICKET: ConversationReply
RECIPIENT_KIND_UNSPECIFIED: RecipientKind
RECIPIENT_KIND_REPORTER: RecipientKind
RECIPIENT_KIND_OFFICE: RecipientKind
DELIVERY_CHANNEL_UNSPECIFIED: DeliveryChannel
DELIVERY_CHANNEL_WHATSAPP: DeliveryChannel
DELIVERY_CHANNEL_EMAIL: DeliveryChannel
DELIVERY_CHANNEL_OFFICE_WEBHOOK: DeliveryChannel
DELIVERY_CHANNEL_LOG: DeliveryChannel
PROVIDER_STATUS_UNSPECIFIED: ProviderStatus
PROVIDER_STATUS_SENT: ProviderStatus
PROVIDER_STATUS_DELIVERED: ProviderStatus
PROVIDER_STATUS_READ: ProviderStatus
PROVIDER_STATUS_FAILED: ProviderStatus

class Envelope(_message.Message):
    __slots__ = ("event_id", "event_type", "complaint_id", "service", "position", "occurred_at", "actor", "causation_id", "correlation_id", "traceparent", "tracestate", "aggregate_id", "aggregate_version", "previous_position", "event_hash", "prev_event_hash", "stored_topic", "stored_state", "complaint_filed", "reporter_message_added", "complaint_withdrawn", "resolution_rated", "status_requested", "contact_revealed", "reporter_erased", "complaint_located", "complaint_classified", "details_requested", "conversation_reply_requested", "text_revealed", "case_opened", "case_routed", "case_classified", "case_accepted", "case_reassigned", "reporter_answered", "case_resolved", "case_reopened", "case_closed", "sla_breached", "ping_pong_flagged", "delivery_scheduled", "delivery_attempted", "delivery_sent", "delivery_failed", "delivery_gave_up", "delivery_skipped", "delivery_status_reported", "checkpoint_sealed")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CAUSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    TRACESTATE_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_POSITION_FIELD_NUMBER: _ClassVar[int]
    EVENT_HASH_FIELD_NUMBER: _ClassVar[int]
    PREV_EVENT_HASH_FIELD_NUMBER: _ClassVar[int]
    STORED_TOPIC_FIELD_NUMBER: _ClassVar[int]
    STORED_STATE_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_FILED_FIELD_NUMBER: _ClassVar[int]
    REPORTER_MESSAGE_ADDED_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_RATED_FIELD_NUMBER: _ClassVar[int]
    STATUS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    CONTACT_REVEALED_FIELD_NUMBER: _ClassVar[int]
    REPORTER_ERASED_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_LOCATED_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_CLASSIFIED_FIELD_NUMBER: _ClassVar[int]
    DETAILS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_REPLY_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    TEXT_REVEALED_FIELD_NUMBER: _ClassVar[int]
    CASE_OPENED_FIELD_NUMBER: _ClassVar[int]
    CASE_ROUTED_FIELD_NUMBER: _ClassVar[int]
    CASE_CLASSIFIED_FIELD_NUMBER: _ClassVar[int]
    CASE_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    CASE_REASSIGNED_FIELD_NUMBER: _ClassVar[int]
    REPORTER_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    CASE_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    CASE_REOPENED_FIELD_NUMBER: _ClassVar[int]
    CASE_CLOSED_FIELD_NUMBER: _ClassVar[int]
    SLA_BREACHED_FIELD_NUMBER: _ClassVar[int]
    PING_PONG_FLAGGED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ATTEMPTED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_SENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FAILED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_GAVE_UP_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_STATUS_REPORTED_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_SEALED_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    event_type: str
    complaint_id: str
    service: str
    position: int
    occurred_at: _timestamp_pb2.Timestamp
    actor: _common_pb2.Actor
    causation_id: str
    correlation_id: str
    traceparent: str
    tracestate: str
    aggregate_id: str
    aggregate_version: int
    previous_position: int
    event_hash: bytes
    prev_event_hash: bytes
    stored_topic: str
    stored_state: bytes
    complaint_filed: ComplaintFiled
    reporter_message_added: ReporterMessageAdded
    complaint_withdrawn: ComplaintWithdrawn
    resolution_rated: ResolutionRated
    status_requested: StatusRequested
    contact_revealed: ContactRevealed
    reporter_erased: ReporterErased
    complaint_located: ComplaintLocated
    complaint_classified: ComplaintClassified
    details_requested: DetailsRequested
    conversation_reply_requested: ConversationReplyRequested
    text_revealed: TextRevealed
    case_opened: CaseOpened
    case_routed: CaseRouted
    case_classified: CaseClassified
    case_accepted: CaseAccepted
    case_reassigned: CaseReassigned
    reporter_answered: ReporterAnswered
    case_resolved: CaseResolved
    case_reopened: CaseReopened
    case_closed: CaseClosed
    sla_breached: SlaBreached
    ping_pong_flagged: PingPongFlagged
    delivery_scheduled: DeliveryScheduled
    delivery_attempted: DeliveryAttempted
    delivery_sent: DeliverySent
    delivery_failed: DeliveryFailed
    delivery_gave_up: DeliveryGaveUp
    delivery_skipped: DeliverySkipped
    delivery_status_reported: DeliveryStatusReported
    checkpoint_sealed: CheckpointSealed
    def __init__(self, event_id: _Optional[str] = ..., event_type: _Optional[str] = ..., complaint_id: _Optional[str] = ..., service: _Optional[str] = ..., position: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., causation_id: _Optional[str] = ..., correlation_id: _Optional[str] = ..., traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ..., aggregate_id: _Optional[str] = ..., aggregate_version: _Optional[int] = ..., previous_position: _Optional[int] = ..., event_hash: _Optional[bytes] = ..., prev_event_hash: _Optional[bytes] = ..., stored_topic: _Optional[str] = ..., stored_state: _Optional[bytes] = ..., complaint_filed: _Optional[_Union[ComplaintFiled, _Mapping]] = ..., reporter_message_added: _Optional[_Union[ReporterMessageAdded, _Mapping]] = ..., complaint_withdrawn: _Optional[_Union[ComplaintWithdrawn, _Mapping]] = ..., resolution_rated: _Optional[_Union[ResolutionRated, _Mapping]] = ..., status_requested: _Optional[_Union[StatusRequested, _Mapping]] = ..., contact_revealed: _Optional[_Union[ContactRevealed, _Mapping]] = ..., reporter_erased: _Optional[_Union[ReporterErased, _Mapping]] = ..., complaint_located: _Optional[_Union[ComplaintLocated, _Mapping]] = ..., complaint_classified: _Optional[_Union[ComplaintClassified, _Mapping]] = ..., details_requested: _Optional[_Union[DetailsRequested, _Mapping]] = ..., conversation_reply_requested: _Optional[_Union[ConversationReplyRequested, _Mapping]] = ..., text_revealed: _Optional[_Union[TextRevealed, _Mapping]] = ..., case_opened: _Optional[_Union[CaseOpened, _Mapping]] = ..., case_routed: _Optional[_Union[CaseRouted, _Mapping]] = ..., case_classified: _Optional[_Union[CaseClassified, _Mapping]] = ..., case_accepted: _Optional[_Union[CaseAccepted, _Mapping]] = ..., case_reassigned: _Optional[_Union[CaseReassigned, _Mapping]] = ..., reporter_answered: _Optional[_Union[ReporterAnswered, _Mapping]] = ..., case_resolved: _Optional[_Union[CaseResolved, _Mapping]] = ..., case_reopened: _Optional[_Union[CaseReopened, _Mapping]] = ..., case_closed: _Optional[_Union[CaseClosed, _Mapping]] = ..., sla_breached: _Optional[_Union[SlaBreached, _Mapping]] = ..., ping_pong_flagged: _Optional[_Union[PingPongFlagged, _Mapping]] = ..., delivery_scheduled: _Optional[_Union[DeliveryScheduled, _Mapping]] = ..., delivery_attempted: _Optional[_Union[DeliveryAttempted, _Mapping]] = ..., delivery_sent: _Optional[_Union[DeliverySent, _Mapping]] = ..., delivery_failed: _Optional[_Union[DeliveryFailed, _Mapping]] = ..., delivery_gave_up: _Optional[_Union[DeliveryGaveUp, _Mapping]] = ..., delivery_skipped: _Optional[_Union[DeliverySkipped, _Mapping]] = ..., delivery_status_reported: _Optional[_Union[DeliveryStatusReported, _Mapping]] = ..., checkpoint_sealed: _Optional[_Union[CheckpointSealed, _Mapping]] = ...) -> None: ...

class ComplaintFiled(_message.Message):
    __slots__ = ("ticket_number", "channel", "reporter_id", "masked_contact", "anonymous", "confidential", "category", "location", "parcel", "subject", "description", "attachments", "language", "details_pending", "details_due", "redaction_rules")
    TICKET_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    REPORTER_ID_FIELD_NUMBER: _ClassVar[int]
    MASKED_CONTACT_FIELD_NUMBER: _ClassVar[int]
    ANONYMOUS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENTIAL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    PARCEL_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_PENDING_FIELD_NUMBER: _ClassVar[int]
    DETAILS_DUE_FIELD_NUMBER: _ClassVar[int]
    REDACTION_RULES_FIELD_NUMBER: _ClassVar[int]
    ticket_number: str
    channel: _common_pb2.Channel
    reporter_id: str
    masked_contact: str
    anonymous: bool
    confidential: bool
    category: _common_pb2.Category
    location: _common_pb2.Location
    parcel: _common_pb2.LandParcel
    subject: str
    description: str
    attachments: _containers.RepeatedCompositeFieldContainer[_common_pb2.Attachment]
    language: str
    details_pending: bool
    details_due: _timestamp_pb2.Timestamp
    redaction_rules: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ticket_number: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., reporter_id: _Optional[str] = ..., masked_contact: _Optional[str] = ..., anonymous: _Optional[bool] = ..., confidential: _Optional[bool] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., parcel: _Optional[_Union[_common_pb2.LandParcel, _Mapping]] = ..., subject: _Optional[str] = ..., description: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[_common_pb2.Attachment, _Mapping]]] = ..., language: _Optional[str] = ..., details_pending: _Optional[bool] = ..., details_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., redaction_rules: _Optional[_Iterable[str]] = ...) -> None: ...

class ComplaintLocated(_message.Message):
    __slots__ = ("location", "source", "rule_id", "rules_version", "evidence", "details_pending")
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_PENDING_FIELD_NUMBER: _ClassVar[int]
    location: _common_pb2.Location
    source: DetailSource
    rule_id: str
    rules_version: str
    evidence: str
    details_pending: bool
    def __init__(self, location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., source: _Optional[_Union[DetailSource, str]] = ..., rule_id: _Optional[str] = ..., rules_version: _Optional[str] = ..., evidence: _Optional[str] = ..., details_pending: _Optional[bool] = ...) -> None: ...

class ComplaintClassified(_message.Message):
    __slots__ = ("category", "source", "rule_id", "rules_version", "evidence", "details_pending")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_PENDING_FIELD_NUMBER: _ClassVar[int]
    category: _common_pb2.Category
    source: DetailSource
    rule_id: str
    rules_version: str
    evidence: str
    details_pending: bool
    def __init__(self, category: _Optional[_Union[_common_pb2.Category, str]] = ..., source: _Optional[_Union[DetailSource, str]] = ..., rule_id: _Optional[str] = ..., rules_version: _Optional[str] = ..., evidence: _Optional[str] = ..., details_pending: _Optional[bool] = ...) -> None: ...

class DetailsRequested(_message.Message):
    __slots__ = ("question", "province_code", "candidates", "page", "answer_due")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    ANSWER_DUE_FIELD_NUMBER: _ClassVar[int]
    question: DetailQuestion
    province_code: str
    candidates: _containers.RepeatedScalarFieldContainer[str]
    page: int
    answer_due: _timestamp_pb2.Timestamp
    def __init__(self, question: _Optional[_Union[DetailQuestion, str]] = ..., province_code: _Optional[str] = ..., candidates: _Optional[_Iterable[str]] = ..., page: _Optional[int] = ..., answer_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReporterMessageAdded(_message.Message):
    __slots__ = ("message_id", "channel", "text", "attachments", "redaction_rules")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    REDACTION_RULES_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    channel: _common_pb2.Channel
    text: str
    attachments: _containers.RepeatedCompositeFieldContainer[_common_pb2.Attachment]
    redaction_rules: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, message_id: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., text: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[_common_pb2.Attachment, _Mapping]]] = ..., redaction_rules: _Optional[_Iterable[str]] = ...) -> None: ...

class ComplaintWithdrawn(_message.Message):
    __slots__ = ("reason", "redaction_rules")
    REASON_FIELD_NUMBER: _ClassVar[int]
    REDACTION_RULES_FIELD_NUMBER: _ClassVar[int]
    reason: str
    redaction_rules: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reason: _Optional[str] = ..., redaction_rules: _Optional[_Iterable[str]] = ...) -> None: ...

class ResolutionRated(_message.Message):
    __slots__ = ("rating", "comment", "redaction_rules")
    RATING_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    REDACTION_RULES_FIELD_NUMBER: _ClassVar[int]
    rating: int
    comment: str
    redaction_rules: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, rating: _Optional[int] = ..., comment: _Optional[str] = ..., redaction_rules: _Optional[_Iterable[str]] = ...) -> None: ...

class StatusRequested(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: _common_pb2.Channel
    def __init__(self, channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class ContactRevealed(_message.Message):
    __slots__ = ("reporter_id", "purpose", "reveal_purpose", "revealed_fields")
    REPORTER_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    REVEAL_PURPOSE_FIELD_NUMBER: _ClassVar[int]
    REVEALED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    reporter_id: str
    purpose: str
    reveal_purpose: _common_pb2.RevealPurpose
    revealed_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reporter_id: _Optional[str] = ..., purpose: _Optional[str] = ..., reveal_purpose: _Optional[_Union[_common_pb2.RevealPurpose, str]] = ..., revealed_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class TextRevealed(_message.Message):
    __slots__ = ("reporter_id", "purpose", "reveal_purpose", "revealed_fields")
    REPORTER_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    REVEAL_PURPOSE_FIELD_NUMBER: _ClassVar[int]
    REVEALED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    reporter_id: str
    purpose: str
    reveal_purpose: _common_pb2.RevealPurpose
    revealed_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reporter_id: _Optional[str] = ..., purpose: _Optional[str] = ..., reveal_purpose: _Optional[_Union[_common_pb2.RevealPurpose, str]] = ..., revealed_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class ReporterErased(_message.Message):
    __slots__ = ("reporter_id", "reason")
    REPORTER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reporter_id: str
    reason: str
    def __init__(self, reporter_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ConversationReplyRequested(_message.Message):
    __slots__ = ("reporter_id", "masked_contact", "reply", "message_id", "ticket_number", "message_kind", "complaint_ids", "language")
    REPORTER_ID_FIELD_NUMBER: _ClassVar[int]
    MASKED_CONTACT_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TICKET_NUMBER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_KIND_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_IDS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    reporter_id: str
    masked_contact: str
    reply: ConversationReply
    message_id: str
    ticket_number: str
    message_kind: str
    complaint_ids: _containers.RepeatedScalarFieldContainer[str]
    language: str
    def __init__(self, reporter_id: _Optional[str] = ..., masked_contact: _Optional[str] = ..., reply: _Optional[_Union[ConversationReply, str]] = ..., message_id: _Optional[str] = ..., ticket_number: _Optional[str] = ..., message_kind: _Optional[str] = ..., complaint_ids: _Optional[_Iterable[str]] = ..., language: _Optional[str] = ...) -> None: ...

class CaseOpened(_message.Message):
    __slots__ = ("ticket_number", "category", "location", "filed_at", "resolution_due", "confidential", "details_due")
    TICKET_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    FILED_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_DUE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENTIAL_FIELD_NUMBER: _ClassVar[int]
    DETAILS_DUE_FIELD_NUMBER: _ClassVar[int]
    ticket_number: str
    category: _common_pb2.Category
    location: _common_pb2.Location
    filed_at: _timestamp_pb2.Timestamp
    resolution_due: _timestamp_pb2.Timestamp
    confidential: bool
    details_due: _timestamp_pb2.Timestamp
    def __init__(self, ticket_number: _Optional[str] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., filed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolution_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., confidential: _Optional[bool] = ..., details_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CaseRouted(_message.Message):
    __slots__ = ("to_office", "rule_id", "ruleset_version", "accept_due")
    TO_OFFICE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    RULESET_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_DUE_FIELD_NUMBER: _ClassVar[int]
    to_office: _common_pb2.OfficeRef
    rule_id: str
    ruleset_version: str
    accept_due: _timestamp_pb2.Timestamp
    def __init__(self, to_office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., rule_id: _Optional[str] = ..., ruleset_version: _Optional[str] = ..., accept_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CaseClassified(_message.Message):
    __slots__ = ("category", "location", "scope", "note")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    category: _common_pb2.Category
    location: _common_pb2.Location
    scope: _common_pb2.Scope
    note: str
    def __init__(self, category: _Optional[_Union[_common_pb2.Category, str]] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., scope: _Optional[_Union[_common_pb2.Scope, str]] = ..., note: _Optional[str] = ...) -> None: ...

class CaseAccepted(_message.Message):
    __slots__ = ("office", "response_due")
    OFFICE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_DUE_FIELD_NUMBER: _ClassVar[int]
    office: _common_pb2.OfficeRef
    response_due: _timestamp_pb2.Timestamp
    def __init__(self, office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., response_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CaseReassigned(_message.Message):
    __slots__ = ("kind", "from_office", "to_office", "reason_code", "note", "rule_id", "ruleset_version", "accept_due", "held_seconds")
    KIND_FIELD_NUMBER: _ClassVar[int]
    FROM_OFFICE_FIELD_NUMBER: _ClassVar[int]
    TO_OFFICE_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    RULESET_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_DUE_FIELD_NUMBER: _ClassVar[int]
    HELD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    kind: _common_pb2.ReassignmentKind
    from_office: _common_pb2.OfficeRef
    to_office: _common_pb2.OfficeRef
    reason_code: _common_pb2.ReasonCode
    note: str
    rule_id: str
    ruleset_version: str
    accept_due: _timestamp_pb2.Timestamp
    held_seconds: int
    def __init__(self, kind: _Optional[_Union[_common_pb2.ReassignmentKind, str]] = ..., from_office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., to_office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., reason_code: _Optional[_Union[_common_pb2.ReasonCode, str]] = ..., note: _Optional[str] = ..., rule_id: _Optional[str] = ..., ruleset_version: _Optional[str] = ..., accept_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., held_seconds: _Optional[int] = ...) -> None: ...

class ReporterAnswered(_message.Message):
    __slots__ = ("office", "text", "first_response")
    OFFICE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FIRST_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    office: _common_pb2.OfficeRef
    text: str
    first_response: bool
    def __init__(self, office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., text: _Optional[str] = ..., first_response: _Optional[bool] = ...) -> None: ...

class CaseResolved(_message.Message):
    __slots__ = ("office", "summary", "auto_close_due")
    OFFICE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    AUTO_CLOSE_DUE_FIELD_NUMBER: _ClassVar[int]
    office: _common_pb2.OfficeRef
    summary: str
    auto_close_due: _timestamp_pb2.Timestamp
    def __init__(self, office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., summary: _Optional[str] = ..., auto_close_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CaseReopened(_message.Message):
    __slots__ = ("reason", "by_reporter")
    REASON_FIELD_NUMBER: _ClassVar[int]
    BY_REPORTER_FIELD_NUMBER: _ClassVar[int]
    reason: str
    by_reporter: bool
    def __init__(self, reason: _Optional[str] = ..., by_reporter: _Optional[bool] = ...) -> None: ...

class CaseClosed(_message.Message):
    __slots__ = ("automatic", "reason")
    AUTOMATIC_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    automatic: bool
    reason: str
    def __init__(self, automatic: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class SlaBreached(_message.Message):
    __slots__ = ("sla", "office", "due_at", "escalated_to")
    SLA_FIELD_NUMBER: _ClassVar[int]
    OFFICE_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_TO_FIELD_NUMBER: _ClassVar[int]
    sla: _common_pb2.SlaKind
    office: _common_pb2.OfficeRef
    due_at: _timestamp_pb2.Timestamp
    escalated_to: _common_pb2.OfficeRef
    def __init__(self, sla: _Optional[_Union[_common_pb2.SlaKind, str]] = ..., office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., escalated_to: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ...) -> None: ...

class PingPongFlagged(_message.Message):
    __slots__ = ("reassignment_count", "returned_to", "supervising_office")
    REASSIGNMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    RETURNED_TO_FIELD_NUMBER: _ClassVar[int]
    SUPERVISING_OFFICE_FIELD_NUMBER: _ClassVar[int]
    reassignment_count: int
    returned_to: _common_pb2.OfficeRef
    supervising_office: _common_pb2.OfficeRef
    def __init__(self, reassignment_count: _Optional[int] = ..., returned_to: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., supervising_office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ...) -> None: ...

class DeliveryScheduled(_message.Message):
    __slots__ = ("delivery_id", "recipient_kind", "recipient", "channel", "template", "language", "source_event_id", "idempotency_key")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_KIND_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    recipient_kind: RecipientKind
    recipient: str
    channel: DeliveryChannel
    template: str
    language: str
    source_event_id: str
    idempotency_key: str
    def __init__(self, delivery_id: _Optional[str] = ..., recipient_kind: _Optional[_Union[RecipientKind, str]] = ..., recipient: _Optional[str] = ..., channel: _Optional[_Union[DeliveryChannel, str]] = ..., template: _Optional[str] = ..., language: _Optional[str] = ..., source_event_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class DeliveryAttempted(_message.Message):
    __slots__ = ("delivery_id", "attempt")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    attempt: int
    def __init__(self, delivery_id: _Optional[str] = ..., attempt: _Optional[int] = ...) -> None: ...

class DeliverySent(_message.Message):
    __slots__ = ("delivery_id", "attempt", "provider_message_id")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    attempt: int
    provider_message_id: str
    def __init__(self, delivery_id: _Optional[str] = ..., attempt: _Optional[int] = ..., provider_message_id: _Optional[str] = ...) -> None: ...

class DeliveryFailed(_message.Message):
    __slots__ = ("delivery_id", "attempt", "error", "retry_at")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RETRY_AT_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    attempt: int
    error: str
    retry_at: _timestamp_pb2.Timestamp
    def __init__(self, delivery_id: _Optional[str] = ..., attempt: _Optional[int] = ..., error: _Optional[str] = ..., retry_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeliveryGaveUp(_message.Message):
    __slots__ = ("delivery_id", "attempts", "last_error")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    attempts: int
    last_error: str
    def __init__(self, delivery_id: _Optional[str] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ...) -> None: ...

class DeliverySkipped(_message.Message):
    __slots__ = ("delivery_id", "reason")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    reason: str
    def __init__(self, delivery_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DeliveryStatusReported(_message.Message):
    __slots__ = ("delivery_id", "status", "provider_message_id", "reported_at", "error")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    status: ProviderStatus
    provider_message_id: str
    reported_at: _timestamp_pb2.Timestamp
    error: str
    def __init__(self, delivery_id: _Optional[str] = ..., status: _Optional[_Union[ProviderStatus, str]] = ..., provider_message_id: _Optional[str] = ..., reported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class CheckpointSealed(_message.Message):
    __slots__ = ("service", "from_position", "to_position", "event_count", "root", "signature", "key_id", "public_key", "manifest", "algorithm")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    TO_POSITION_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    service: str
    from_position: int
    to_position: int
    event_count: int
    root: bytes
    signature: bytes
    key_id: str
    public_key: bytes
    manifest: bytes
    algorithm: str
    def __init__(self, service: _Optional[str] = ..., from_position: _Optional[int] = ..., to_position: _Optional[int] = ..., event_count: _Optional[int] = ..., root: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., key_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., manifest: _Optional[bytes] = ..., algorithm: _Optional[str] = ...) -> None: ...
