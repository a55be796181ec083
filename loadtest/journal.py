"""The run's journal: one record per request a shopper made, holding what the shop told that shopper.

The report is computed from it, and the invariant check compares it with what the shop stored.
It is written as JSON lines, so a student can also read it with `jq`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

CHECKOUT = "/api/v1/checkout"
# The answers that carry the whole cart.
CART_ENDPOINTS = ("/api/v1/cart", "/api/v1/cart/items", "/api/v1/cart/items/[sku]", "/api/v1/cart/promo")
# Fields every record writes; the others only when set.
ALWAYS = ("t", "user", "cohort", "method", "endpoint", "status", "ms")
UNSET = ("", 0, [], False, None)


@dataclass
class Record:
    """One request and what its answer said."""

    t: float  # when the request started, in seconds since the run started
    user: str
    cohort: str
    method: str
    endpoint: str
    status: int  # 0 when no answer came: a timeout or a refused connection
    ms: float
    error: str = ""  # the error code of the body, or the exception's name when no answer came
    dependency: str = ""  # on a 503: the dependency that failed
    key: str = ""  # checkout only: the Idempotency-Key and which attempt with it this was
    attempt: int = 0
    order_id: str = ""  # a placed, replayed or cancelled order
    order_status: str = ""
    adjustment_cents: int = 0
    email: str = ""  # "sent", "queued" or "not_sent"
    degraded: list[str] = field(default_factory=list)  # "email:queued", "pricing:no_adjustment", ...
    replayed: bool = False
    cart: dict[str, int] | None = None  # the lines (SKU: quantity) of a cart the answer showed

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300

    @property
    def is_checkout(self) -> bool:
        """True for a checkout attempt."""
        return self.endpoint == CHECKOUT

    @property
    def kind(self) -> str:
        """The kind of a failure, such as `503 dependency_unavailable (pricing)` or `0 ReadTimeout`."""
        text = f"{self.status} {self.error or 'error'}"
        return f"{text} ({self.dependency})" if self.dependency else text

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON, without the fields this request does not have."""
        return {name: value for name, value in asdict(self).items() if name in ALWAYS or value not in UNSET}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Record:
        """Read a record written by to_dict."""
        known = {item.name for item in fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in known})


def record_from_answer(
    *, t: float, method: str, name: str, status: int, ms: float, body: Any, context: Mapping[str, Any], failure: str
) -> Record:
    """Make the record of one answer: status, error code, and the order or cart the body holds."""
    record = Record(
        t=round(t, 3),
        user=str(context.get("user", "")),
        cohort=str(context.get("cohort", "")),
        method=method,
        endpoint=name,
        status=status,
        ms=round(ms, 1),
        key=str(context.get("key", "")),
        attempt=int(context.get("attempt", 0)),
    )
    body = body if isinstance(body, Mapping) else {}
    error = body.get("error") if isinstance(body.get("error"), Mapping) else None
    if status == 0:
        record.error = failure or "no_response"
    elif error is not None:
        record.error = str(error.get("code", ""))
        record.dependency = str(error.get("dependency", ""))
        record.order_id = str(error.get("order_id", ""))
        record.order_status = str(error.get("order_status", ""))
    elif name == CHECKOUT and record.ok:
        read_checkout(record, body)
    elif name in CART_ENDPOINTS and record.ok:
        record.cart = {line["sku"]: line["quantity"] for line in body.get("lines", [])}
    return record


def read_checkout(record: Record, body: Mapping[str, Any]) -> None:
    """Copy a successful checkout's order, emails and degradations into its record."""
    record.order_id = str(body.get("order_id", ""))
    record.order_status = str(body.get("status", ""))
    record.adjustment_cents = int(body.get("adjustment_cents", 0))
    record.email = str(body.get("email", ""))
    record.replayed = bool(body.get("replayed", False))
    record.degraded = [f"{item['dependency']}:{item['fallback']}" for item in body.get("degraded", [])]


class Journal:
    """Collects a record for every request a shopper makes; listens to locust's request event."""

    def __init__(self, started_at: float = 0.0) -> None:
        self.started_at = started_at  # the wall-clock time the load started: t = 0 in the records
        self.records: list[Record] = []

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response: Any,
        context: Mapping[str, Any],
        exception: BaseException | None,
        start_time: float | None = None,
        **_kwargs: Any,
    ) -> None:
        """locust's request event: keep the record of a shopper's request (other requests are not ours)."""
        if not context or "user" not in context:
            return
        status = int(getattr(response, "status_code", 0) or 0)
        try:
            body = response.json() if status else None
        except ValueError:
            body = None
        started = (start_time or 0.0) - self.started_at
        failure = type(exception).__name__ if exception is not None else ""
        self.records.append(
            record_from_answer(
                t=started,
                method=request_type,
                name=name,
                status=status,
                ms=response_time,
                body=body,
                context=context,
                failure=failure,
            )
        )

    def write(self, path: Path) -> None:
        """Write the records as JSON lines, oldest first."""
        write_records(path, sorted(self.records, key=lambda record: record.t))


def write_records(path: Path, records: Iterable[Record]) -> None:
    """Write records as JSON lines."""
    with path.open("w", encoding="utf-8") as file:
        for record in records:
            file.write(json.dumps(record.to_dict()) + "\n")


def read_records(path: Path) -> list[Record]:
    """Read a journal written by write_records; FileNotFoundError names a run that left none."""
    with path.open(encoding="utf-8") as file:
        return [Record.from_dict(json.loads(line)) for line in file if line.strip()]
