"""Which call of a request this is: the second email call of one checkout is its own call site.

The gateway's Flask hook opens a count at the start of every request; the client interceptor
numbers each downstream call by (service, method) within it and sends the number along in gRPC
metadata, so a rule can pick one occurrence, on the client side or on the server side. A call made
outside a request (the email relay's deliveries) has no occurrence, and no occurrence rule hits it.
"""

from __future__ import annotations

from contextvars import ContextVar

# The metadata key the gateway's client interceptor stamps on a downstream call: "1", "2", ...
OCCURRENCE_METADATA_KEY = "x-purchase-call-occurrence"

_calls: ContextVar[dict[tuple[str, str], int] | None] = ContextVar("purchase_fault_occurrences", default=None)


def begin_request() -> None:
    """Start counting the downstream calls of a new request (threads serve many requests in turn)."""
    _calls.set({})


def end_request() -> None:
    """Stop counting: calls after the request (from the same thread) have no occurrence."""
    _calls.set(None)


def next_occurrence(service: str, method: str) -> int | None:
    """Number this call of service.method within the current request (1, 2, ...); None outside a request."""
    counts = _calls.get()
    if counts is None:
        return None
    number = counts.get((service, method), 0) + 1
    counts[(service, method)] = number
    return number
