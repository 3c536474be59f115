import datetime

from aduan.v1 import common_pb2 as _common_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Consistency(_message.Message):
    __slots__ = ("min_positions", "timeout")
    MIN_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    min_positions: _containers.RepeatedCompositeFieldContainer[_common_pb2.EventPosition]
    timeout: _duration_pb2.Duration
    def __init__(self, min_positions: _Optional[_Iterable[_Union[_common_pb2.EventPosition, _Mapping]]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ComplaintView(_message.Message):
    __slots__ = ("complaint_id", "ticket_number", "status", "category", "location", "scope", "channel", "subject", "holding_office", "accept_due", "response_due", "resolution_due", "breached", "overdue", "masked_contact", "anonymous", "confidential", "reporter_erased", "reassignment_count", "ping_pong_flagged", "rating", "filed_at", "assigned_at", "accepted_at", "first_response_at", "resolved_at", "closed_at", "updated_at", "description")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    TICKET_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    HOLDING_OFFICE_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_DUE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_DUE_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_DUE_FIELD_NUMBER: _ClassVar[int]
    BREACHED_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    MASKED_CONTACT_FIELD_NUMBER: _ClassVar[int]
    ANONYMOUS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENTIAL_FIELD_NUMBER: _ClassVar[int]
    REPORTER_ERASED_FIELD_NUMBER: _ClassVar[int]
    REASSIGNMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PING_PONG_FLAGGED_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    FILED_AT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    FIRST_RESPONSE_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    ticket_number: str
    status: _common_pb2.ComplaintStatus
    category: _common_pb2.Category
    location: _common_pb2.Location
    scope: _common_pb2.Scope
    channel: _common_pb2.Channel
    subject: str
    holding_office: _common_pb2.OfficeRef
    accept_due: _timestamp_pb2.Timestamp
    response_due: _timestamp_pb2.Timestamp
    resolution_due: _timestamp_pb2.Timestamp
    breached: _containers.RepeatedScalarFieldContainer[_common_pb2.SlaKind]
    overdue: bool
    masked_contact: str
    anonymous: bool
    confidential: bool
    reporter_erased: bool
    reassignment_count: int
    ping_pong_flagged: bool
    rating: int
    filed_at: _timestamp_pb2.Timestamp
    assigned_at: _timestamp_pb2.Timestamp
    accepted_at: _timestamp_pb2.Timestamp
    first_response_at: _timestamp_pb2.Timestamp
    resolved_at: _timestamp_pb2.Timestamp
    closed_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    description: str
    def __init__(self, complaint_id: _Optional[str] = ..., ticket_number: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.ComplaintStatus, str]] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., scope: _Optional[_Union[_common_pb2.Scope, str]] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., subject: _Optional[str] = ..., holding_office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., accept_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., response_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolution_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., breached: _Optional[_Iterable[_Union[_common_pb2.SlaKind, str]]] = ..., overdue: _Optional[bool] = ..., masked_contact: _Optional[str] = ..., anonymous: _Optional[bool] = ..., confidential: _Optional[bool] = ..., reporter_erased: _Optional[bool] = ..., reassignment_count: _Optional[int] = ..., ping_pong_flagged: _Optional[bool] = ..., rating: _Optional[int] = ..., filed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., assigned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., first_response_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., closed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., description: _Optional[str] = ...) -> None: ...

class GetComplaintRequest(_message.Message):
    __slots__ = ("complaint_id", "as_of", "consistency")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    as_of: _timestamp_pb2.Timestamp
    consistency: Consistency
    def __init__(self, complaint_id: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., consistency: _Optional[_Union[Consistency, _Mapping]] = ...) -> None: ...

class GetComplaintResponse(_message.Message):
    __slots__ = ("complaint",)
    COMPLAINT_FIELD_NUMBER: _ClassVar[int]
    complaint: ComplaintView
    def __init__(self, complaint: _Optional[_Union[ComplaintView, _Mapping]] = ...) -> None: ...

