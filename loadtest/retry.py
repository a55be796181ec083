"""How a well-behaved client retries a checkout: same key, only when it may help, politely, a bounded number of times.

- Retry when there was no answer (a timeout, a refused connection) or a 503: the shop says a
  dependency is unavailable, and the Idempotency-Key makes a repeat safe.
- Never retry a 4xx (the request itself is wrong, so repeating it cannot help), and never a 503
  `order_cancelled`: that order is gone for good, and the message says to check out again with a
  new key, which is a new checkout and the shopper's decision.
- Wait as long as Retry-After says (capped), or back off exponentially with jitter when there is
  no header, and give up after MAX_ATTEMPTS.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

MAX_ATTEMPTS = 3
# The longest a shopper waits between two attempts, whatever Retry-After says.
MAX_WAIT_S = 3.0
BACKOFF_BASE_S = 0.25
NO_RESPONSE = 0


def error_of(body: object) -> Mapping[str, Any]:
    """The `error` object of an error body, or an empty mapping when the body has none."""
    error = body.get("error") if isinstance(body, Mapping) else None
    return error if isinstance(error, Mapping) else {}


def should_retry(status: int, body: object, attempt: int) -> bool:
    """True when attempt number `attempt` (1, 2, ...) failed in a way that repeating the same key may fix."""
    if attempt >= MAX_ATTEMPTS:
        return False
    if status == NO_RESPONSE:
        return True
    error = error_of(body)
    return status == 503 and error.get("code") != "order_cancelled" and error.get("retryable", True) is True


def retry_delay(retry_after: str | None, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before the next attempt: Retry-After when given, else exponential backoff with jitter."""
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), MAX_WAIT_S)
        except ValueError:
            pass  # an HTTP date or garbage: fall back to backing off
    rng = rng or random.Random()
    return min(BACKOFF_BASE_S * 2 ** (attempt - 1) * rng.uniform(0.5, 1.5), MAX_WAIT_S)
