import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ActorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTOR_KIND_UNSPECIFIED: _ClassVar[ActorKind]
    ACTOR_KIND_OFFICER: _ClassVar[ActorKind]
    ACTOR_KIND_SERVICE: _ClassVar[ActorKind]
    ACTOR_KIND_SYSTEM: _ClassVar[ActorKind]
    ACTOR_KIND_REPORTER: _ClassVar[ActorKind]
    ACTOR_KIND_GATEWAY: _ClassVar[ActorKind]

class OfficeLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OFFICE_LEVEL_UNSPECIFIED: _ClassVar[OfficeLevel]
    OFFICE_LEVEL_PUSAT: _ClassVar[OfficeLevel]
    OFFICE_LEVEL_KANWIL: _ClassVar[OfficeLevel]
    OFFICE_LEVEL_KANTAH: _ClassVar[OfficeLevel]

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_WHATSAPP: _ClassVar[Channel]
    CHANNEL_WEB: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
    CHANNEL_PHONE_DESK: _ClassVar[Channel]
    CHANNEL_WALK_IN: _ClassVar[Channel]
    CHANNEL_LAPOR: _ClassVar[Channel]
    CHANNEL_API: _ClassVar[Channel]

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    CATEGORY_UNCLASSIFIED: _ClassVar[Category]
    CATEGORY_LAND_DISPUTE: _ClassVar[Category]
    CATEGORY_LAND_SERVICE: _ClassVar[Category]
    CATEGORY_ILLEGAL_LEVY: _ClassVar[Category]
    CATEGORY_ABUSE_OF_AUTHORITY: _ClassVar[Category]
    CATEGORY_SPATIAL_PLANNING: _ClassVar[Category]
    CATEGORY_LAND_ACQUISITION: _ClassVar[Category]
    CATEGORY_INFORMATION_REQUEST: _ClassVar[Category]
    CATEGORY_OTHER: _ClassVar[Category]

class Scope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCOPE_UNSPECIFIED: _ClassVar[Scope]
    SCOPE_LOCAL: _ClassVar[Scope]
    SCOPE_REGIONAL: _ClassVar[Scope]
    SCOPE_NATIONAL: _ClassVar[Scope]

class ComplaintStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPLAINT_STATUS_UNSPECIFIED: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_RECEIVED: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_ASSIGNED: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_IN_PROGRESS: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_RESOLVED: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_CLOSED: _ClassVar[ComplaintStatus]
    COMPLAINT_STATUS_WITHDRAWN: _ClassVar[ComplaintStatus]

class ReassignmentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASSIGNMENT_KIND_UNSPECIFIED: _ClassVar[ReassignmentKind]
    REASSIGNMENT_KIND_ESCALATE: _ClassVar[ReassignmentKind]
    REASSIGNMENT_KIND_DELEGATE: _ClassVar[ReassignmentKind]
    REASSIGNMENT_KIND_TRANSFER: _ClassVar[ReassignmentKind]
    REASSIGNMENT_KIND_RETURN_TO_TRIAGE: _ClassVar[ReassignmentKind]
    REASSIGNMENT_KIND_REROUTE: _ClassVar[ReassignmentKind]

class ReasonCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_CODE_UNSPECIFIED: _ClassVar[ReasonCode]
    REASON_CODE_WRONG_JURISDICTION: _ClassVar[ReasonCode]
    REASON_CODE_NEEDS_HIGHER_AUTHORITY: _ClassVar[ReasonCode]
    REASON_CODE_WIDE_IMPACT: _ClassVar[ReasonCode]
    REASON_CODE_NATIONAL_SCOPE: _ClassVar[ReasonCode]
    REASON_CODE_FIELD_WORK_NEEDED: _ClassVar[ReasonCode]
    REASON_CODE_CONFLICT_OF_INTEREST: _ClassVar[ReasonCode]
    REASON_CODE_SLA_BREACH: _ClassVar[ReasonCode]
    REASON_CODE_RECLASSIFIED: _ClassVar[ReasonCode]
    REASON_CODE_MISSING_INFORMATION: _ClassVar[ReasonCode]
    REASON_CODE_OTHER: _ClassVar[ReasonCode]

class SlaKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SLA_KIND_UNSPECIFIED: _ClassVar[SlaKind]
    SLA_KIND_ACCEPT: _ClassVar[SlaKind]
    SLA_KIND_FIRST_RESPONSE: _ClassVar[SlaKind]
    SLA_KIND_RESOLUTION: _ClassVar[SlaKind]

class RevealPurpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVEAL_PURPOSE_UNSPECIFIED: _ClassVar[RevealPurpose]
    REVEAL_PURPOSE_CONTACT_REPORTER: _ClassVar[RevealPurpose]
    REVEAL_PURPOSE_FIELD_VERIFICATION: _ClassVar[RevealPurpose]
    REVEAL_PURPOSE_LEGAL_PROCESS: _ClassVar[RevealPurpose]
