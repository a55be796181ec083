import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from purchase.common.v1 import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EmailKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EMAIL_KIND_UNSPECIFIED: _ClassVar[EmailKind]
    EMAIL_KIND_ORDER_CONFIRMATION: _ClassVar[EmailKind]
    EMAIL_KIND_DISCOUNT: _ClassVar[EmailKind]
EMAIL_KIND_UNSPECIFIED: EmailKind
EMAIL_KIND_ORDER_CONFIRMATION: EmailKind
EMAIL_KIND_DISCOUNT: EmailKind

class EmailMessage(_message.Message):
    __slots__ = ("message_id", "kind", "to", "user_id", "order_id", "subject", "body", "created_at")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    kind: EmailKind
    to: str
    user_id: str
    order_id: str
    subject: str
    body: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, message_id: _Optional[str] = ..., kind: _Optional[_Union[EmailKind, str]] = ..., to: _Optional[str] = ..., user_id: _Optional[str] = ..., order_id: _Optional[str] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SendOrderConfirmationRequest(_message.Message):
    __slots__ = ("to", "user_id", "order_id", "total", "item_count")
    TO_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    to: str
    user_id: str
    order_id: str
    total: _money_pb2.Money
    item_count: int
    def __init__(self, to: _Optional[str] = ..., user_id: _Optional[str] = ..., order_id: _Optional[str] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., item_count: _Optional[int] = ...) -> None: ...

class SendOrderConfirmationResponse(_message.Message):
    __slots__ = ("message", "duplicate")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    message: EmailMessage
    duplicate: bool
    def __init__(self, message: _Optional[_Union[EmailMessage, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class SendDiscountEmailRequest(_message.Message):
    __slots__ = ("to", "user_id", "order_id", "amount", "reason")
    TO_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    to: str
    user_id: str
    order_id: str
    amount: _money_pb2.Money
    reason: str
    def __init__(self, to: _Optional[str] = ..., user_id: _Optional[str] = ..., order_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class SendDiscountEmailResponse(_message.Message):
    __slots__ = ("message", "duplicate")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    message: EmailMessage
    duplicate: bool
    def __init__(self, message: _Optional[_Union[EmailMessage, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class ListOutboxRequest(_message.Message):
    __slots__ = ("limit", "user_id")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    limit: int
    user_id: str
    def __init__(self, limit: _Optional[int] = ..., user_id: _Optional[str] = ...) -> None: ...

class ListOutboxResponse(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[EmailMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[EmailMessage, _Mapping]]] = ...) -> None: ...
