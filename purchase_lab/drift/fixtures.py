"""How the fakes' test data maps onto the real services' data, and which fields are test data.

The fakes invent a catalogue of three products and one promo code; the real pricing service has its
own. Replaying a scenario sends the real SKU and code in place of the fake's, and reads them back the
other way before comparing. Fields whose values come from the catalogue (names, descriptions, prices
and the sums built of them) are test data on both sides: like a contract test's type matcher, they
are compared by presence and type, not by value.
"""

from __future__ import annotations

import re

# Fake SKU -> real SKU; picked so the carts the tests fill stay above TAKE5's $25.00 minimum.
SKUS = {"MUG-001": "BRW-KTL-GNK", "TEE-002": "BRW-FLT-100", "BAG-003": "HOM-CDL-CDR"}
# Fake promo code -> real promo code: both take $5.00 off.
PROMOS = {"SAVE5": "TAKE5"}
# Lists that are the catalogue itself: their items are compared by shape, one item standing for all.
LISTING_KEYS = frozenset({"products"})
# Fields whose values are catalogue data (a key anywhere on the path matches).
FIXTURE_KEYS = frozenset(
    {"name", "description", "category", "price", "unit_price", "line_total", "subtotal", "total", "amount"}
)


def _swap(text: str, old: str, new: str) -> str:
    """Replace old by new ignoring case, keeping a lower-case spelling lower case (codes are typed by people)."""
    return re.sub(
        re.escape(old), lambda found: new.lower() if found.group().islower() else new, text, flags=re.IGNORECASE
    )


def to_real(text: str) -> str:
    """A string of a fake's scenario with the real catalogue's SKUs and codes."""
    for fake, real in (*SKUS.items(), *PROMOS.items()):
        text = _swap(text, fake, real)
    return text


def to_fake(text: str) -> str:
    """A string the real services answered, with the fakes' SKUs and codes."""
    for fake, real in (*SKUS.items(), *PROMOS.items()):
        text = _swap(text, real, fake)
    return text
