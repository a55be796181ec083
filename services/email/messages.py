"""The emails themselves: who they go to and what they say, checked before anything is recorded."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from purchase.common.v1.money_pb2 import Money

from purchase_lab.money import format_money
from services.email.errors import InvalidEmailRequest

# Deliberately loose: one @, no spaces, a dot in the domain. Real validation is delivering to it.
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_ADDRESS_LENGTH = 254
MAX_ORDER_ID_LENGTH = 128


class EmailKind(enum.Enum):
    """Which email a message is; the value is what the outbox stores."""

    ORDER_CONFIRMATION = "order_confirmation"
    DISCOUNT = "discount"


@dataclass(frozen=True)
class Email:
    """One email's recipient and content, and the order it is about."""

    kind: EmailKind
    to: str
    user_id: str
    order_id: str
    subject: str
    body: str


def _check_recipient(to: str, order_id: str) -> None:
    if not to:
        raise InvalidEmailRequest("the recipient `to` is empty; send the customer's email address")
    if len(to) > MAX_ADDRESS_LENGTH or not _ADDRESS.fullmatch(to):
        raise InvalidEmailRequest(f"{to!r} is not an email address; send one like 'ada@example.com'")
    if not order_id:
        raise InvalidEmailRequest("the order_id is empty; send the id of the order the email is about")
    if len(order_id) > MAX_ORDER_ID_LENGTH:
        raise InvalidEmailRequest(f"the order_id is longer than {MAX_ORDER_ID_LENGTH} characters; send the real id")


def _items(count: int) -> str:
    return "1 item" if count == 1 else f"{count} items"


def order_confirmation(to: str, user_id: str, order_id: str, total: Money, item_count: int) -> Email:
    """The confirmation of a placed order; raise InvalidEmailRequest for a bad address or values."""
    _check_recipient(to, order_id)
    if total.minor_units < 0:
        raise InvalidEmailRequest(f"the order total {format_money(total)} is negative; send the amount charged")
    if item_count < 0:
        raise InvalidEmailRequest(f"item_count {item_count} is negative; send how many items the order holds")
    body = (
        "Hello,\n\n"
        f"Thank you for shopping with Purchase Lab. We have received order {order_id}: "
        f"{_items(item_count)}, {format_money(total)} in total.\n\n"
        "We will write again when it ships. Your orders are listed under Orders in the shop.\n\n"
        "Purchase Lab\n"
    )
    return Email(EmailKind.ORDER_CONFIRMATION, to, user_id, order_id, f"Your order {order_id} is confirmed", body)


def discount_email(to: str, user_id: str, order_id: str, amount: Money, reason: str) -> Email:
    """The email naming the discount an order got; raise InvalidEmailRequest for a bad address or amount."""
    _check_recipient(to, order_id)
    if amount.minor_units <= 0:
        raise InvalidEmailRequest(
            f"the discount {format_money(amount)} is not above zero; send a discount email only for a real discount"
        )
    saved = format_money(amount)
    why = f" ({reason})" if reason else ""
    body = (
        "Hello,\n\n"
        f"Good news: order {order_id} got {saved} off{why}. "
        "The discount is already taken off the total you paid.\n\n"
        "Purchase Lab\n"
    )
    return Email(EmailKind.DISCOUNT, to, user_id, order_id, f"You saved {saved} on order {order_id}", body)
