from aduan.v1 import events_pb2 as _events_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ReadEventsRequest(_message.Message):
    __slots__ = ("after_position", "limit", "follow", "include_stored")
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_STORED_FIELD_NUMBER: _ClassVar[int]
    after_position: int
    limit: int
    follow: bool
    include_stored: bool
    def __init__(self, after_position: _Optional[int] = ..., limit: _Optional[int] = ..., follow: _Optional[bool] = ..., include_stored: _Optional[bool] = ...) -> None: ...

class GetHeadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetHeadResponse(_message.Message):
    __slots__ = ("service", "position")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    service: str
    position: int
    def __init__(self, service: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...
