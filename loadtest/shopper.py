"""The shop's client as a real app uses it: tagged synthetic traffic, idempotent checkouts, polite retries.

Every request says it is synthetic (`X-Synthetic: locust`, user ids starting with `load-`), so that
dashboards and data can leave it out. A shopper keeps what the shop last told it about its cart,
and picks products only from a catalogue it has seen.
"""

from __future__ import annotations

import os
import random
import uuid
from typing import Any

import gevent
from locust import HttpUser

from loadtest import retry

API = "/api/v1"
SYNTHETIC_HEADERS = {"X-Synthetic": "locust", "User-Agent": "purchase-lab-loadtest"}
USER_PREFIX = "load-"
CURRENT_APP_VERSION = "2.4.1"
REQUEST_TIMEOUT_S = 5.0
PROMO_CODES = ("SPRING15", "TAKE5", "BIGBREW")
# Mostly one of a thing, sometimes two or three.
QUANTITIES = (1, 1, 1, 2, 3)
# The same setting as purchase_lab.config.employee_domain: locust may run where purchase_lab is not installed.
EMPLOYEE_DOMAIN = os.environ.get("PURCHASE_EMPLOYEE_DOMAIN") or "purchase.example"


def new_user_id(cohort: str) -> str:
    """A user id nobody has used, tagged as synthetic and with its cohort."""
    return f"{USER_PREFIX}{cohort}-{uuid.uuid4().hex[:12]}"


def json_body(response: Any) -> Any:
    """The response's JSON body, or None when there was no response or it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


class Shopper(HttpUser):
    """What every kind of shopper can do; the cohorts in users.py say how often they do each."""

    abstract = True
    cohort = "customer"
    app_version = CURRENT_APP_VERSION
    # Seconds a person looks at a page before the next click; `--think-time` scales them.
    think_time_s = (1.0, 4.0)

    def on_start(self) -> None:
        """Arrive at the shop as a new user, knowing nothing of the catalogue yet."""
        self.user_id = new_user_id(self.cohort)
        self.catalogue: list[str] = []
        self.cart_lines: dict[str, int] = {}
        self.promo_code = ""

    def wait_time(self) -> float:
        """A person's pause between two clicks."""
        scale = getattr(self.environment.parsed_options, "think_time", 1.0)
        return random.uniform(*self.think_time_s) * scale

    def context(self) -> dict[str, Any]:
        """Who made a request, for the run's journal."""
        return {"user": self.user_id, "cohort": self.cohort}

    def headers(self) -> dict[str, str]:
        """The headers of every request: the user, the app version and the synthetic tag."""
        return {**SYNTHETIC_HEADERS, "X-User-Id": self.user_id, "X-App-Version": self.app_version}

    def call(self, method: str, path: str, *, name: str | None = None, **kwargs: Any) -> Any:
        """Send one request to the shop's API with this shopper's headers and a timeout."""
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return self.client.request(
            method, API + path, name=name or API + path, headers=headers, timeout=REQUEST_TIMEOUT_S, **kwargs
        )

    def remember_cart(self, response: Any) -> None:
        """Keep what a successful cart response says the cart holds."""
        body = json_body(response)
        if response.status_code == 200 and isinstance(body, dict):
            self.cart_lines = {line["sku"]: line["quantity"] for line in body.get("lines", [])}
            self.promo_code = body.get("promo_code", "")

    def browse(self) -> None:
        """Look at the catalogue."""
        response = self.call("GET", "/products")
        body = json_body(response)
        if response.status_code == 200 and isinstance(body, dict):
            self.catalogue = [product["sku"] for product in body["products"]]

    def view_cart(self) -> None:
        """Look at the cart."""
        self.remember_cart(self.call("GET", "/cart"))

    def add_to_cart(self) -> None:
        """Put something seen in the catalogue into the cart (look at the catalogue first if need be)."""
        if not self.catalogue:
            self.browse()
            return
        item = {"sku": random.choice(self.catalogue), "quantity": random.choice(QUANTITIES)}
        self.remember_cart(self.call("POST", "/cart/items", json=item, context=item))

    def remove_from_cart(self) -> None:
        """Change one's mind about a product in the cart."""
        if self.cart_lines:
            sku = random.choice(sorted(self.cart_lines))
            path = f"/cart/items/{sku}"
            self.remember_cart(self.call("DELETE", path, name=f"{API}/cart/items/[sku]", context={"sku": sku}))

    def enter_promo_code(self) -> None:
        """Type in a promo code found in a newsletter, once there is something to buy."""
        if self.cart_lines and not self.promo_code:
            code = random.choice(PROMO_CODES)
            self.remember_cart(self.call("POST", "/cart/promo", json={"code": code}, context={"promo": code}))

    def view_orders(self) -> None:
        """Look at past orders."""
        self.call("GET", "/orders")

    def check_out(self) -> None:
        """Check out the cart under one Idempotency-Key, retrying the way retry.py says."""
        if not self.cart_lines:
            self.add_to_cart()
            return
        key = f"{USER_PREFIX}{uuid.uuid4().hex}"
        for attempt in range(1, retry.MAX_ATTEMPTS + 1):
            response = self.call(
                "POST", "/checkout", headers={"Idempotency-Key": key}, context={"key": key, "attempt": attempt}
            )
            if response.status_code in (200, 201):
                self.cart_lines, self.promo_code = {}, ""
                self.after_order()
                return
            if not retry.should_retry(response.status_code, json_body(response), attempt):
                return
            gevent.sleep(retry.retry_delay(response.headers.get("Retry-After"), attempt))

    def after_order(self) -> None:
        """What a shopper does once an order is placed: by default, stay the same user and shop on."""
