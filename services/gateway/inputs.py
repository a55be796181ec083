"""Read and check what a client sends: the user headers, the Idempotency-Key, and JSON bodies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest as WerkzeugBadRequest

from services.gateway.errors import BadRequest, InvalidValue

MAX_QUANTITY = 99
MAX_SKU_LENGTH = 64
MAX_PROMO_CODE_LENGTH = 32

_USER_ID = re.compile(r"[A-Za-z0-9._@-]{1,64}")
# Loose on purpose: something@domain.tld without spaces is enough for a lab's pretend mail.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{1,63}")
_IDEMPOTENCY_KEY = re.compile(r"[ -~]{1,128}")


@dataclass(frozen=True)
class User:
    """Who is shopping: the id from X-User-Id and where their emails go."""

    user_id: str
    email: str


def current_user() -> User:
    """The user named by X-User-Id (required) and X-User-Email (optional); BadRequest when invalid."""
    user_id = request.headers.get("X-User-Id", "")
    if not user_id:
        raise BadRequest("the X-User-Id header is missing; send the id of the shopping user", code="missing_header")
    if not _USER_ID.fullmatch(user_id):
        raise BadRequest(
            f"X-User-Id {user_id[:80]!r} is not a user id; use 1 to 64 letters, digits or . _ @ -",
            code="invalid_header",
        )
    email = request.headers.get("X-User-Email", "")
    if email and (len(email) > 254 or not _EMAIL.fullmatch(email)):
        raise BadRequest(
            f"X-User-Email {email[:80]!r} is not an email address; send one like ada@example.com, or leave it out",
            code="invalid_header",
        )
    return User(user_id, email or default_email(user_id))


def default_email(user_id: str) -> str:
    """Where a user's emails go when they name no address: their id if it is one, else one made from it."""
    if _EMAIL.fullmatch(user_id):
        return user_id
    return f"{user_id.replace('@', '.')}@example.com"


def idempotency_key() -> str:
    """The Idempotency-Key header: 1 to 128 printable ASCII characters; BadRequest when missing or invalid."""
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        raise BadRequest(
            "the Idempotency-Key header is missing; send a key of your choosing, such as a UUID, "
            "and repeat it to retry the same checkout",
            code="missing_header",
        )
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise BadRequest(
            "the Idempotency-Key header is not 1 to 128 printable ASCII characters; use one such as a UUID",
            code="invalid_header",
        )
    return key


def json_object(example: str) -> dict[str, Any]:
    """The request body as a JSON object; BadRequest naming the example when it is anything else."""
    try:
        body = request.get_json(force=True)
    except WerkzeugBadRequest:
        raise BadRequest(f"the body is not valid JSON; send an object such as {example}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body is not a JSON object; send one such as {example}", code="invalid_json")
    return body


def required(body: dict[str, Any], field: str, example: str) -> Any:
    """The value of a field that must be present; BadRequest naming it when it is missing."""
    if field not in body:
        raise BadRequest(f"the body has no {field!r}; send an object such as {example}", code="missing_field")
    return body[field]


def text(body: dict[str, Any], field: str, max_length: int, example: str) -> str:
    """A required non-empty string field of at most max_length characters; InvalidValue otherwise."""
    value = required(body, field, example)
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidValue(
            f"{field} must be a non-empty string of at most {max_length} characters; got {str(value)[:80]!r}"
        )
    return value


def quantity(body: dict[str, Any], example: str) -> int:
    """The required quantity: a whole number from 1 to 99; InvalidValue otherwise."""
    value = required(body, "quantity", example)
    # bool is an int in Python, but `"quantity": true` is not a quantity.
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_QUANTITY:
        raise InvalidValue(f"quantity must be a whole number from 1 to {MAX_QUANTITY}; got {str(value)[:80]}")
    return value
