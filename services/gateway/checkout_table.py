"""What each dependency failure does to a purchase: the one source of the table in docs/checkout.md and the console.

Each row is one call the purchase makes, in order, with what its failure does in each column of the
flag `checkout.fallbacks`. docs/checkout.md holds `markdown_table()` word for word (a test compares
them whole), and the console explains each edge of its topology from the same rows, in the column
the live flag serves (GET /api/v1/admin/overview).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SAME = "the same"


@dataclass(frozen=True)
class Row:
    """One call of a purchase and what its failure does with the fallbacks on and off."""

    step: str
    call: str
    dependency: str
    kind: str
    on: str
    off: str

    @property
    def off_or_on(self) -> str:
        """The fallbacks-off column in full words (never "the same")."""
        return self.on if self.off == SAME else self.off


ROWS = (
    Row(
        "0",
        "`pricing.GetProduct` (adding to the cart, before the checkout)",
        "pricing",
        "soft",
        "soft: the item is added at the last good catalogue's price, marked `stale`; the checkout asks pricing "
        "again at step 2",
        SAME,
    ),
    Row("1", "`cart.GetCart`", "cart", "hard", "hard: 503, no order", SAME),
    Row(
        "2",
        "`pricing.GetAdjustment`",
        "pricing",
        "soft",
        'soft: not eligible → $0 discount, order placed, `degraded`; eligible → 503 "please try again", no order',
        "hard: 503, no order",
    ),
    Row(
        "3",
        "`cart.UpdateCart` (only when there is a discount to apply)",
        "cart",
        "hard",
        "hard: 503, no order, the cart unchanged",
        SAME,
    ),
    Row("4", "`cart.PlaceOrder` (idempotent on the key)", "cart", "hard", "hard: 503, retry with the same key", SAME),
    Row(
        "5",
        "`email.SendOrderConfirmation`, `SendDiscountEmail`",
        "email",
        "soft",
        "soft, ignored: the order stands, the emails are queued and sent when email is back",
        "hard: the order is cancelled and the user gets an error (the lecture's bug)",
    ),
)


def markdown_table() -> str:
    """The table as docs/checkout.md prints it."""
    lines = ["| step | call | fallbacks ON | fallbacks OFF |", "|---|---|---|---|"]
    lines += [f"| {row.step} | {row.call} | {row.on} | {row.off} |" for row in ROWS]
    return "\n".join(lines)


def rows_payload() -> list[dict[str, Any]]:
    """The rows for the console, each column in full words, the Markdown code marks removed."""
    return [
        {
            "step": row.step,
            "call": row.call.replace("`", ""),
            "dependency": row.dependency,
            "kind": row.kind,
            "on": row.on.replace("`", ""),
            "off": row.off_or_on.replace("`", ""),
        }
        for row in ROWS
    ]
