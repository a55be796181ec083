"""Read and check what a client sends: the user headers, the Idempotency-Key, and JSON bodies.

The user a request names is also remembered for the request, so that every downstream call made
while serving it carries the user in its gRPC metadata (see `user_metadata`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask import g, has_request_context, request
from werkzeug.exceptions import RequestEntityTooLarge

from purchase_lab.flags import InvalidUser, UserContext, check_app_version
from services.gateway.errors import BadRequest, InvalidValue

MAX_QUANTITY = 99
MAX_SKU_LENGTH = 64
MAX_PROMO_CODE_LENGTH = 32
# No body of the API nests deeper than a few levels; a deeper one is refused before anything walks it.
MAX_JSON_DEPTH = 16

_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
# Loose on purpose: something@domain.tld without spaces is enough for a lab's pretend mail.
# At most 254 characters in all (64 + 1 + 125 + 1 + 63); /openapi.json publishes the same pattern.
EMAIL_PATTERN = r"[^@\s]{1,64}@[^@\s]{1,125}\.[^@\s]{1,63}"
_EMAIL = re.compile(EMAIL_PATTERN)
_IDEMPOTENCY_KEY = re.compile(r"[ -~]{1,128}")


@dataclass(frozen=True)
class User:
    """Who is shopping: the id from X-User-Id, where their emails go, and the client's app version."""

    user_id: str
    email: str
    app_version: str | None = None

    @cached_property
    def context(self) -> UserContext:
        """The user as feature flags see them: id, email (employees by its domain) and app version."""
        try:
            return UserContext(self.user_id, self.email, self.app_version)
        except InvalidUser:
            # gRPC metadata carries ASCII only, and such an address is never in the employee domain.
            return UserContext(self.user_id, None, self.app_version)


def current_user() -> User:
    """The user named by X-User-Id (required), X-User-Email and X-App-Version (optional); BadRequest when invalid.

    The user is remembered for the rest of the request: downstream calls carry them (user_metadata).
    """
    user_id = request.headers.get("X-User-Id", "")
    if not user_id:
        raise BadRequest("the X-User-Id header is missing; send the id of the shopping user", code="missing_header")
    if not _USER_ID.fullmatch(user_id):
        raise BadRequest(
            f"X-User-Id {user_id[:80]!r} is not a user id; use 1 to 64 letters, digits or . _ @ -, "
            "starting with a letter or digit",
            code="invalid_header",
        )
    email = request.headers.get("X-User-Email")
    if email is not None and not _EMAIL.fullmatch(email):
        raise BadRequest(
            f"X-User-Email {email[:80]!r} is not an email address; send one like ada@example.com, or leave it out",
            code="invalid_header",
        )
    user = User(user_id, email or default_email(user_id), app_version())
    g.purchase_user = user
    return user


def app_version() -> str | None:
    """The optional X-App-Version header (the client's version, for feature flags); BadRequest when invalid."""
    version = request.headers.get("X-App-Version")
    if version is None:
        return None
    try:
        return check_app_version(version)
    except InvalidUser:
        raise BadRequest(
            f"X-App-Version {version[:80]!r} is not a version; send up to 64 letters, digits or . _ + -, "
            "such as 2.4.1, or leave it out",
            code="invalid_header",
        ) from None


def user_metadata() -> tuple[tuple[str, str], ...]:
    """The gRPC metadata naming the user of the request being served; empty outside one or before current_user."""
    user = g.get("purchase_user") if has_request_context() else None
    return user.context.to_grpc_metadata() if user is not None else ()


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
    """The request body as a JSON object; BadRequest naming the example when it is anything else.

    Also refused: a chunked body over the size limit (413, as with Content-Length), nesting deeper than
    MAX_JSON_DEPTH, and strings that are not Unicode text (a lone UTF-16 surrogate such as "\\ud800").
    """
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and request.content_length is None and len(data) >= limit:
        # A chunked body is cut at the limit as it is read, so reaching the limit means it went on.
        raise RequestEntityTooLarge()
    try:
        body = json.loads(data)
    except RecursionError:
        raise _too_deep(example) from None
    except ValueError:
        raise BadRequest(f"the body is not valid JSON; send an object such as {example}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body is not a JSON object; send one such as {example}", code="invalid_json")
    check_json_values(body, example)
    return body


def check_json_values(body: Any, example: str) -> None:
    """BadRequest when the parsed body nests deeper than MAX_JSON_DEPTH or holds a string that is not text."""
    pending: list[tuple[Any, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise _too_deep(example)
        if isinstance(value, dict):
            pending.extend((key, depth) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and not is_text(value):
            raise BadRequest(
                f"a string in the body is not valid Unicode text (it holds a lone UTF-16 surrogate such as "
                f"\\ud800); send UTF-8 text such as {example}",
                code="invalid_string",
            )


def is_text(value: str) -> bool:
    """True when the string can be encoded as UTF-8 (JSON lets a lone surrogate through; protobuf and Redis do not)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _too_deep(example: str) -> BadRequest:
    return BadRequest(
        f"the body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep; send a flat object such as "
        f"{example}",
        code="too_deep",
    )


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
