"""Carts and orders as plain values, and the rules that check and change them.

Everything here is pure: no Redis, no gRPC, so every rule can be tested on its own. Amounts are
integer minor units of a currency (1999 is $19.99), never floats. Values are immutable: a change
returns a new cart or order, which the store then writes in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from enum import StrEnum

from purchase_lab.money import CURRENCY
from services.cart.errors import CartEmpty, InvalidAdjustment, InvalidInput, InvalidQuantity, ItemNotInCart
from services.cart.validation import check_currency, check_sku, check_text

MAX_QUANTITY = 99


@dataclass(frozen=True)
class Line:
    """One product in a cart or an order, at the name and price captured when it was added."""

    sku: str
    name: str
    quantity: int
    unit_price: int
    currency: str

    @classmethod
    def new(cls, sku: str, name: str, quantity: int, unit_price: int, currency: str) -> Line:
        """Build a line from a request's fields; raise InvalidInput naming the first bad one."""
        check_sku(sku)
        if not name:
            raise InvalidInput("name is empty; send the product's name as the catalogue shows it")
        check_text("name", name)
        if not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidQuantity(f"quantity must be from 1 to {MAX_QUANTITY}; got {quantity}")
        check_currency("unit_price", currency)
        if unit_price < 0:
            raise InvalidInput(f"unit_price is {unit_price} minor units; a price cannot be negative")
        return cls(sku, name, quantity, unit_price, currency)

    @property
    def total(self) -> int:
        """unit_price x quantity, in minor units."""
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Cart:
    """A user's cart: its lines in the order they were added, a promo code and a discount."""

    lines: tuple[Line, ...] = ()
    promo_code: str = ""
    adjustment: int = 0
    adjustment_reason: str = ""

    @property
    def currency(self) -> str:
        """The currency every line is priced in (the shop's default while the cart is empty)."""
        return self.lines[0].currency if self.lines else CURRENCY

    @property
    def subtotal(self) -> int:
        """The sum of the line totals."""
        return sum(line.total for line in self.lines)

    @property
    def total(self) -> int:
        """The subtotal less the adjustment, never below zero."""
        return max(0, self.subtotal - self.adjustment)

    def quantity_of(self, sku: str) -> int:
        """How many of sku the cart holds (0 when none)."""
        return next((line.quantity for line in self.lines if line.sku == sku), 0)

    def add(self, line: Line) -> Cart:
        """Add a line, merged with any line of the same SKU at the new name and price."""
        if self.lines and line.currency != self.currency:
            raise InvalidInput(
                f"unit_price is in {line.currency} but the cart is in {self.currency}; price it in {self.currency}"
            )
        held = self.quantity_of(line.sku)
        if held + line.quantity > MAX_QUANTITY:
            raise InvalidQuantity(
                f"the cart already holds {held} of {line.sku!r} and a line may hold at most {MAX_QUANTITY}; "
                f"add at most {MAX_QUANTITY - held} more"
            )
        lines = _by_sku(self.lines)
        lines[line.sku] = replace(line, quantity=held + line.quantity)
        return self._with_lines(tuple(lines.values()))

    def remove(self, sku: str) -> Cart:
        """Remove the line of sku; raise ItemNotInCart when there is none."""
        if not self.quantity_of(sku):
            raise ItemNotInCart(sku)
        return self._with_lines(tuple(line for line in self.lines if line.sku != sku))

    def restore(self, lines: tuple[Line, ...]) -> Cart:
        """Put an order's lines back, merged with the cart's, each line capped at 99."""
        restored = _by_sku(self.lines)
        for line in lines:
            kept = restored.get(line.sku)
            quantity = line.quantity + (kept.quantity if kept else 0)
            restored[line.sku] = replace(kept or line, quantity=min(MAX_QUANTITY, quantity))
        return self._with_lines(tuple(restored.values()))

    def with_promo_code(self, code: str) -> Cart:
        """Record a promo code; an empty code removes it."""
        return replace(self, promo_code=code)

    def with_adjustment(self, amount: int, currency: str, reason: str) -> Cart:
        """Apply a discount of 0 up to the subtotal, in the cart's currency, replacing any earlier one."""
        if currency != self.currency:
            raise InvalidAdjustment(
                f"the adjustment is in {currency or 'no currency'} but the cart is in {self.currency}; "
                f"send it in {self.currency}"
            )
        if not 0 <= amount <= self.subtotal:
            raise InvalidAdjustment(
                f"an adjustment of {amount} minor units is outside 0 to the subtotal ({self.subtotal}); "
                "get the cart again and price its current subtotal"
            )
        return replace(self, adjustment=amount, adjustment_reason=reason)

    def _with_lines(self, lines: tuple[Line, ...]) -> Cart:
        # A discount was priced for the old lines, so any change to them drops it.
        return replace(self, lines=lines, adjustment=0, adjustment_reason="")

    def to_json(self) -> str:
        """The cart as a JSON document, the form it is stored in."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, document: str | None) -> Cart:
        """Read a cart stored by to_json; None (nothing stored) is an empty cart."""
        if document is None:
            return cls()
        fields = json.loads(document)
        return cls(**{**fields, "lines": _lines_from(fields["lines"])})


@dataclass(frozen=True)
class CartView:
    """A cart as callers see it: the cart, plus what the user's orders say about discounts.

    previous_orders counts the user's orders that still stand (placed, not cancelled), so pricing
    can tell a returning customer; first_order is the same fact as a yes or no.
    """

    user_id: str
    cart: Cart
    first_order: bool
    previous_orders: int = 0

    @property
    def discount_eligible(self) -> bool:
        """Pricing may grant a discount: on a first order, or when the cart has a promo code."""
        return self.first_order or bool(self.cart.promo_code)


class OrderStatus(StrEnum):
    """Where an order is in its life."""

    PLACED = "PLACED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class Order:
    """A placed (or cancelled) order: a frozen copy of the cart at checkout."""

    order_id: str
    user_id: str
    lines: tuple[Line, ...]
    currency: str
    subtotal: int
    adjustment: int
    adjustment_reason: str
    total: int
    promo_code: str
    idempotency_key: str
    created_at: datetime
    status: OrderStatus = OrderStatus.PLACED
    cancel_reason: str = ""

    @classmethod
    def from_cart(cls, cart: Cart, *, order_id: str, user_id: str, idempotency_key: str, created_at: datetime) -> Order:
        """Freeze a cart into a placed order; raise CartEmpty when it has no lines."""
        if not cart.lines:
            raise CartEmpty()
        return cls(
            order_id=order_id,
            user_id=user_id,
            lines=cart.lines,
            currency=cart.currency,
            subtotal=cart.subtotal,
            adjustment=cart.adjustment,
            adjustment_reason=cart.adjustment_reason,
            total=cart.total,
            promo_code=cart.promo_code,
            idempotency_key=idempotency_key,
            created_at=created_at,
        )

    def cancel(self, reason: str) -> Order:
        """The order marked cancelled for reason."""
        return replace(self, status=OrderStatus.CANCELLED, cancel_reason=reason)

    def to_json(self) -> str:
        """The order as a JSON document, the form it is stored in."""
        return json.dumps({**asdict(self), "created_at": self.created_at.isoformat()})

    @classmethod
    def from_json(cls, document: str) -> Order:
        """Read an order stored by to_json."""
        fields = json.loads(document)
        return cls(
            **{
                **fields,
                "lines": _lines_from(fields["lines"]),
                "created_at": datetime.fromisoformat(fields["created_at"]),
                "status": OrderStatus(fields["status"]),
            }
        )


def _by_sku(lines: tuple[Line, ...]) -> dict[str, Line]:
    """The lines keyed by SKU; a dict keeps their order, and a replaced line keeps its place."""
    return {line.sku: line for line in lines}


def _lines_from(documents: list[dict[str, object]]) -> tuple[Line, ...]:
    return tuple(Line(**document) for document in documents)
