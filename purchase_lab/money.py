"""Money as integer minor units: build, add and show amounts without floats."""

from __future__ import annotations

from purchase.common.v1.money_pb2 import Money

CURRENCY = "USD"


def money(minor_units: int, currency: str = CURRENCY) -> Money:
    """Return a Money message for an amount in minor units (1999 = $19.99)."""
    return Money(currency=currency, minor_units=minor_units)


def percent_of(amount: int, percent: int) -> int:
    """Return percent% of an amount in minor units, rounded half up to a whole cent."""
    return (amount * percent + 50) // 100


def format_money(value: Money) -> str:
    """Return a human form such as "$19.99" (or "19.99 EUR" for other currencies)."""
    sign = "-" if value.minor_units < 0 else ""
    whole, cents = divmod(abs(value.minor_units), 100)
    if value.currency in ("", CURRENCY):
        return f"{sign}${whole}.{cents:02d}"
    return f"{sign}{whole}.{cents:02d} {value.currency}"
