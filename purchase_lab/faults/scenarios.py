"""Named lab scenarios: the lecture's kinds of partial failure, each one command away, with what to look for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


class UnknownScenario(LookupError):
    """No scenario has the name that was given."""


@dataclass(frozen=True)
class Scenario:
    """A named set of fault rules, what it does, and what a student should see while it runs."""

    name: str
    title: str
    does: str
    student_sees: str
    rules: tuple[Mapping[str, object], ...]

    @property
    def description(self) -> str:
        """The description every rule of the scenario carries, so `fault list` shows where it came from."""
        return f"scenario {self.name}: {self.title}"


_ALL = (
    Scenario(
        name="email-down",
        title="email is down",
        does="Every email call fails with UNAVAILABLE.",
        student_sees=(
            "Email is a soft dependency. With checkout.fallbacks on, checkout still answers 201 with "
            'email "queued" and "email" in degraded, and the email is delivered once the scenario ends. '
            'After 5 failed sends in a gateway worker, the console shows the email node as "breaker open". '
            "With fallbacks off the order is placed, then cancelled, and the user gets an error: the "
            "lecture's bug, a soft dependency treated as a hard one."
        ),
        rules=({"service": "email", "error": "UNAVAILABLE"},),
    ),
    Scenario(
        name="pricing-slow",
        title="pricing is slow",
        does="Every pricing call takes 2 to 2.5 seconds, far past the gateway's 500 ms pricing deadline.",
        student_sees=(
            "Pricing calls end in DEADLINE_EXCEEDED after 500 ms, not 2 s: the deadline caps what a slow "
            "dependency costs. With fallbacks on, a user who is not eligible for a discount checks out about "
            "half a second slower with a $0 adjustment and pricing in degraded; an eligible user (first "
            "order or promo code) gets 503 'please try again'. After 5 slow checkouts the pricing circuit "
            "breaker opens: checkouts are fast again (pricing is skipped; degraded says BREAKER_OPEN), and every "
            "5 s one checkout tries pricing again. The product list and entering a promo code fail after 500 ms; "
            "adding to the cart answers after 500 ms from the last good catalogue, marked stale."
        ),
        rules=({"service": "pricing", "latency_ms": 2000, "jitter_ms": 500},),
    ),
    Scenario(
        name="bad-deploy",
        title="a bad deployment on pricing replica 1",
        does="Pricing replica 1 answers every call with INTERNAL; the other replicas are healthy.",
        student_sees=(
            "Run three replicas (`purchase up --replicas pricing=3`): the gateway balances across them "
            "round robin, so about one pricing call in three fails, and the error rate sits near 33% "
            "instead of 0% or 100%. INTERNAL is not retried (only UNAVAILABLE is), so the failures reach "
            "the checkout. With a single replica every pricing call fails."
        ),
        rules=({"service": "pricing", "replica": 1, "error": "INTERNAL"},),
    ),
    Scenario(
        name="cart-crash",
        title="cart is down",
        does="Every cart call fails with UNAVAILABLE, as if the cart node had failed.",
        student_sees=(
            "Cart is a hard dependency: the cart page and checkout answer 503 with retryable true, and no "
            "order is placed. The gateway's retries for safe calls do not help when every attempt fails. "
            "For a real crashed process, `purchase kill cart` (then `purchase start cart`) does the same "
            "with the connection refused, and the cart's health check fails too."
        ),
        rules=({"service": "cart", "error": "UNAVAILABLE"},),
    ),
    Scenario(
        name="pricing-flaky",
        title="pricing is flaky",
        does="30% of pricing calls fail with UNAVAILABLE, each call on its own roll of the dice.",
        student_sees=(
            "Far fewer than 30% of requests notice: the gateway retries pricing's read-only calls on "
            "UNAVAILABLE (up to 3 attempts), so a call only fails when every attempt does, about 0.3^3 = 3%. "
            "Pricing's own request count rises by about 40%: retries hide a flaky dependency and pay for it "
            "in load."
        ),
        rules=({"service": "pricing", "error": "UNAVAILABLE", "rate": 0.3},),
    ),
    Scenario(
        name="promo-bug",
        title="pricing fails for promo code SPRING15",
        does="Pricing answers INTERNAL, but only for requests that carry the promo code SPRING15.",
        student_sees=(
            "Failures only for certain arguments: everyone else shops normally and the overall error rate "
            "barely moves. Entering SPRING15 fails, and a user with SPRING15 on the cart is eligible for a "
            "discount, so checkout answers 503 'please try again' even with fallbacks on. The cause shows "
            "up only when errors are sliced by promo code."
        ),
        rules=({"service": "pricing", "promo": "SPRING15", "error": "INTERNAL"},),
    ),
)

SCENARIOS: Mapping[str, Scenario] = MappingProxyType({scenario.name: scenario for scenario in _ALL})


def find_scenario(name: str) -> Scenario:
    """Return the named scenario; UnknownScenario lists the ones there are."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownScenario(f"no scenario is called {name!r}; choose one of: {', '.join(SCENARIOS)}") from None