class ComplaintFilter(_message.Message):
    __slots__ = ("office_code", "include_descendants", "province_code", "regency_code", "statuses", "categories", "overdue_only", "filed", "text")
    OFFICE_CODE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DESCENDANTS_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    REGENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_ONLY_FIELD_NUMBER: _ClassVar[int]
    FILED_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    office_code: str
    include_descendants: bool
    province_code: str
    regency_code: str
    statuses: _containers.RepeatedScalarFieldContainer[_common_pb2.ComplaintStatus]
    categories: _containers.RepeatedScalarFieldContainer[_common_pb2.Category]
    overdue_only: bool
    filed: _common_pb2.TimeRange
    text: str
    def __init__(self, office_code: _Optional[str] = ..., include_descendants: _Optional[bool] = ..., province_code: _Optional[str] = ..., regency_code: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[_common_pb2.ComplaintStatus, str]]] = ..., categories: _Optional[_Iterable[_Union[_common_pb2.Category, str]]] = ..., overdue_only: _Optional[bool] = ..., filed: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., text: _Optional[str] = ...) -> None: ...

class ListComplaintsRequest(_message.Message):
    __slots__ = ("filter", "page", "as_of", "consistency")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_FIELD_NUMBER: _ClassVar[int]
    filter: ComplaintFilter
    page: _common_pb2.PageRequest
    as_of: _timestamp_pb2.Timestamp
    consistency: Consistency
    def __init__(self, filter: _Optional[_Union[ComplaintFilter, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., consistency: _Optional[_Union[Consistency, _Mapping]] = ...) -> None: ...

class ListComplaintsResponse(_message.Message):
    __slots__ = ("complaints", "page")
    COMPLAINTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    complaints: _containers.RepeatedCompositeFieldContainer[ComplaintView]
    page: _common_pb2.PageResponse
    def __init__(self, complaints: _Optional[_Iterable[_Union[ComplaintView, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("event_id", "service", "position", "event_type", "occurred_at", "actor", "from_office", "to_office", "reason_code", "note", "rule_id", "ruleset_version", "summary", "aggregate_version", "complaint_id", "correlation_id", "causation_id", "attachments")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    FROM_OFFICE_FIELD_NUMBER: _ClassVar[int]
    TO_OFFICE_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    RULESET_VERSION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSATION_ID_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    service: str
    position: int
    event_type: str
    occurred_at: _timestamp_pb2.Timestamp
    actor: _common_pb2.Actor
    from_office: _common_pb2.OfficeRef
    to_office: _common_pb2.OfficeRef
    reason_code: _common_pb2.ReasonCode
    note: str
    rule_id: str
    ruleset_version: str
    summary: str
    aggregate_version: int
    complaint_id: str
    correlation_id: str
    causation_id: str
    attachments: _containers.RepeatedCompositeFieldContainer[_common_pb2.Attachment]
    def __init__(self, event_id: _Optional[str] = ..., service: _Optional[str] = ..., position: _Optional[int] = ..., event_type: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., from_office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., to_office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., reason_code: _Optional[_Union[_common_pb2.ReasonCode, str]] = ..., note: _Optional[str] = ..., rule_id: _Optional[str] = ..., ruleset_version: _Optional[str] = ..., summary: _Optional[str] = ..., aggregate_version: _Optional[int] = ..., complaint_id: _Optional[str] = ..., correlation_id: _Optional[str] = ..., causation_id: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[_common_pb2.Attachment, _Mapping]]] = ...) -> None: ...

class GetAuditTrailRequest(_message.Message):
    __slots__ = ("complaint_id", "page", "consistency", "include_custody")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CUSTODY_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    page: _common_pb2.PageRequest
    consistency: Consistency
    include_custody: bool
    def __init__(self, complaint_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., consistency: _Optional[_Union[Consistency, _Mapping]] = ..., include_custody: _Optional[bool] = ...) -> None: ...

class CustodySegment(_message.Message):
    __slots__ = ("office", "received_from", "received_at", "handed_at", "held", "handed_to")
    OFFICE_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FROM_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    HANDED_AT_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    HANDED_TO_FIELD_NUMBER: _ClassVar[int]
    office: _common_pb2.OfficeRef
    received_from: str
    received_at: _timestamp_pb2.Timestamp
    handed_at: _timestamp_pb2.Timestamp
    held: _duration_pb2.Duration
    handed_to: str
    def __init__(self, office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., received_from: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., handed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., held: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., handed_to: _Optional[str] = ...) -> None: ...

class GetAuditTrailResponse(_message.Message):
    __slots__ = ("complaint_id", "entries", "page", "custody")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    CUSTODY_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    page: _common_pb2.PageResponse
    custody: _containers.RepeatedCompositeFieldContainer[CustodySegment]
    def __init__(self, complaint_id: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ..., custody: _Optional[_Iterable[_Union[CustodySegment, _Mapping]]] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("occurred", "page", "consistency")
    OCCURRED_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_FIELD_NUMBER: _ClassVar[int]
    occurred: _common_pb2.TimeRange
    page: _common_pb2.PageRequest
    consistency: Consistency
    def __init__(self, occurred: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., consistency: _Optional[_Union[Consistency, _Mapping]] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("entries", "page")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    page: _common_pb2.PageResponse
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class WatchComplaintsRequest(_message.Message):
    __slots__ = ("filter", "include_initial")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INITIAL_FIELD_NUMBER: _ClassVar[int]
    filter: ComplaintFilter
    include_initial: bool
    def __init__(self, filter: _Optional[_Union[ComplaintFilter, _Mapping]] = ..., include_initial: _Optional[bool] = ...) -> None: ...

class ComplaintChange(_message.Message):
    __slots__ = ("complaint", "event_type", "event_id", "removed")
    COMPLAINT_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    complaint: ComplaintView
    event_type: str
    event_id: str
    removed: bool
    def __init__(self, complaint: _Optional[_Union[ComplaintView, _Mapping]] = ..., event_type: _Optional[str] = ..., event_id: _Optional[str] = ..., removed: _Optional[bool] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ("period", "office_code", "as_of", "channel", "category", "office_kpis", "split_by_channel", "split_by_category", "roll_up")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_CODE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    OFFICE_KPIS_FIELD_NUMBER: _ClassVar[int]
    SPLIT_BY_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SPLIT_BY_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ROLL_UP_FIELD_NUMBER: _ClassVar[int]
    period: _common_pb2.TimeRange
    office_code: str
    as_of: _timestamp_pb2.Timestamp
    channel: _common_pb2.Channel
    category: _common_pb2.Category
    office_kpis: bool
    split_by_channel: bool
    split_by_category: bool
    roll_up: bool
    def __init__(self, period: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., office_code: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., office_kpis: _Optional[bool] = ..., split_by_channel: _Optional[bool] = ..., split_by_category: _Optional[bool] = ..., roll_up: _Optional[bool] = ...) -> None: ...

class OfficeKpis(_message.Message):
    __slots__ = ("office_code", "channel", "category", "received", "accepted", "accepted_in_time", "responded", "responded_in_time", "resolved", "resolved_in_time", "median_time_to_accept", "median_time_to_first_response", "median_time_to_resolve", "time_held", "bounced_out", "bounced_in", "escalated_by_sla", "accept_breaches", "first_response_breaches", "resolution_breaches", "ratings", "mean_rating", "backlog", "overdue", "sla_compliance")
    OFFICE_CODE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_IN_TIME_FIELD_NUMBER: _ClassVar[int]
    RESPONDED_FIELD_NUMBER: _ClassVar[int]
    RESPONDED_IN_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_IN_TIME_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_TIME_TO_ACCEPT_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_TIME_TO_FIRST_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_TIME_TO_RESOLVE_FIELD_NUMBER: _ClassVar[int]
    TIME_HELD_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_OUT_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_IN_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_BY_SLA_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_BREACHES_FIELD_NUMBER: _ClassVar[int]
    FIRST_RESPONSE_BREACHES_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_BREACHES_FIELD_NUMBER: _ClassVar[int]
    RATINGS_FIELD_NUMBER: _ClassVar[int]
    MEAN_RATING_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    SLA_COMPLIANCE_FIELD_NUMBER: _ClassVar[int]
    office_code: str
    channel: _common_pb2.Channel
    category: _common_pb2.Category
    received: int
    accepted: int
    accepted_in_time: int
    responded: int
    responded_in_time: int
    resolved: int
    resolved_in_time: int
    median_time_to_accept: _duration_pb2.Duration
    median_time_to_first_response: _duration_pb2.Duration
    median_time_to_resolve: _duration_pb2.Duration
    time_held: _duration_pb2.Duration
    bounced_out: int
    bounced_in: int
    escalated_by_sla: int
    accept_breaches: int
    first_response_breaches: int
    resolution_breaches: int
    ratings: int
    mean_rating: float
    backlog: int
    overdue: int
    sla_compliance: float
    def __init__(self, office_code: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., received: _Optional[int] = ..., accepted: _Optional[int] = ..., accepted_in_time: _Optional[int] = ..., responded: _Optional[int] = ..., responded_in_time: _Optional[int] = ..., resolved: _Optional[int] = ..., resolved_in_time: _Optional[int] = ..., median_time_to_accept: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., median_time_to_first_response: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., median_time_to_resolve: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., time_held: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., bounced_out: _Optional[int] = ..., bounced_in: _Optional[int] = ..., escalated_by_sla: _Optional[int] = ..., accept_breaches: _Optional[int] = ..., first_response_breaches: _Optional[int] = ..., resolution_breaches: _Optional[int] = ..., ratings: _Optional[int] = ..., mean_rating: _Optional[float] = ..., backlog: _Optional[int] = ..., overdue: _Optional[int] = ..., sla_compliance: _Optional[float] = ...) -> None: ...

class CountByKey(_message.Message):
    __slots__ = ("key", "count")
    KEY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    key: str
    count: int
    def __init__(self, key: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class OfficeHolding(_message.Message):
    __slots__ = ("office_code", "held", "complaints")
    OFFICE_CODE_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    COMPLAINTS_FIELD_NUMBER: _ClassVar[int]
    office_code: str
    held: _duration_pb2.Duration
    complaints: int
    def __init__(self, office_code: _Optional[str] = ..., held: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., complaints: _Optional[int] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("total", "by_status", "by_office", "by_province", "by_category", "sla_compliance", "median_time_to_first_response", "median_time_to_resolution", "reassignments_per_complaint", "ping_pong_count", "time_held", "offices")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    BY_STATUS_FIELD_NUMBER: _ClassVar[int]
    BY_OFFICE_FIELD_NUMBER: _ClassVar[int]
    BY_PROVINCE_FIELD_NUMBER: _ClassVar[int]
    BY_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SLA_COMPLIANCE_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_TIME_TO_FIRST_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_TIME_TO_RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    REASSIGNMENTS_PER_COMPLAINT_FIELD_NUMBER: _ClassVar[int]
    PING_PONG_COUNT_FIELD_NUMBER: _ClassVar[int]
    TIME_HELD_FIELD_NUMBER: _ClassVar[int]
    OFFICES_FIELD_NUMBER: _ClassVar[int]
    total: int
    by_status: _containers.RepeatedCompositeFieldContainer[CountByKey]
    by_office: _containers.RepeatedCompositeFieldContainer[CountByKey]
    by_province: _containers.RepeatedCompositeFieldContainer[CountByKey]
    by_category: _containers.RepeatedCompositeFieldContainer[CountByKey]
    sla_compliance: float
    median_time_to_first_response: _duration_pb2.Duration
    median_time_to_resolution: _duration_pb2.Duration
    reassignments_per_complaint: float
    ping_pong_count: int
    time_held: _containers.RepeatedCompositeFieldContainer[OfficeHolding]
    offices: _containers.RepeatedCompositeFieldContainer[OfficeKpis]
    def __init__(self, total: _Optional[int] = ..., by_status: _Optional[_Iterable[_Union[CountByKey, _Mapping]]] = ..., by_office: _Optional[_Iterable[_Union[CountByKey, _Mapping]]] = ..., by_province: _Optional[_Iterable[_Union[CountByKey, _Mapping]]] = ..., by_category: _Optional[_Iterable[_Union[CountByKey, _Mapping]]] = ..., sla_compliance: _Optional[float] = ..., median_time_to_first_response: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., median_time_to_resolution: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reassignments_per_complaint: _Optional[float] = ..., ping_pong_count: _Optional[int] = ..., time_held: _Optional[_Iterable[_Union[OfficeHolding, _Mapping]]] = ..., offices: _Optional[_Iterable[_Union[OfficeKpis, _Mapping]]] = ...) -> None: ...

class RebuildProjectionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RebuildProjectionsResponse(_message.Message):
    __slots__ = ("events_processed", "duration", "events_per_second", "positions")
    EVENTS_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    EVENTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    events_processed: int
    duration: _duration_pb2.Duration
    events_per_second: float
    positions: _containers.RepeatedCompositeFieldContainer[_common_pb2.EventPosition]
    def __init__(self, events_processed: _Optional[int] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., events_per_second: _Optional[float] = ..., positions: _Optional[_Iterable[_Union[_common_pb2.EventPosition, _Mapping]]] = ...) -> None: ...
