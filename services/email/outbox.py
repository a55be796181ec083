"""The outbox: emails recorded durably in a Redis stream, once per (kind, order), listed newest first."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields

import redis

from services.email.errors import InvalidEmailRequest, OutboxUnavailable
from services.email.messages import Email, EmailKind

STREAM_KEY = "purchase:email:outbox"
SENT_KEY_PREFIX = "purchase:email:sent"
# Approximate cap on the stream: Redis trims whole nodes, so it may briefly hold a few more.
DEFAULT_MAX_LENGTH = 10_000
# How long a (kind, order) stays known after its email was recorded; retries come within minutes.
SENT_TTL_SECONDS = 7 * 24 * 3600
DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000
# Entries read per round trip when a user filter means most entries are skipped.
_FILTER_PAGE = 500

# One script, so that check-then-add is atomic: two concurrent sends of the same email cannot
# both see "not sent yet". The sent-record keeps a copy of the message, so a repeat is answered
# with the first message even after the stream has trimmed it away.
# KEYS: stream, sent-record. ARGV: max length, ttl seconds, then field/value pairs.
_RECORD_ONCE = """
local first = redis.call('HGETALL', KEYS[2])
if #first > 0 then
  return {0, first}
end
local content = {}
for i = 3, #ARGV do content[#content + 1] = ARGV[i] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(content))
redis.call('HSET', KEYS[2], 'message_id', id, unpack(content))
redis.call('EXPIRE', KEYS[2], ARGV[2])
return {1, id}
"""

_FIELDS = tuple(field.name for field in fields(Email))


@dataclass(frozen=True)
class OutboxEntry:
    """A recorded email: its stream entry id and its content."""

    message_id: str
    email: Email

    @property
    def created_at_ms(self) -> int:
        """When it was recorded, in Unix milliseconds (the first part of the stream id)."""
        return int(self.message_id.split("-", 1)[0])


def redis_client(url: str) -> redis.Redis:
    """A client for the outbox: text replies, and timeouts so a dead Redis fails fast instead of hanging."""
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=0.5, socket_timeout=1.0)


@contextlib.contextmanager
def _redis_reachable() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as error:
        raise OutboxUnavailable() from error


def _flatten(email: Email) -> list[str]:
    values = {name: getattr(email, name) for name in _FIELDS}
    values["kind"] = email.kind.value
    return [item for pair in values.items() for item in pair]


def _entry(message_id: str, values: dict[str, str]) -> OutboxEntry:
    content = {name: values.get(name, "") for name in _FIELDS}
    return OutboxEntry(message_id, Email(**{**content, "kind": EmailKind(content["kind"])}))


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def resolve_limit(limit: int) -> int:
    """The number of emails to list: 0 means the default; outside 0..1000 is the caller's mistake."""
    if limit == 0:
        return DEFAULT_LIST_LIMIT
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidEmailRequest(f"limit {limit} is out of range; ask for 1 to {MAX_LIST_LIMIT} (0 means 100)")
    return limit


class Outbox:
    """Emails recorded in a Redis stream; needs a client with decode_responses=True (see redis_client)."""

    def __init__(self, client: redis.Redis, max_length: int = DEFAULT_MAX_LENGTH, stream_key: str = STREAM_KEY):
        self._redis = client
        self._stream = stream_key
        self._max_length = max_length
        self._record_once = client.register_script(_RECORD_ONCE)

    def record(self, email: Email) -> tuple[OutboxEntry, bool]:
        """Record the email unless this kind was already recorded for this order.

        Returns the entry and whether it is a duplicate: on a repeat, the first message, unchanged.
        """
        sent_key = f"{SENT_KEY_PREFIX}:{email.kind.value}:{email.order_id}"
        with _redis_reachable():
            added, result = self._record_once(
                keys=[self._stream, sent_key], args=[self._max_length, SENT_TTL_SECONDS, *_flatten(email)]
            )
        if added:
            return OutboxEntry(result, email), False
        first = _pairs(result)
        return _entry(first.pop("message_id"), first), True

    def list(self, limit: int = 0, user_id: str = "") -> list[OutboxEntry]:
        """The newest emails first, at most limit of them (0 = 100), only user_id's when it is set."""
        wanted = resolve_limit(limit)
        page = _FILTER_PAGE if user_id else wanted
        found: list[OutboxEntry] = []
        newest = "+"
        with _redis_reachable():
            while len(found) < wanted:
                batch = self._redis.xrevrange(self._stream, max=newest, min="-", count=page)
                entries = (_entry(message_id, values) for message_id, values in batch)
                found.extend(entry for entry in entries if not user_id or entry.email.user_id == user_id)
                if len(batch) < page:
                    break
                newest = f"({batch[-1][0]}"
        return found[:wanted]
