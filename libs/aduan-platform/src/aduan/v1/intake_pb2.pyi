from aduan.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Reporter(_message.Message):
    __slots__ = ("name", "phone", "email", "nik", "anonymous", "confidential", "language")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NIK_FIELD_NUMBER: _ClassVar[int]
    ANONYMOUS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENTIAL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    phone: str
    email: str
    nik: str
    anonymous: bool
    confidential: bool
    language: str
    def __init__(self, name: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ..., nik: _Optional[str] = ..., anonymous: _Optional[bool] = ..., confidential: _Optional[bool] = ..., language: _Optional[str] = ...) -> None: ...

class FileComplaintRequest(_message.Message):
    __slots__ = ("idempotency_key", "channel", "reporter", "category", "location", "parcel", "subject", "description", "attachments")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    REPORTER_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    PARCEL_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    channel: _common_pb2.Channel
    reporter: Reporter
    category: _common_pb2.Category
    location: _common_pb2.Location
    parcel: _common_pb2.LandParcel
    subject: str
    description: str
    attachments: _containers.RepeatedCompositeFieldContainer[_common_pb2.Attachment]
    def __init__(self, idempotency_key: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., reporter: _Optional[_Union[Reporter, _Mapping]] = ..., category: _Optional[_Union[_common_pb2.Category, str]] = ..., location: _Optional[_Union[_common_pb2.Location, _Mapping]] = ..., parcel: _Optional[_Union[_common_pb2.LandParcel, _Mapping]] = ..., subject: _Optional[str] = ..., description: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[_common_pb2.Attachment, _Mapping]]] = ...) -> None: ...

class FileComplaintResponse(_message.Message):
    __slots__ = ("complaint_id", "ticket_number", "created", "position", "tracking_code")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    TICKET_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    TRACKING_CODE_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    ticket_number: str
    created: bool
    position: _common_pb2.EventPosition
    tracking_code: str
    def __init__(self, complaint_id: _Optional[str] = ..., ticket_number: _Optional[str] = ..., created: _Optional[bool] = ..., position: _Optional[_Union[_common_pb2.EventPosition, _Mapping]] = ..., tracking_code: _Optional[str] = ...) -> None: ...

class AddReporterMessageRequest(_message.Message):
    __slots__ = ("complaint_id", "idempotency_key", "channel", "text", "attachments")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    idempotency_key: str
    channel: _common_pb2.Channel
    text: str
    attachments: _containers.RepeatedCompositeFieldContainer[_common_pb2.Attachment]
    def __init__(self, complaint_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., text: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[_common_pb2.Attachment, _Mapping]]] = ...) -> None: ...

class AddReporterMessageResponse(_message.Message):
    __slots__ = ("message_id", "created", "position")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    created: bool
    position: _common_pb2.EventPosition
    def __init__(self, message_id: _Optional[str] = ..., created: _Optional[bool] = ..., position: _Optional[_Union[_common_pb2.EventPosition, _Mapping]] = ...) -> None: ...

