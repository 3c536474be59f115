import datetime

from aduan.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SlaDeadlines(_message.Message):
    __slots__ = ("accept_due", "response_due", "resolution_due", "auto_close_due")
    ACCEPT_DUE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_DUE_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_DUE_FIELD_NUMBER: _ClassVar[int]
    AUTO_CLOSE_DUE_FIELD_NUMBER: _ClassVar[int]
    accept_due: _timestamp_pb2.Timestamp
    response_due: _timestamp_pb2.Timestamp
    resolution_due: _timestamp_pb2.Timestamp
    auto_close_due: _timestamp_pb2.Timestamp
    def __init__(self, accept_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., response_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolution_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., auto_close_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CaseState(_message.Message):
    __slots__ = ("complaint_id", "ticket_number", "status", "holding_office", "category", "location", "scope", "deadlines", "breached", "reassignment_count", "ping_pong_flagged", "confidential", "version", "opened_at", "updated_at")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    TICKET_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HOLDING_OFFICE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    DEADLINES_FIELD_NUMBER: _ClassVar[int]
    BREACHED_FIELD_NUMBER: _ClassVar[int]
    REASSIGNMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PING_PONG_FLAGGED_FIELD_NUMBER: _ClassVar[int]
    CONFIDENTIAL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    ticket_number: str
    status: _common_pb2.ComplaintStatus
    holding_office: _common_pb2.OfficeRef
    category: _common_pb2.Category
    location: _common_pb2.Location
    scope: _common_pb2.Scope
    deadlines: SlaDeadlines
    breached: _containers.RepeatedScalarFieldContainer[_common_pb2.SlaKind]
    reassignment_count: int
    ping_pong_flagged: bool
    confidential: bool
    version: int
    opened_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, complaint_id: _Optional[str] = ..., ticket_number: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.ComplaintStatus, str]] = ..., holding_office: _Optional[_Union[_common_pb2.OfficeRef, _Mapping]] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., scope: _Optional[_Union[_common_pb2.Scope, str]] = ..., deadlines: _Optional[_Union[SlaDeadlines, _Mapping]] = ..., breached: _Optional[_Iterable[_Union[_common_pb2.SlaKind, str]]] = ..., reassignment_count: _Optional[int] = ..., ping_pong_flagged: _Optional[bool] = ..., confidential: _Optional[bool] = ..., version: _Optional[int] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetCaseRequest(_message.Message):
    __slots__ = ("complaint_id",)
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    def __init__(self, complaint_id: _Optional[str] = ...) -> None: ...

class GetCaseResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: CaseState
    def __init__(self, state: _Optional[_Union[CaseState, _Mapping]] = ...) -> None: ...

class CaseCommandResponse(_message.Message):
    __slots__ = ("state", "position")
    STATE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    state: CaseState
    position: _common_pb2.EventPosition
    def __init__(self, state: _Optional[_Union[CaseState, _Mapping]] = ..., position: _Optional[_Union[_common_pb2.EventPosition, _Mapping]] = ...) -> None: ...

class ClassifyComplaintRequest(_message.Message):
    __slots__ = ("complaint_id", "category", "location", "scope", "note", "expected_version")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    category: _common_pb2.Category
    location: _common_pb2.Location
    scope: _common_pb2.Scope
    note: str
    expected_version: int
    def __init__(self, complaint_id: _Optional[str] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., scope: _Optional[_Union[_common_pb2.Scope, str]] = ..., note: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class AcceptCaseRequest(_message.Message):
    __slots__ = ("complaint_id", "expected_version")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    expected_version: int
    def __init__(self, complaint_id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ReassignCaseRequest(_message.Message):
    __slots__ = ("complaint_id", "kind", "to_office_code", "reason_code", "note", "expected_version")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TO_OFFICE_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    kind: _common_pb2.ReassignmentKind
    to_office_code: str
    reason_code: _common_pb2.ReasonCode
    note: str
    expected_version: int
    def __init__(self, complaint_id: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.ReassignmentKind, str]] = ..., to_office_code: _Optional[str] = ..., reason_code: _Optional[_Union[_common_pb2.ReasonCode, str]] = ..., note: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class RespondToReporterRequest(_message.Message):
    __slots__ = ("complaint_id", "text", "expected_version")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    text: str
    expected_version: int
    def __init__(self, complaint_id: _Optional[str] = ..., text: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ResolveCaseRequest(_message.Message):
    __slots__ = ("complaint_id", "summary", "expected_version")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    summary: str
    expected_version: int
    def __init__(self, complaint_id: _Optional[str] = ..., summary: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ReopenCaseRequest(_message.Message):
    __slots__ = ("complaint_id", "reason", "expected_version")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    reason: str
    expected_version: int
    def __init__(self, complaint_id: _Optional[str] = ..., reason: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class CloseCaseRequest(_message.Message):
    __slots__ = ("complaint_id", "reason", "expected_version")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    reason: str
    expected_version: int
    def __init__(self, complaint_id: _Optional[str] = ..., reason: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ListOfficesRequest(_message.Message):
    __slots__ = ("level", "parent_code", "province_code", "page")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    PARENT_CODE_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    level: _common_pb2.OfficeLevel
    parent_code: str
    province_code: str
    page: _common_pb2.PageRequest
    def __init__(self, level: _Optional[_Union[_common_pb2.OfficeLevel, str]] = ..., parent_code: _Optional[str] = ..., province_code: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListOfficesResponse(_message.Message):
    __slots__ = ("offices", "page", "registry_version")
    OFFICES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_VERSION_FIELD_NUMBER: _ClassVar[int]
    offices: _containers.RepeatedCompositeFieldContainer[_common_pb2.Office]
    page: _common_pb2.PageResponse
    registry_version: str
    def __init__(self, offices: _Optional[_Iterable[_Union[_common_pb2.Office, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ..., registry_version: _Optional[str] = ...) -> None: ...

class GetRoutingRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RoutingRule(_message.Message):
    __slots__ = ("id", "description", "when", "route_to")
    ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    WHEN_FIELD_NUMBER: _ClassVar[int]
    ROUTE_TO_FIELD_NUMBER: _ClassVar[int]
    id: str
    description: str
    when: str
    route_to: str
    def __init__(self, id: _Optional[str] = ..., description: _Optional[str] = ..., when: _Optional[str] = ..., route_to: _Optional[str] = ...) -> None: ...

class GetRoutingRulesResponse(_message.Message):
    __slots__ = ("ruleset_version", "rules", "source")
    RULESET_VERSION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ruleset_version: str
    rules: _containers.RepeatedCompositeFieldContainer[RoutingRule]
    source: str
    def __init__(self, ruleset_version: _Optional[str] = ..., rules: _Optional[_Iterable[_Union[RoutingRule, _Mapping]]] = ..., source: _Optional[str] = ...) -> None: ...
