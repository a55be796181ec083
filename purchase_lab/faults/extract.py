"""Find what a rule can match on (user, SKUs, promo codes) in a gRPC request or an HTTP request."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from purchase_lab.faults.occurrence import OCCURRENCE_METADATA_KEY
from purchase_lab.faults.rules import CallFacts, normalise_code

# The gateway passes the user to every downstream call in this metadata key.
USER_METADATA_KEY = "x-purchase-user-id"
USER_HEADER = "X-User-Id"
SKU_FIELDS = frozenset({"sku"})
PROMO_FIELDS = frozenset({"promo_code", "code"})
# Requests are shallow; the limit only guards against pathological nesting.
MAX_DEPTH = 4


def facts_from_message(
    message: Message, metadata: Iterable[tuple[str, str | bytes]] | None, occurrence: int | None = None
) -> CallFacts:
    """The user (metadata first, else the request's user_id), every sku / promo code in the request, and
    which call of its method within the gateway's request it is (given, else from the metadata).

    Fields are found by name anywhere in the message, so `sku`, `items[].sku` and `lines[].sku` all count.
    """
    skus: set[str] = set()
    promos: set[str] = set()
    _walk_message(message, skus, promos, 0)
    user = _metadata_value(metadata, USER_METADATA_KEY) or _top_level_user(message)
    if occurrence is None:
        stamped = _metadata_value(metadata, OCCURRENCE_METADATA_KEY)
        occurrence = int(stamped) if stamped and stamped.isdigit() else None
    return CallFacts(user=user, skus=frozenset(skus), promos=frozenset(promos), occurrence=occurrence)


def facts_from_http(headers: Mapping[str, str], body: object, path: str) -> CallFacts:
    """The user from X-User-Id, SKUs and promo codes from the JSON body, and a SKU from an /items/<sku> path."""
    skus: set[str] = set()
    promos: set[str] = set()
    _walk_json(body, skus, promos, 0)
    segments = [segment for segment in path.split("/") if segment]
    for before, segment in itertools.pairwise(segments):
        if before in {"items", "products"}:
            skus.add(normalise_code(segment))
    return CallFacts(user=headers.get(USER_HEADER) or None, skus=frozenset(skus), promos=frozenset(promos))


def _walk_message(message: Message, skus: set[str], promos: set[str], depth: int) -> None:
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth < MAX_DEPTH and not field.message_type.GetOptions().map_entry:
                for child in value if field.is_repeated else (value,):
                    _walk_message(child, skus, promos, depth + 1)
        elif field.type == FieldDescriptor.TYPE_STRING:
            _collect(field.name, value if field.is_repeated else (value,), skus, promos)


def _walk_json(value: object, skus: set[str], promos: set[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for key, child in value.items():
            if isinstance(child, str):
                _collect(key, (child,), skus, promos)
            else:
                _walk_json(child, skus, promos, depth + 1)
    elif isinstance(value, list):
        for child in value:
            _walk_json(child, skus, promos, depth + 1)


def _collect(name: str, values: Iterable[str], skus: set[str], promos: set[str]) -> None:
    target = skus if name in SKU_FIELDS else promos if name in PROMO_FIELDS else None
    if target is not None:
        target.update(normalise_code(value) for value in values if value)


def _metadata_value(metadata: Iterable[tuple[str, str | bytes]] | None, key: str) -> str | None:
    for name, value in metadata or ():
        if name == key:
            return value.decode() if isinstance(value, bytes) else value
    return None


def _top_level_user(message: Message) -> str | None:
    field = message.DESCRIPTOR.fields_by_name.get("user_id")
    if field is None or field.type != FieldDescriptor.TYPE_STRING or field.is_repeated:
        return None
    return message.user_id or None
