"""The discount rules, as pure functions: a user gets the single largest discount that applies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from purchase_lab.money import format_money, money, percent_of
from services.pricing.catalogue import PricedLine, find_product
from services.pricing.errors import MissingPromoCode, UnknownPromotion

FIRST_ORDER_PERCENT = 10
LOYALTY_REASON = "Loyalty discount for returning customers"
# The share of each line a returning customer gets back, by product category (merchandising's rates).
LOYALTY_PERCENT_BY_CATEGORY = MappingProxyType({"Coffee": 5, "Tea": 5, "Brewing": 3})


@dataclass(frozen=True)
class Promotion:
    """A promo code: a percentage off, or a fixed amount off orders above a minimum."""

    code: str
    description: str
    percent_off: int = 0
    amount_off_cents: int = 0
    minimum_subtotal_cents: int = 0

    def discount_cents(self, subtotal_cents: int) -> int:
        """What this code takes off a subtotal: zero below the minimum, never more than the subtotal."""
        if subtotal_cents < self.minimum_subtotal_cents:
            return 0
        discount = percent_of(subtotal_cents, self.percent_off) + self.amount_off_cents
        return min(discount, subtotal_cents)

    @property
    def reason(self) -> str:
        """The receipt line, such as "15% off with code SPRING15"."""
        if self.percent_off:
            return f"{self.percent_off}% off with code {self.code}"
        return f"{format_money(money(self.amount_off_cents))} off with code {self.code}"


@dataclass(frozen=True)
class Adjustment:
    """A discount and why it applies; the reason is empty when the amount is zero."""

    amount_cents: int
    reason: str


NO_ADJUSTMENT = Adjustment(0, "")

PROMOTIONS = MappingProxyType(
    {
        promotion.code: promotion
        for promotion in (
            Promotion("SPRING15", "15% off your whole order this spring", percent_off=15),
            Promotion("TAKE5", "$5.00 off orders of $25.00 or more", amount_off_cents=500, minimum_subtotal_cents=2500),
            Promotion(
                "BIGBREW", "$12.00 off orders of $100.00 or more", amount_off_cents=1200, minimum_subtotal_cents=10000
            ),
        )
    }
)


def normalise_code(code: str) -> str:
    """Promo codes are typed by people: ignore case and surrounding spaces."""
    return code.strip().upper()


def find_promotion(code: str) -> Promotion:
    """Return the promotion for a code; raise UnknownPromotion when it does not exist."""
    normalised = normalise_code(code)
    if not normalised:
        raise MissingPromoCode()
    try:
        return PROMOTIONS[normalised]
    except KeyError:
        raise UnknownPromotion(code) from None


def first_order_adjustment(subtotal_cents: int) -> Adjustment:
    """10% off a user's first order."""
    return Adjustment(percent_of(subtotal_cents, FIRST_ORDER_PERCENT), f"{FIRST_ORDER_PERCENT}% off your first order")


def promotion_adjustment(code: str, subtotal_cents: int) -> Adjustment:
    """The discount a promo code gives; nothing for an unknown or empty code.

    Codes are validated with GetPromotion when a user enters them; one that has since vanished
    must not block the checkout, so here it simply gives no discount.
    """
    promotion = PROMOTIONS.get(normalise_code(code))
    if promotion is None:
        return NO_ADJUSTMENT
    return Adjustment(promotion.discount_cents(subtotal_cents), promotion.reason)


def loyalty_adjustment(lines: Iterable[PricedLine]) -> Adjustment:
    """A returning customer's loyalty discount: each line's category rate, rounded per line, summed."""
    amount = sum(
        percent_of(line.line_total_cents, LOYALTY_PERCENT_BY_CATEGORY[find_product(line.sku).category])
        for line in lines
    )
    return Adjustment(amount, LOYALTY_REASON)


def best_adjustment(
    subtotal_cents: int, first_order: bool, promo_code: str, offers: Sequence[Adjustment] = ()
) -> Adjustment:
    """The single largest discount that applies, never more than the subtotal; ties go to the first order.

    offers are further candidates the caller computed, such as a returning customer's loyalty discount.
    """
    candidates = [promotion_adjustment(promo_code, subtotal_cents), *offers]
    if first_order:
        candidates.insert(0, first_order_adjustment(subtotal_cents))
    best = max(candidates, key=lambda adjustment: adjustment.amount_cents)
    amount = min(best.amount_cents, subtotal_cents)
    return Adjustment(amount, best.reason) if amount > 0 else NO_ADJUSTMENT
