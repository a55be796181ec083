"""What can go wrong when pricing: each error says what was wrong and what to do about it."""


class PricingError(Exception):
    """A request pricing cannot serve as asked; the caller must change it."""


class UnknownProduct(PricingError):
    """A SKU that is not in the catalogue."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"no product has SKU {sku!r}; list the catalogue with ListProducts for valid SKUs")


class UnknownPromotion(PricingError):
    """A promo code that does not exist."""

    def __init__(self, code: str) -> None:
        super().__init__(f"promo code {code!r} does not exist; check the spelling or remove it")


class InvalidLineItem(PricingError):
    """A line item with a missing SKU or a quantity the shop does not sell."""


class MissingPromoCode(PricingError):
    """A promotion was asked for without a code."""

    def __init__(self) -> None:
        super().__init__("the promo code is empty; send the code to look up, such as 'SPRING15'")


class InvalidCaller(PricingError):
    """The call's user metadata (who is asking, for feature flags) is malformed."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"the caller's user metadata is malformed: {problem}")
