"""What can go wrong with a cart or an order: each error says what was wrong and what to do about it.

The server maps these classes to gRPC status codes in one place (see server.py); nothing here
knows about gRPC.
"""


class CartError(Exception):
    """A request the cart service cannot carry out as asked."""


class InvalidInput(CartError):
    """A field of the request holds a value the cart service does not accept."""


class InvalidQuantity(InvalidInput):
    """A quantity outside 1 to 99, per add or for a line in total."""


class InvalidAdjustment(InvalidInput):
    """A discount below zero, above the subtotal, or in another currency than the cart."""


class ItemNotInCart(CartError):
    """A product the user tried to remove is not in the cart."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"SKU {sku!r} is not in the cart; get the cart to see which SKUs it holds")


class CartEmpty(CartError):
    """An order was asked for while the cart holds nothing."""

    def __init__(self) -> None:
        super().__init__("the cart is empty; add items before checking out")


class IdempotencyKeyReused(CartError):
    """An idempotency key that placed an order came again with a cart holding other items."""

    def __init__(self, order_id: str) -> None:
        super().__init__(
            f"this idempotency key already placed order {order_id} for other items; use a new key for a new order"
        )


class OrderNotFound(CartError):
    """The user has no order with this id."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"there is no order {order_id!r} for this user; list the user's orders for valid ids")
