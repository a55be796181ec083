"""What the ops console records about each checkout: who, what came of it, what degraded, which variants.

`records_checkout` wraps the checkout view (one decorator in checkout_api.py). After each checkout,
answered or failed, it adds a CheckoutRecord to the ops log: the record itself for the console's list,
and its counts for the charts (requests, errors, dependencies, fallbacks, and the funnel per flag variant).
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import Response, make_response
from werkzeug.exceptions import HTTPException

from purchase_lab.flags import CHECKOUT_FALLBACKS
from services.gateway import features, inputs
from services.gateway.errors import HTTP_STATUS, DependencyError, ShopError, as_shop_error
from services.gateway.ops_log import ops_log
from services.gateway.resources import gateway

log = logging.getLogger(__name__)

# The order a checkout calls its dependencies in: a failure at one means the ones before it answered.
CALL_ORDER = ("cart", "pricing", "email")


@dataclass(frozen=True)
class CheckoutRecord:
    """One checkout as the console lists it: who, what came of it, what degraded, which flag variants."""

    at: float
    user_id: str | None
    employee: bool
    status: int
    outcome: str  # placed, replayed, rejected (4xx: the client's problem) or failed (5xx)
    duration_ms: float
    flags: dict[str, bool] = field(default_factory=dict)
    order_id: str | None = None
    total_cents: int | None = None
    currency: str | None = None
    email: str | None = None
    degraded: list[dict[str, str]] = field(default_factory=list)
    error: dict[str, Any] | None = None

    @property
    def failed_dependency(self) -> str | None:
        """The dependency named by a 5xx, if any."""
        return (self.error or {}).get("dependency") if self.outcome == "failed" else None

    def counters(self) -> Counter[str]:
        """What this checkout adds to its second's counters."""
        counts = Counter({"checkout:requests": 1})
        counts["checkout:errors"] += self.outcome == "failed"
        counts["checkout:rejected"] += self.outcome == "rejected"
        counts["checkout:degraded"] += bool(self.degraded)
        counts.update(self._dependency_counters())
        for key, on in self.flags.items():
            variant = f"flag:{key}:{'on' if on else 'off'}"
            counts[f"flag:{key}:eligible"] += 1
            counts[f"{variant}:exposed"] += 1
            counts[f"{variant}:succeeded"] += self.outcome in ("placed", "replayed")
            counts[f"{variant}:failed"] += self.outcome == "failed"
        return +counts  # drop the zeros

    def _dependency_counters(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        if self.outcome in ("placed", "replayed"):
            failed = {degradation["dependency"] for degradation in self.degraded}
            reached = [name for name in CALL_ORDER if not (name == "pricing" and self.outcome == "replayed")]
        elif self.failed_dependency in CALL_ORDER:
            failed = {self.failed_dependency}
            reached = list(CALL_ORDER[: CALL_ORDER.index(self.failed_dependency) + 1])
        else:
            return counts
        for name in reached:
            counts[f"dep:{name}:checkouts"] += 1
            counts[f"dep:{name}:failed"] += name in failed
            counts[f"fallback:{name}"] += name in failed and self.outcome != "failed"
        return counts


def records_checkout(view: Callable[..., Any]) -> Callable[..., Response]:
    """Wrap the checkout view so that each checkout, answered or failed, is recorded for the console."""

    @functools.wraps(view)
    def recorded(*args: Any, **kwargs: Any) -> Response:
        started = time.monotonic()
        try:
            response = make_response(view(*args, **kwargs))
        except Exception as error:
            record(started, failure=error)
            raise
        record(started, response=response)
        return response

    return recorded


def record(started: float, response: Response | None = None, failure: Exception | None = None) -> None:
    """Record a checkout in the ops log; a checkout never fails because it could not be recorded."""
    try:
        entry = checkout_record(started, response, failure)
        breakers = worker_breakers()
    except Exception:  # the console's bookkeeping must never change what the customer gets
        log.exception("could not describe a checkout for the console; it is not recorded")
        return
    ops_log().record_checkout(asdict(entry), entry.counters(), breakers)


def worker_breakers() -> dict[str, str]:
    """This worker's circuit breaker state per dependency (closed, open, half_open), for those that have one."""
    downstreams = gateway().downstreams
    breakers = {name: getattr(downstreams, name).breaker for name in CALL_ORDER}
    return {name: breaker.snapshot().state.value for name, breaker in breakers.items() if breaker is not None}


def checkout_record(
    started: float, response: Response | None = None, failure: Exception | None = None
) -> CheckoutRecord:
    """The record of a checkout that answered with response, or raised failure."""
    user = _user()
    common = {
        "at": time.time(),
        "user_id": user.user_id if user else None,
        "employee": user.context.employee if user else False,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
        "flags": _variants(user) if user else {},
    }
    if response is None:
        status, error = failure_of(failure)
        return CheckoutRecord(status=status, outcome=outcome_of(status), error=error, **common)
    body = response.get_json(silent=True) or {}
    outcome = "replayed" if body.get("replayed") else outcome_of(response.status_code)
    return CheckoutRecord(
        status=response.status_code,
        outcome=outcome,
        order_id=body.get("order_id"),
        total_cents=body.get("total_cents"),
        currency=body.get("currency"),
        email=body.get("email"),
        degraded=list(body.get("degraded", [])),
        **common,
    )


def outcome_of(status: int) -> str:
    """placed (2xx), rejected (4xx: the request was wrong) or failed (5xx: the shop could not serve it)."""
    if status < 400:
        return "placed"
    return "rejected" if status < 500 else "failed"


def failure_of(error: Exception | None) -> tuple[int, dict[str, Any]]:
    """The HTTP status a checkout's exception is answered with, and its code, message and dependency."""
    if isinstance(error, DependencyError):
        error = as_shop_error(error)
    if isinstance(error, ShopError):
        status = next(HTTP_STATUS[kind] for kind in type(error).__mro__ if kind in HTTP_STATUS)
        return status, {"code": error.code, "message": error.message, "dependency": error.extra.get("dependency")}
    if isinstance(error, HTTPException):
        return error.code or 500, {"code": "http_error", "message": error.description, "dependency": None}
    return 500, {"code": "internal_error", "message": "the gateway failed unexpectedly", "dependency": None}


def _user() -> inputs.User | None:
    try:
        return inputs.current_user()
    except ShopError:
        return None


def _variants(user: inputs.User) -> dict[str, bool]:
    """Each flag's value for the user; checkout.fallbacks as the checkout's own policy decided it."""
    values = features.flags().evaluate_all(user.context, client_visible_only=False)
    return {**values, CHECKOUT_FALLBACKS: gateway().fallbacks(user)}
