"""Fault rules: what to break, where, for whom and until when, checked with messages a person can act on."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import grpc
from purchase.cart.v1 import cart_pb2
from purchase.email.v1 import email_pb2
from purchase.pricing.v1 import pricing_pb2

SERVICES = ("cart", "pricing", "email", "gateway")
# The gRPC services; a client-side rule names one of them as the gateway's downstream.
DOWNSTREAMS = ("cart", "pricing", "email")
SIDES = ("server", "client")
UNREACHABLE = "unreachable"
GRPC_ERRORS = tuple(code.name for code in grpc.StatusCode if code is not grpc.StatusCode.OK)
DEFAULT_TTL_S = 300
MAX_TTL_S = 3600
MAX_LATENCY_MS = 60_000
MAX_TEXT = 200
# The highest call of one method within one request a rule may pick (see occurrence.py).
MAX_OCCURRENCE = 99

# The methods a rule may name, read from the contracts so a typo is caught when the rule is added.
METHODS: Mapping[str, tuple[str, ...]] = {
    name: tuple(module.DESCRIPTOR.services_by_name[service].methods_by_name)
    for name, module, service in (
        ("cart", cart_pb2, "CartService"),
        ("pricing", pricing_pb2, "PricingService"),
        ("email", email_pb2, "EmailService"),
    )
}

INPUT_FIELDS = (
    "service",
    "side",
    "method",
    "replica",
    "error",
    "latency_ms",
    "jitter_ms",
    "rate",
    "user",
    "sku",
    "promo",
    "occurrence",
    "ttl_s",
    "description",
)


class RuleError(ValueError):
    """A fault rule was rejected; `problems` names every bad field and what to do about it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(problems))


def normalise_code(value: str) -> str:
    """SKUs and promo codes are typed by people: ignore case and surrounding spaces."""
    return value.strip().upper()


@dataclass(frozen=True)
class CallFacts:
    """What a rule can match a call on: the user, and the SKUs and promo codes in the request."""

    user: str | None = None
    skus: frozenset[str] = frozenset()
    promos: frozenset[str] = frozenset()
    occurrence: int | None = None


