"""The shop's catalogue: fifteen products, fixed in code, priced in US cents, and cart pricing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType

from services.pricing.errors import InvalidLineItem, UnknownProduct

# The most of one product a single line may hold: more is a typo, not an order.
MAX_QUANTITY = 99


@dataclass(frozen=True)
class CatalogueProduct:
    """One product the shop sells, priced in minor units of USD."""

    sku: str
    name: str
    description: str
    category: str
    price_cents: int


@dataclass(frozen=True)
class PricedLine:
    """A quantity of one product at today's unit price."""

    sku: str
    quantity: int
    unit_price_cents: int

    @property
    def line_total_cents(self) -> int:
        """The unit price times the quantity."""
        return self.unit_price_cents * self.quantity


PRODUCTS: tuple[CatalogueProduct, ...] = (
    CatalogueProduct(
        "COF-ETH-250",
        "Ethiopia Yirgacheffe, 250 g",
        "Washed single-origin beans with notes of jasmine, bergamot and lemon; light roast.",
        "Coffee",
        1650,
    ),
    CatalogueProduct(
        "COF-COL-500",
        "Colombia Huila, 500 g",
        "A balanced medium roast with caramel sweetness and a red-apple finish.",
        "Coffee",
        2400,
    ),
    CatalogueProduct(
        "COF-ESP-1000",
        "House Espresso Blend, 1 kg",
        "Brazil and Guatemala roasted for espresso: dark chocolate, hazelnut, thick crema.",
        "Coffee",
        3800,
    ),
    CatalogueProduct(
        "COF-DEC-250",
        "Swiss Water Decaf, 250 g",
        "Chemical-free decaffeinated Peru beans that still taste of cocoa and toffee.",
        "Coffee",
        1450,
    ),
    CatalogueProduct(
        "TEA-SEN-100",
        "Japanese Sencha, 100 g",
        "Steamed green tea from Shizuoka, grassy and bright; brew at 75 °C.",
        "Tea",
        1200,
    ),
    CatalogueProduct(
        "TEA-ASM-250",
        "Assam Breakfast Tea, 250 g",
        "Malty loose-leaf black tea that stands up to milk.",
        "Tea",
        1100,
    ),
    CatalogueProduct(
        "BRW-V60-02",
        "Ceramic Pour-Over Dripper",
        "A size-02 cone dripper for one to four cups, glazed white porcelain.",
        "Brewing",
        2500,
    ),
    CatalogueProduct(
        "BRW-FRP-1L",
        "French Press, 1 L",
        "Borosilicate glass and stainless steel; eight cups with a fine double mesh.",
        "Brewing",
        3400,
    ),
    CatalogueProduct(
        "BRW-GRD-HND",
        "Hand Burr Grinder",
        "Conical steel burrs with 40 click settings, from espresso to cold brew.",
        "Brewing",
        6900,
    ),
    CatalogueProduct(
        "BRW-KTL-GNK",
        "Gooseneck Kettle, 0.9 L",
        "A stovetop kettle with a slow, precise spout and a built-in thermometer.",
        "Brewing",
        5900,
    ),
    CatalogueProduct(
        "BRW-FLT-100",
        "Paper Filters, 100 pack",
        "Unbleached size-02 cone filters that rinse clean and add no papery taste.",
        "Brewing",
        650,
    ),
    CatalogueProduct(
        "HOM-MUG-350",
        "Stoneware Mug, 350 ml",
        "Hand-thrown mug in a speckled oat glaze; dishwasher safe.",
        "Home",
        1800,
    ),
    CatalogueProduct(
        "HOM-CDL-CDR",
        "Soy Candle, Cedar & Smoke",
        "A 45-hour candle poured in a reusable amber jar.",
        "Home",
        2200,
    ),
    CatalogueProduct(
        "HOM-TWL-LIN",
        "Linen Tea Towels, set of 2",
        "Stonewashed European linen that dries glasses without lint.",
        "Home",
        1900,
    ),
    CatalogueProduct(
        "HOM-CST-OAK",
        "Oak Coasters, set of 4",
        "Solid oak rounds finished with food-safe oil.",
        "Home",
        1500,
    ),
)

_BY_SKU = MappingProxyType({product.sku: product for product in PRODUCTS})


def find_product(sku: str) -> CatalogueProduct:
    """Return the product with this SKU; raise UnknownProduct when there is none."""
    if not sku:
        raise InvalidLineItem("the SKU is empty; send a SKU from the catalogue, such as 'COF-ETH-250'")
    try:
        return _BY_SKU[sku]
    except KeyError:
        raise UnknownProduct(sku) from None


def price_line(sku: str, quantity: int) -> PricedLine:
    """Price one line item; raise InvalidLineItem or UnknownProduct when it cannot be sold."""
    product = find_product(sku)
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidLineItem(
            f"quantity {quantity} of {sku} is not allowed; order from 1 to {MAX_QUANTITY} of one product"
        )
    return PricedLine(sku, quantity, product.price_cents)


def price_lines(items: Iterable[tuple[str, int]]) -> list[PricedLine]:
    """Price (sku, quantity) pairs in order; the first invalid one raises."""
    return [price_line(sku, quantity) for sku, quantity in items]


def subtotal_cents(lines: Iterable[PricedLine]) -> int:
    """The sum of the lines' totals."""
    return sum(line.line_total_cents for line in lines)
