"""The emails' text and the checks made before anything is recorded."""

from __future__ import annotations

import pytest

from purchase_lab.money import money
from services.email.errors import InvalidEmailRequest
from services.email.messages import EmailKind, discount_email, order_confirmation

pytestmark = pytest.mark.unit


def test_a_confirmation_names_the_order_its_items_and_total() -> None:
    email = order_confirmation("ada@example.com", "u-1", "ord-42", money(5250), 3)
    assert email.kind is EmailKind.ORDER_CONFIRMATION
    assert (email.to, email.user_id, email.order_id) == ("ada@example.com", "u-1", "ord-42")
    assert email.subject == "Your order ord-42 is confirmed"
    assert "order ord-42: 3 items, $52.50 in total." in email.body


def test_a_confirmation_of_one_item_says_item() -> None:
    assert "1 item, $0.99 in total" in order_confirmation("a@b.co", "u-1", "ord-1", money(99), 1).body


def test_a_discount_email_names_the_amount_and_the_reason() -> None:
    email = discount_email("ada@example.com", "u-1", "ord-42", money(610), "10% off your first order")
    assert email.kind is EmailKind.DISCOUNT
    assert email.subject == "You saved $6.10 on order ord-42"
    assert "order ord-42 got $6.10 off (10% off your first order)." in email.body


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("", "the recipient `to` is empty; send the customer's email address"),
        ("ada", "'ada' is not an email address; send one like 'ada@example.com'"),
        ("ada@example", "'ada@example' is not an email address"),
        ("ada @example.com", "'ada @example.com' is not an email address"),
        ("a@@example.com", "'a@@example.com' is not an email address"),
        (f"{'a' * 250}@example.com", "is not an email address"),
    ],
)
def test_a_missing_or_malformed_address_is_refused(to: str, message: str) -> None:
    with pytest.raises(InvalidEmailRequest, match=message):
        order_confirmation(to, "u-1", "ord-1", money(100), 1)
    with pytest.raises(InvalidEmailRequest, match=message):
        discount_email(to, "u-1", "ord-1", money(100), "reason")


def test_a_missing_order_id_is_refused() -> None:
    with pytest.raises(InvalidEmailRequest, match="the order_id is empty; send the id of the order"):
        order_confirmation("ada@example.com", "u-1", "", money(100), 1)


def test_an_absurdly_long_order_id_is_refused() -> None:
    with pytest.raises(InvalidEmailRequest, match="longer than 128 characters"):
        discount_email("ada@example.com", "u-1", "o" * 129, money(100), "reason")


def test_a_negative_total_or_item_count_is_refused() -> None:
    with pytest.raises(InvalidEmailRequest, match=r"the order total -\$1.00 is negative"):
        order_confirmation("ada@example.com", "u-1", "ord-1", money(-100), 1)
    with pytest.raises(InvalidEmailRequest, match="item_count -1 is negative"):
        order_confirmation("ada@example.com", "u-1", "ord-1", money(100), -1)


def test_a_discount_email_needs_a_real_discount() -> None:
    with pytest.raises(InvalidEmailRequest, match=r"the discount \$0.00 is not above zero"):
        discount_email("ada@example.com", "u-1", "ord-1", money(0), "")
