"""The catalogue: fifteen well-formed products, lookup by SKU, and pricing of line items."""

from __future__ import annotations

import dataclasses
import re

import pytest

from services.pricing.catalogue import MAX_QUANTITY, PRODUCTS, find_product, price_line, price_lines, subtotal_cents
from services.pricing.errors import InvalidLineItem, UnknownProduct

pytestmark = pytest.mark.unit


def test_the_catalogue_has_fifteen_products_with_unique_skus() -> None:
    skus = [product.sku for product in PRODUCTS]
    assert len(PRODUCTS) == 15
    assert len(set(skus)) == 15


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda product: product.sku)
def test_every_product_is_complete_and_priced_in_whole_cents(product) -> None:
    assert re.fullmatch(r"[A-Z]{3}-[A-Z0-9]{2,3}-[A-Z0-9]{2,4}", product.sku)
    assert product.name
    assert product.description.endswith(".")
    assert product.category in {"Coffee", "Tea", "Brewing", "Home"}
    assert isinstance(product.price_cents, int)
    assert 100 <= product.price_cents <= 20_000


def test_products_cannot_be_changed() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRODUCTS[0].price_cents = 1  # type: ignore[misc]


def test_find_product_returns_the_product_with_that_sku() -> None:
    product = find_product("COF-ETH-250")
    assert product.name == "Ethiopia Yirgacheffe, 250 g"
    assert product.price_cents == 1650


def test_an_unknown_sku_says_where_to_find_valid_ones() -> None:
    with pytest.raises(UnknownProduct, match=r"no product has SKU 'NOPE-1'; list the catalogue with ListProducts"):
        find_product("NOPE-1")


def test_an_empty_sku_is_invalid() -> None:
    with pytest.raises(InvalidLineItem, match="the SKU is empty"):
        find_product("")


def test_a_line_costs_unit_price_times_quantity() -> None:
    line = price_line("HOM-MUG-350", 3)
    assert (line.unit_price_cents, line.line_total_cents) == (1800, 5400)


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1])
def test_quantities_outside_1_to_99_are_refused(quantity: int) -> None:
    with pytest.raises(
        InvalidLineItem, match=rf"quantity {quantity} of HOM-MUG-350 is not allowed; order from 1 to 99"
    ):
        price_line("HOM-MUG-350", quantity)


@pytest.mark.parametrize("quantity", [1, MAX_QUANTITY])
def test_quantities_at_the_limits_are_accepted(quantity: int) -> None:
    assert price_line("BRW-FLT-100", quantity).line_total_cents == 650 * quantity


def test_subtotal_sums_every_line() -> None:
    lines = price_lines([("COF-ETH-250", 2), ("BRW-FLT-100", 1), ("COF-ETH-250", 1)])
    assert subtotal_cents(lines) == 1650 * 3 + 650


def test_an_empty_cart_costs_nothing() -> None:
    assert subtotal_cents(price_lines([])) == 0