@dataclass(frozen=True)
class Rule:
    """One active fault: where it applies, what it does, to what share of calls, until when."""

    id: str
    service: str
    side: str = "server"
    method: str | None = None
    replica: int | None = None
    error: str | int | None = None
    latency_ms: int = 0
    jitter_ms: int = 0
    rate: float = 1.0
    user: str | None = None
    sku: str | None = None
    promo: str | None = None
    # Only the Nth call of the method within one request (the gateway numbers them); None: every call.
    occurrence: int | None = None
    description: str = ""
    created_at: float = 0.0
    expires_at: float = 0.0

    @property
    def needs_facts(self) -> bool:
        """True when the rule only hits calls for a certain user, SKU, promo code or occurrence."""
        return bool(self.user or self.sku or self.promo or self.occurrence)

    @property
    def details(self) -> str:
        """The message a caller sees when this rule fails its call."""
        return f"injected fault {self.id}: {self.description or 'a fault injected by the lab'}"

    def active(self, now: float) -> bool:
        """True until the rule expires."""
        return now < self.expires_at

    def applies_to(self, service: str, side: str, replica: int | None) -> bool:
        """True when the rule is for this service, seen from this side, on this replica."""
        return (self.service, self.side) == (service, side) and self.replica in (None, replica)

    def covers(self, method: str) -> bool:
        """True when the rule hits this gRPC method name, or this HTTP path (by path prefix) at the gateway."""
        if self.method is None:
            return True
        if self.method.startswith("/"):
            prefix = self.method.rstrip("/")
            return method == prefix or method.startswith(prefix + "/")
        return self.method == method

    def matches(self, facts: CallFacts) -> bool:
        """True when the call is for the rule's user, SKU, promo code and occurrence (each only when set)."""
        return (
            (self.user is None or self.user == facts.user)
            and (self.sku is None or self.sku in facts.skus)
            and (self.promo is None or self.promo in facts.promos)
            and (self.occurrence is None or self.occurrence == facts.occurrence)
        )

    def to_dict(self) -> dict[str, object]:
        """The rule as stored in faults.json, leaving out fields that are not set."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def new_rule(given: Mapping[str, object], now: float | None = None) -> Rule:
    """Check a rule as a person gave it (CLI flags, admin API JSON) and stamp it with an id and expiry."""
    problems = _unknown(given, INPUT_FIELDS)
    now = time.time() if now is None else now
    ttl = _number(given.get("ttl_s", DEFAULT_TTL_S), "ttl_s", 1, MAX_TTL_S, problems, integer=False)
    stamp = {"id": f"f-{secrets.token_hex(3)}", "created_at": now, "expires_at": now + (ttl or 0)}
    return _build(given, stamp, problems)


def rule_from_dict(data: Mapping[str, object]) -> Rule:
    """Rebuild a stored rule (one entry of faults.json), checking it the same way as a new one."""
    problems = _unknown(data, tuple(field.name for field in fields(Rule)))
    rule_id = data.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        problems.append(f"id={rule_id!r}: every stored rule needs a non-empty string id")
    stamp = {
        "id": rule_id,
        "created_at": _number(data.get("created_at"), "created_at", 0, None, problems, integer=False),
        "expires_at": _number(data.get("expires_at"), "expires_at", 0, None, problems, integer=False),
    }
    return _build(data, stamp, problems)


def _build(given: Mapping[str, object], stamp: dict[str, object], problems: list[str]) -> Rule:
    service = _choice(given.get("service"), "service", SERVICES, problems)
    side = _choice(given.get("side", "server"), "side", SIDES, problems)
    if service == "gateway" and side == "client":
        problems.append("side=client needs a downstream of the gateway: use service cart, pricing or email")
    replica = _number(given.get("replica"), "replica", 1, 99, problems)
    if given.get("occurrence") is not None and service == "gateway":
        problems.append("occurrence numbers the gateway's calls to cart, pricing or email; give one of those services")
    if replica is not None and side == "client":
        problems.append("replica is for server-side rules: the gateway cannot tell which replica a call will reach")
    latency = _number(given.get("latency_ms", 0), "latency_ms", 0, MAX_LATENCY_MS, problems) or 0
    jitter = _number(given.get("jitter_ms", 0), "jitter_ms", 0, MAX_LATENCY_MS, problems) or 0
    error = _error(given.get("error"), service, side, problems)
    asked = (given.get("error"), given.get("latency_ms"), given.get("jitter_ms"))
    if all(value in (None, 0, "0") for value in asked):
        problems.append("the rule does nothing: give an error, a latency_ms, or both")
    rate = _number(given.get("rate", 1.0), "rate", 0, 1, problems, integer=False)
    if rate == 0:
        problems.append("rate=0 never fires: give a fraction of calls above 0 and at most 1, such as 0.3")
    values = {
        "service": service,
        "side": side,
        "method": _method(given.get("method"), service, problems),
        "replica": replica,
        "error": error,
        "latency_ms": latency,
        "jitter_ms": jitter,
        "rate": float(rate or 1.0),
        "user": _text(given.get("user"), "user", problems),
        "sku": _code(given.get("sku"), "sku", problems),
        "promo": _code(given.get("promo"), "promo", problems),
        "occurrence": _number(given.get("occurrence"), "occurrence", 1, MAX_OCCURRENCE, problems),
        "description": _text(given.get("description") or None, "description", problems) or "",
    }
    if problems:
        raise RuleError(problems)
    return Rule(**stamp, **values)


def _unknown(given: Mapping[str, object], allowed: tuple[str, ...]) -> list[str]:
    return [f"unknown field {key!r}; the fields are: {', '.join(allowed)}" for key in given if key not in allowed]


def _choice(value: object, name: str, options: tuple[str, ...], problems: list[str]) -> str | None:
    text = value.strip().lower() if isinstance(value, str) else value
    if text in options:
        return text
    problems.append(f"{name}={value!r} is not known; use one of: {', '.join(options)}")
    return None


def _number(
    value: object, name: str, low: float, high: float | None, problems: list[str], *, integer: bool = True
) -> int | float | None:
    """Read a number from JSON or a command line; None (with a problem noted) when it is not one in range."""
    if value is None:
        return None
    kind = "a whole number" if integer else "a number"
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        number = float(value)
        if integer and not number.is_integer():
            raise ValueError
    except ValueError:
        problems.append(f"{name}={value!r} is not {kind}")
        return None
    if number < low or (high is not None and number > high) or number != number:
        limit = f"from {low} to {high}" if high is not None else f"of at least {low}"
        problems.append(f"{name}={value!r} is out of range; give {kind} {limit}")
        return None
    return int(number) if integer else number


def _error(value: object, service: str | None, side: str | None, problems: list[str]) -> str | int | None:
    """A gRPC status name, 'unreachable' (client side) or an HTTP status (gateway), as the rule allows."""
    if value is None or service is None or side is None:
        return None
    text = str(value).strip()
    if service == "gateway":
        if text.isdigit() and 400 <= int(text) <= 599:
            return int(text)
        problems.append(f"error={value!r}: the gateway answers HTTP; give a status from 400 to 599, such as 503")
        return None
    if text.isdigit():
        problems.append(f"error={value!r}: HTTP codes are for the gateway; {service} speaks gRPC: {_grpc_hint(side)}")
        return None
    if text.lower() == UNREACHABLE:
        if side == "client":
            return UNREACHABLE
        problems.append(
            "error='unreachable' is client side only (the gateway fails the call before it leaves); "
            "use side=client, or UNAVAILABLE on the server side, or `purchase kill` for a real crash"
        )
        return None
    if text.upper() in GRPC_ERRORS:
        return text.upper()
    problems.append(f"error={value!r} is not a gRPC status; {_grpc_hint(side)}")
    return None


def _grpc_hint(side: str) -> str:
    extra = f" or {UNREACHABLE}" if side == "client" else ""
    return f"use one of: {', '.join(GRPC_ERRORS)}{extra}"


def _method(value: object, service: str | None, problems: list[str]) -> str | None:
    """A gRPC method name of the service, or an HTTP path prefix at the gateway."""
    if value is None or service is None:
        return None
    text = str(value).strip()
    if service == "gateway":
        if text.startswith("/"):
            return text
        problems.append(f"method={value!r}: at the gateway give an HTTP path prefix such as /api/v1/checkout")
        return None
    known = {name.lower(): name for name in METHODS[service]}
    if text.lower() in known:
        return known[text.lower()]
    problems.append(f"method={value!r} is not a {service} method; use one of: {', '.join(METHODS[service])}")
    return None


def _text(value: object, name: str, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        problems.append(f"{name}={value!r}: give a non-empty text of at most {MAX_TEXT} characters")
        return None
    if not value.isprintable():
        # A lone surrogate (not printable either) or a control character never matches a real call, and
        # printing one would crash a terminal's encoder.
        problems.append(f"{name}={value!r}: give printable Unicode text (no control characters or lone surrogates)")
        return None
    return value.strip()


def _code(value: object, name: str, problems: list[str]) -> str | None:
    text = _text(value, name, problems)
    return None if text is None else normalise_code(text)