class WithdrawComplaintRequest(_message.Message):
    __slots__ = ("complaint_id", "reason")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    reason: str
    def __init__(self, complaint_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class WithdrawComplaintResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: _common_pb2.EventPosition
    def __init__(self, position: _Optional[_Union[_common_pb2.EventPosition, _Mapping]] = ...) -> None: ...

class RateResolutionRequest(_message.Message):
    __slots__ = ("complaint_id", "rating", "comment")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    rating: int
    comment: str
    def __init__(self, complaint_id: _Optional[str] = ..., rating: _Optional[int] = ..., comment: _Optional[str] = ...) -> None: ...

class RateResolutionResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: _common_pb2.EventPosition
    def __init__(self, position: _Optional[_Union[_common_pb2.EventPosition, _Mapping]] = ...) -> None: ...

class RequestStatusRequest(_message.Message):
    __slots__ = ("complaint_id", "channel", "idempotency_key")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    channel: _common_pb2.Channel
    idempotency_key: str
    def __init__(self, complaint_id: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RequestStatusResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: _common_pb2.EventPosition
    def __init__(self, position: _Optional[_Union[_common_pb2.EventPosition, _Mapping]] = ...) -> None: ...

class RequestStatusByTrackingCodeRequest(_message.Message):
    __slots__ = ("tracking_code", "channel", "idempotency_key")
    TRACKING_CODE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    tracking_code: str
    channel: _common_pb2.Channel
    idempotency_key: str
    def __init__(self, tracking_code: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RequestStatusByTrackingCodeResponse(_message.Message):
    __slots__ = ("ticket_number", "status", "position")
    TICKET_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ticket_number: str
    status: _common_pb2.ComplaintStatus
    position: _common_pb2.EventPosition
    def __init__(self, ticket_number: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.ComplaintStatus, str]] = ..., position: _Optional[_Union[_common_pb2.EventPosition, _Mapping]] = ...) -> None: ...

class GetReporterContactRequest(_message.Message):
    __slots__ = ("complaint_id", "purpose", "reveal_purpose")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    REVEAL_PURPOSE_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    purpose: str
    reveal_purpose: _common_pb2.RevealPurpose
    def __init__(self, complaint_id: _Optional[str] = ..., purpose: _Optional[str] = ..., reveal_purpose: _Optional[_Union[_common_pb2.RevealPurpose, str]] = ...) -> None: ...

class GetReporterContactResponse(_message.Message):
    __slots__ = ("reporter_id", "name", "phone", "email", "nik", "language", "position")
    REPORTER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NIK_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    reporter_id: str
    name: str
    phone: str
    email: str
    nik: str
    language: str
    position: _common_pb2.EventPosition
    def __init__(self, reporter_id: _Optional[str] = ..., name: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ..., nik: _Optional[str] = ..., language: _Optional[str] = ..., position: _Optional[_Union[_common_pb2.EventPosition, _Mapping]] = ...) -> None: ...

class RevealComplaintTextRequest(_message.Message):
    __slots__ = ("complaint_id", "purpose", "reveal_purpose")
    COMPLAINT_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    REVEAL_PURPOSE_FIELD_NUMBER: _ClassVar[int]
    complaint_id: str
    purpose: str
    reveal_purpose: _common_pb2.RevealPurpose
    def __init__(self, complaint_id: _Optional[str] = ..., purpose: _Optional[str] = ..., reveal_purpose: _Optional[_Union[_common_pb2.RevealPurpose, str]] = ...) -> None: ...

class RevealedMessage(_message.Message):
    __slots__ = ("message_id", "text", "captions")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CAPTIONS_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    text: str
    captions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, message_id: _Optional[str] = ..., text: _Optional[str] = ..., captions: _Optional[_Iterable[str]] = ...) -> None: ...

class RevealComplaintTextResponse(_message.Message):
    __slots__ = ("subject", "description", "messages", "withdrawal_reason", "rating_comment", "position", "captions")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWAL_REASON_FIELD_NUMBER: _ClassVar[int]
    RATING_COMMENT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    CAPTIONS_FIELD_NUMBER: _ClassVar[int]
    subject: str
    description: str
    messages: _containers.RepeatedCompositeFieldContainer[RevealedMessage]
    withdrawal_reason: str
    rating_comment: str
    position: _common_pb2.EventPosition
    captions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, subject: _Optional[str] = ..., description: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[RevealedMessage, _Mapping]]] = ..., withdrawal_reason: _Optional[str] = ..., rating_comment: _Optional[str] = ..., position: _Optional[_Union[_common_pb2.EventPosition, _Mapping]] = ..., captions: _Optional[_Iterable[str]] = ...) -> None: ...

class EraseReporterRequest(_message.Message):
    __slots__ = ("reporter_id", "reason")
    REPORTER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reporter_id: str
    reason: str
    def __init__(self, reporter_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class EraseReporterResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: _common_pb2.EventPosition
    def __init__(self, position: _Optional[_Union[_common_pb2.EventPosition, _Mapping]] = ...) -> None: ...