ACTOR_KIND_UNSPECIFIED: ActorKind
ACTOR_KIND_OFFICER: ActorKind
ACTOR_KIND_SERVICE: ActorKind
ACTOR_KIND_SYSTEM: ActorKind
ACTOR_KIND_REPORTER: ActorKind
ACTOR_KIND_GATEWAY: ActorKind
OFFICE_LEVEL_UNSPECIFIED: OfficeLevel
OFFICE_LEVEL_PUSAT: OfficeLevel
OFFICE_LEVEL_KANWIL: OfficeLevel
OFFICE_LEVEL_KANTAH: OfficeLevel
CHANNEL_UNSPECIFIED: Channel
CHANNEL_WHATSAPP: Channel
CHANNEL_WEB: Channel
CHANNEL_EMAIL: Channel
CHANNEL_PHONE_DESK: Channel
CHANNEL_WALK_IN: Channel
CHANNEL_LAPOR: Channel
CHANNEL_API: Channel
CATEGORY_UNSPECIFIED: Category
CATEGORY_UNCLASSIFIED: Category
CATEGORY_LAND_DISPUTE: Category
CATEGORY_LAND_SERVICE: Category
CATEGORY_ILLEGAL_LEVY: Category
CATEGORY_ABUSE_OF_AUTHORITY: Category
CATEGORY_SPATIAL_PLANNING: Category
CATEGORY_LAND_ACQUISITION: Category
CATEGORY_INFORMATION_REQUEST: Category
CATEGORY_OTHER: Category
SCOPE_UNSPECIFIED: Scope
SCOPE_LOCAL: Scope
SCOPE_REGIONAL: Scope
SCOPE_NATIONAL: Scope
COMPLAINT_STATUS_UNSPECIFIED: ComplaintStatus
COMPLAINT_STATUS_RECEIVED: ComplaintStatus
COMPLAINT_STATUS_ASSIGNED: ComplaintStatus
COMPLAINT_STATUS_IN_PROGRESS: ComplaintStatus
COMPLAINT_STATUS_RESOLVED: ComplaintStatus
COMPLAINT_STATUS_CLOSED: ComplaintStatus
COMPLAINT_STATUS_WITHDRAWN: ComplaintStatus
REASSIGNMENT_KIND_UNSPECIFIED: ReassignmentKind
REASSIGNMENT_KIND_ESCALATE: ReassignmentKind
REASSIGNMENT_KIND_DELEGATE: ReassignmentKind
REASSIGNMENT_KIND_TRANSFER: ReassignmentKind
REASSIGNMENT_KIND_RETURN_TO_TRIAGE: ReassignmentKind
REASSIGNMENT_KIND_REROUTE: ReassignmentKind
REASON_CODE_UNSPECIFIED: ReasonCode
REASON_CODE_WRONG_JURISDICTION: ReasonCode
REASON_CODE_NEEDS_HIGHER_AUTHORITY: ReasonCode
REASON_CODE_WIDE_IMPACT: ReasonCode
REASON_CODE_NATIONAL_SCOPE: ReasonCode
REASON_CODE_FIELD_WORK_NEEDED: ReasonCode
REASON_CODE_CONFLICT_OF_INTEREST: ReasonCode
REASON_CODE_SLA_BREACH: ReasonCode
REASON_CODE_RECLASSIFIED: ReasonCode
REASON_CODE_MISSING_INFORMATION: ReasonCode
REASON_CODE_OTHER: ReasonCode
SLA_KIND_UNSPECIFIED: SlaKind
SLA_KIND_ACCEPT: SlaKind
SLA_KIND_FIRST_RESPONSE: SlaKind
SLA_KIND_RESOLUTION: SlaKind
REVEAL_PURPOSE_UNSPECIFIED: RevealPurpose
REVEAL_PURPOSE_CONTACT_REPORTER: RevealPurpose
REVEAL_PURPOSE_FIELD_VERIFICATION: RevealPurpose
REVEAL_PURPOSE_LEGAL_PROCESS: RevealPurpose

class Actor(_message.Message):
    __slots__ = ("id", "kind", "role", "office_code")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_CODE_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: ActorKind
    role: str
    office_code: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[ActorKind, str]] = ..., role: _Optional[str] = ..., office_code: _Optional[str] = ...) -> None: ...

class OfficeRef(_message.Message):
    __slots__ = ("code", "level", "name")
    CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    code: str
    level: OfficeLevel
    name: str
    def __init__(self, code: _Optional[str] = ..., level: _Optional[_Union[OfficeLevel, str]] = ..., name: _Optional[str] = ...) -> None: ...

class Office(_message.Message):
    __slots__ = ("code", "level", "name", "parent_code", "province_codes", "regency_code")
    CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_CODE_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODES_FIELD_NUMBER: _ClassVar[int]
    REGENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    level: OfficeLevel
    name: str
    parent_code: str
    province_codes: _containers.RepeatedScalarFieldContainer[str]
    regency_code: str
    def __init__(self, code: _Optional[str] = ..., level: _Optional[_Union[OfficeLevel, str]] = ..., name: _Optional[str] = ..., parent_code: _Optional[str] = ..., province_codes: _Optional[_Iterable[str]] = ..., regency_code: _Optional[str] = ...) -> None: ...

class Location(_message.Message):
    __slots__ = ("province_code", "regency_code", "address")
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    REGENCY_CODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    province_code: str
    regency_code: str
    address: str
    def __init__(self, province_code: _Optional[str] = ..., regency_code: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class LandParcel(_message.Message):
    __slots__ = ("nib", "certificate_number")
    NIB_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    nib: str
    certificate_number: str
    def __init__(self, nib: _Optional[str] = ..., certificate_number: _Optional[str] = ...) -> None: ...

class Attachment(_message.Message):
    __slots__ = ("uri", "media_type", "sha256", "caption")
    URI_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    uri: str
    media_type: str
    sha256: str
    caption: str
    def __init__(self, uri: _Optional[str] = ..., media_type: _Optional[str] = ..., sha256: _Optional[str] = ..., caption: _Optional[str] = ...) -> None: ...

class EventPosition(_message.Message):
    __slots__ = ("service", "position")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    service: str
    position: int
    def __init__(self, service: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class PageRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class PageResponse(_message.Message):
    __slots__ = ("next_page_token",)
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    def __init__(self, next_page_token: _Optional[str] = ...) -> None: ...

class TimeRange(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
