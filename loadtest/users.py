"""The shop's users on an ordinary day, and how often each of them does what.

Weights read like the shop's analytics: most sessions are regulars, people mostly browse, fewer
fill a cart, and fewer still check out. Employees shop like regulars with the company's email
domain (the dogfood cohort that flags are ramped to first), and people on the old 1.x app use only
what that version knew: no promo codes, no removing lines, no order history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from loadtest.shopper import EMPLOYEE_DOMAIN, Shopper, new_user_id

LEGACY_APP_VERSION = "1.9.3"
# How often a user does each thing, relative to the other things it does.
TaskWeights = dict[Callable[..., None], int]


class ReturningCustomer(Shopper):
    """A regular: browses a little, fills the cart, buys again and again under the same id."""

    weight = 5
    cohort = "returning"
    tasks: ClassVar[TaskWeights] = {
        Shopper.browse: 6,
        Shopper.add_to_cart: 4,
        Shopper.view_cart: 2,
        Shopper.check_out: 2,
        Shopper.remove_from_cart: 1,
        Shopper.view_orders: 1,
    }


class FirstTimeCustomer(Shopper):
    """Someone new: browses a lot, and after an order the next visitor is someone new again."""

    weight = 3
    cohort = "first"
    tasks: ClassVar[TaskWeights] = {
        Shopper.browse: 8,
        Shopper.add_to_cart: 4,
        Shopper.view_cart: 2,
        Shopper.check_out: 2,
    }

    def after_order(self) -> None:
        """Their first order is placed: the next session is another first-time customer."""
        self.user_id = new_user_id(self.cohort)


class PromoCustomer(Shopper):
    """A regular with a newsletter's promo code, typed in before checking out."""

    weight = 2
    cohort = "promo"
    tasks: ClassVar[TaskWeights] = {
        Shopper.browse: 5,
        Shopper.add_to_cart: 4,
        Shopper.enter_promo_code: 2,
        Shopper.view_cart: 2,
        Shopper.check_out: 2,
    }


class Employee(Shopper):
    """Staff shopping at their own shop with a work email: the cohort a new feature reaches first."""

    weight = 1
    cohort = "employee"
    tasks: ClassVar[TaskWeights] = {
        Shopper.browse: 6,
        Shopper.add_to_cart: 4,
        Shopper.view_cart: 2,
        Shopper.check_out: 2,
        Shopper.remove_from_cart: 1,
        Shopper.view_orders: 1,
    }

    def headers(self) -> dict[str, str]:
        """A regular's headers plus an email in the employee domain."""
        return {**super().headers(), "X-User-Email": f"{self.user_id}@{EMPLOYEE_DOMAIN}"}


class LegacyAppClient(Shopper):
    """The 1.x app, still installed on some phones: it only knows the catalogue, the cart and checkout."""

    weight = 2
    cohort = "legacy"
    app_version = LEGACY_APP_VERSION
    tasks: ClassVar[TaskWeights] = {
        Shopper.browse: 6,
        Shopper.add_to_cart: 4,
        Shopper.view_cart: 2,
        Shopper.check_out: 2,
    }
