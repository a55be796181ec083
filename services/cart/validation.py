"""Checks of request fields: each raises InvalidInput saying what was wrong and what to send instead."""

from __future__ import annotations

import re

from services.cart.errors import InvalidInput

MAX_USER_ID_LENGTH = 64
MAX_IDEMPOTENCY_KEY_LENGTH = 128
MAX_SKU_LENGTH = 64
MAX_ORDER_ID_LENGTH = 64
MAX_PROMO_CODE_LENGTH = 32
MAX_TEXT_LENGTH = 200

_USER_ID = re.compile(r"[A-Za-z0-9._@-]+")
_PRINTABLE_ASCII = re.compile(r"[ -~]+")
_VISIBLE_ASCII = re.compile(r"[!-~]+")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_PROMO_CODE = re.compile(r"[A-Za-z0-9_-]*")


def check_user_id(user_id: str) -> None:
    """Raise InvalidInput unless user_id is 1 to 64 letters, digits or . _ @ -."""
    if not user_id:
        raise InvalidInput("user_id is empty; send the id of the user whose cart or orders you want")
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise InvalidInput(f"user_id is {len(user_id)} characters long; use at most {MAX_USER_ID_LENGTH}")
    if not _USER_ID.fullmatch(user_id):
        raise InvalidInput(f"user_id {user_id!r} has other characters than letters, digits and . _ @ -; remove them")


def check_idempotency_key(key: str) -> None:
    """Raise InvalidInput unless key is 1 to 128 printable ASCII characters."""
    if not key:
        raise InvalidInput("idempotency_key is empty; send a key of your choosing, such as a UUID, with every order")
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidInput(f"idempotency_key is {len(key)} characters long; use at most {MAX_IDEMPOTENCY_KEY_LENGTH}")
    if not _PRINTABLE_ASCII.fullmatch(key):
        raise InvalidInput("idempotency_key has characters that are not printable ASCII; use one such as a UUID")


def check_sku(sku: str) -> None:
    """Raise InvalidInput unless sku is 1 to 64 visible ASCII characters (no spaces)."""
    if not sku or len(sku) > MAX_SKU_LENGTH or not _VISIBLE_ASCII.fullmatch(sku):
        raise InvalidInput(
            f"sku must be 1 to {MAX_SKU_LENGTH} visible ASCII characters without spaces; got {sku!r:.80}"
        )


def check_promo_code(code: str) -> None:
    """Raise InvalidInput unless code is empty or up to 32 letters, digits, _ or -."""
    if len(code) > MAX_PROMO_CODE_LENGTH or not _PROMO_CODE.fullmatch(code):
        raise InvalidInput(
            f"promo code {code!r:.80} is not a code; use up to {MAX_PROMO_CODE_LENGTH} letters, digits, _ or -"
        )


def check_text(field: str, text: str) -> None:
    """Raise InvalidInput when a free-text field (a name, a reason) is longer than 200 characters."""
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"{field} is {len(text)} characters long; use at most {MAX_TEXT_LENGTH}")


def check_order_id(order_id: str) -> None:
    """Raise InvalidInput unless order_id is 1 to 64 visible ASCII characters."""
    if not order_id or len(order_id) > MAX_ORDER_ID_LENGTH or not _VISIBLE_ASCII.fullmatch(order_id):
        raise InvalidInput(f"order_id {order_id!r:.80} is not an order id; list the user's orders for valid ids")


def check_currency(field: str, currency: str) -> None:
    """Raise InvalidInput unless currency is an ISO 4217 code such as USD."""
    if not _CURRENCY_CODE.fullmatch(currency):
        raise InvalidInput(f"{field} currency {currency!r:.20} is not an ISO 4217 code; use one such as 'USD'")
