"""The EmailService servicer: validates a request, records or lists emails in the outbox."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from purchase.email.v1 import email_pb2, email_pb2_grpc

from services.email.errors import EmailError, InvalidEmailRequest, OutboxUnavailable
from services.email.messages import Email, EmailKind, discount_email, order_confirmation
from services.email.outbox import Outbox, OutboxEntry

log = logging.getLogger(__name__)

SERVICE_NAME = email_pb2.DESCRIPTOR.services_by_name["EmailService"].full_name

# The one place where domain errors become gRPC status codes.
_STATUS_BY_ERROR: dict[type[EmailError], grpc.StatusCode] = {
    InvalidEmailRequest: grpc.StatusCode.INVALID_ARGUMENT,
    OutboxUnavailable: grpc.StatusCode.UNAVAILABLE,
}

_KIND_MESSAGE = {
    EmailKind.ORDER_CONFIRMATION: email_pb2.EMAIL_KIND_ORDER_CONFIRMATION,
    EmailKind.DISCOUNT: email_pb2.EMAIL_KIND_DISCOUNT,
}

Method = TypeVar("Method", bound=Callable[..., object])


def _abort_on_domain_error(method: Method) -> Method:
    """Turn an EmailError raised by the method into an aborted call with the error's message."""

    @functools.wraps(method)
    def handler(self: EmailServicer, request: object, context: grpc.ServicerContext) -> object:
        try:
            return method(self, request, context)
        except EmailError as error:
            if error.__cause__ is not None:
                log.warning("%s failed: %s (%s)", method.__name__, error, error.__cause__)
            context.abort(_STATUS_BY_ERROR[type(error)], str(error))

    return handler  # type: ignore[return-value]


def _message(entry: OutboxEntry) -> email_pb2.EmailMessage:
    email = entry.email
    created_at = Timestamp()
    created_at.FromMilliseconds(entry.created_at_ms)
    return email_pb2.EmailMessage(
        message_id=entry.message_id,
        kind=_KIND_MESSAGE[email.kind],
        to=email.to,
        user_id=email.user_id,
        order_id=email.order_id,
        subject=email.subject,
        body=email.body,
        created_at=created_at,
    )


class EmailServicer(email_pb2_grpc.EmailServiceServicer):
    """Records emails in the outbox it is given, once per kind and order."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def _record(self, email: Email) -> tuple[email_pb2.EmailMessage, bool]:
        entry, duplicate = self._outbox.record(email)
        log.info(
            "%s email for order %s %s as %s",
            email.kind.value,
            email.order_id,
            "was already recorded" if duplicate else "recorded",
            entry.message_id,
        )
        return _message(entry), duplicate

    @_abort_on_domain_error
    def SendOrderConfirmation(self, request: email_pb2.SendOrderConfirmationRequest, context: grpc.ServicerContext):
        """Record the confirmation of a placed order."""
        email = order_confirmation(request.to, request.user_id, request.order_id, request.total, request.item_count)
        message, duplicate = self._record(email)
        return email_pb2.SendOrderConfirmationResponse(message=message, duplicate=duplicate)

    @_abort_on_domain_error
    def SendDiscountEmail(self, request: email_pb2.SendDiscountEmailRequest, context: grpc.ServicerContext):
        """Record the email about an order's discount."""
        email = discount_email(request.to, request.user_id, request.order_id, request.amount, request.reason)
        message, duplicate = self._record(email)
        return email_pb2.SendDiscountEmailResponse(message=message, duplicate=duplicate)

    @_abort_on_domain_error
    def ListOutbox(self, request: email_pb2.ListOutboxRequest, context: grpc.ServicerContext):
        """List recorded emails, newest first."""
        entries = self._outbox.list(request.limit, request.user_id)
        return email_pb2.ListOutboxResponse(messages=[_message(entry) for entry in entries])


def register(server: grpc.Server, outbox: Outbox) -> None:
    """Add the email servicer, recording into outbox, to a gRPC server."""
    email_pb2_grpc.add_EmailServiceServicer_to_server(EmailServicer(outbox), server)
