"""Unit tests of the cart's rules: lines, totals, adjustments, orders and request checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.cart.domain import MAX_QUANTITY, Cart, CartView, Line, Order, OrderStatus
from services.cart.errors import CartEmpty, InvalidAdjustment, InvalidInput, InvalidQuantity, ItemNotInCart
from services.cart.validation import check_idempotency_key, check_promo_code, check_user_id

pytestmark = pytest.mark.unit

MUG = Line("MUG-1", "Enamel mug", 2, 1250, "USD")
LAMP = Line("LAMP-2", "Desk lamp", 1, 4999, "USD")


def placed(cart: Cart) -> Order:
    """The order cart becomes."""
    return Order.from_cart(
        cart, order_id="o-1", user_id="u-1", idempotency_key="k-1", created_at=datetime(2026, 5, 1, tzinfo=UTC)
    )


def test_totals_sum_the_lines_and_subtract_the_adjustment() -> None:
    cart = Cart().add(MUG).add(LAMP).with_adjustment(500, "USD", "10% off")

    assert (cart.subtotal, cart.adjustment, cart.total) == (7499, 500, 6999)


def test_adding_a_sku_again_merges_the_line_in_place_at_the_new_price() -> None:
    cart = Cart().add(MUG).add(LAMP).add(Line("MUG-1", "Enamel mug, blue", 3, 1300, "USD"))

    assert [(line.sku, line.quantity, line.unit_price) for line in cart.lines] == [
        ("MUG-1", 5, 1300),
        ("LAMP-2", 1, 4999),
    ]
    assert cart.lines[0].name == "Enamel mug, blue"


def test_a_line_may_not_grow_past_99() -> None:
    cart = Cart().add(Line("MUG-1", "Enamel mug", 98, 1250, "USD"))

    with pytest.raises(InvalidQuantity, match=r"already holds 98 of 'MUG-1'.*add at most 1 more"):
        cart.add(MUG)


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1])
def test_a_new_line_needs_a_quantity_from_1_to_99(quantity: int) -> None:
    with pytest.raises(InvalidQuantity, match=f"quantity must be from 1 to 99; got {quantity}"):
        Line.new("MUG-1", "Enamel mug", quantity, 1250, "USD")


@pytest.mark.parametrize(
    ("sku", "name", "price", "currency", "message"),
    [
        ("", "Mug", 100, "USD", "sku must be 1 to 64"),
        ("MUG 1", "Mug", 100, "USD", "without spaces"),
        ("MUG-1", "", 100, "USD", "name is empty"),
        ("MUG-1", "Mug", -1, "USD", "a price cannot be negative"),
        ("MUG-1", "Mug", 100, "", "is not an ISO 4217 code"),
        ("MUG-1", "x" * 201, 100, "USD", "name is 201 characters long"),
    ],
)
def test_a_new_line_rejects_bad_fields(sku: str, name: str, price: int, currency: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Line.new(sku, name, 1, price, currency)


def test_every_line_of_a_cart_is_priced_in_one_currency() -> None:
    with pytest.raises(InvalidInput, match="unit_price is in EUR but the cart is in USD"):
        Cart().add(MUG).add(Line("TEA-3", "Tea", 1, 800, "EUR"))


def test_removing_a_sku_that_is_not_in_the_cart_fails() -> None:
    with pytest.raises(ItemNotInCart, match="SKU 'LAMP-2' is not in the cart"):
        Cart().add(MUG).remove("LAMP-2")


@pytest.mark.parametrize(("amount", "currency"), [(-1, "USD"), (2501, "USD"), (100, "EUR"), (100, "")])
def test_an_adjustment_must_be_within_the_subtotal_in_the_carts_currency(amount: int, currency: str) -> None:
    with pytest.raises(InvalidAdjustment):
        Cart().add(MUG).with_adjustment(amount, currency, "promo")


def test_changing_the_lines_drops_the_adjustment_priced_for_the_old_ones() -> None:
    discounted = Cart().add(MUG).add(LAMP).with_adjustment(500, "USD", "10% off")

    for changed in (discounted.add(MUG), discounted.remove("LAMP-2"), discounted.restore((MUG,))):
        assert (changed.adjustment, changed.adjustment_reason) == (0, "")


def test_restoring_merges_quantities_capped_at_99_and_appends_new_lines() -> None:
    cart = Cart().add(Line("MUG-1", "Enamel mug", 98, 1250, "USD"))

    restored = cart.restore((MUG, LAMP))

    assert [(line.sku, line.quantity) for line in restored.lines] == [("MUG-1", 99), ("LAMP-2", 1)]


def test_an_order_freezes_the_cart() -> None:
    cart = Cart(promo_code="SPRING15").add(MUG).add(LAMP).with_adjustment(750, "USD", "SPRING15")

    order = placed(cart)

    assert order.lines == cart.lines
    assert (order.subtotal, order.adjustment, order.total) == (7499, 750, 6749)
    assert (order.promo_code, order.adjustment_reason, order.status) == ("SPRING15", "SPRING15", OrderStatus.PLACED)


def test_an_empty_cart_cannot_become_an_order() -> None:
    with pytest.raises(CartEmpty, match="the cart is empty; add items before checking out"):
        placed(Cart(promo_code="SPRING15"))


def test_carts_and_orders_read_back_what_they_stored() -> None:
    cart = Cart(promo_code="SPRING15").add(MUG).with_adjustment(100, "USD", "promo")
    order = placed(cart).cancel("changed my mind")

    assert Cart.from_json(cart.to_json()) == cart
    assert Order.from_json(order.to_json()) == order
    assert Cart.from_json(None) == Cart()


@pytest.mark.parametrize(
    ("first_order", "promo_code", "eligible"),
    [(True, "", True), (False, "SPRING15", True), (True, "SPRING15", True), (False, "", False)],
)
def test_discount_eligibility_is_a_first_order_or_a_promo_code(
    first_order: bool, promo_code: str, eligible: bool
) -> None:
    view = CartView("u-1", Cart(promo_code=promo_code), first_order=first_order)

    assert view.discount_eligible is eligible


@pytest.mark.parametrize("user_id", ["u-1", "ada.lovelace@example.com", "A_b-9", "x" * 64])
def test_good_user_ids_pass(user_id: str) -> None:
    check_user_id(user_id)


@pytest.mark.parametrize(
    ("user_id", "message"),
    [
        ("", "user_id is empty"),
        ("x" * 65, "user_id is 65 characters long; use at most 64"),
        ("ada lovelace", "other characters than letters, digits and . _ @ -"),
        ("u/1", "other characters"),
    ],
)
def test_bad_user_ids_are_named(user_id: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_user_id(user_id)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "idempotency_key is empty"),
        ("k" * 129, "idempotency_key is 129 characters long; use at most 128"),
        ("k\n1", "not printable ASCII"),
        ("clé", "not printable ASCII"),
    ],
)
def test_bad_idempotency_keys_are_named(key: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_idempotency_key(key)


def test_good_idempotency_keys_pass() -> None:
    check_idempotency_key("3f1c2a8e-4b7d-4c1e-9f0a-1b2c3d4e5f60")
    check_idempotency_key("k" * 128)


@pytest.mark.parametrize("code", ["SPRING 15", "x" * 33, "10%OFF"])
def test_bad_promo_codes_are_refused(code: str) -> None:
    with pytest.raises(InvalidInput, match="is not a code"):
        check_promo_code(code)
