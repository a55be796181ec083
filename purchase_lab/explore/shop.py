"""The shop as a run uses it: set a user up, check out with a trace of its own, read the state that resulted."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import grpc
from purchase.email.v1 import email_pb2, email_pb2_grpc

from purchase_lab.explore.space import UserKind
from purchase_lab.grpc_client import create_channel

TIMEOUT_S = 30.0
SKU = "COF-ETH-250"
QUANTITY = 2
PROMO = "SPRING15"
SETUP_ATTEMPTS = 3
KINDS = {email_pb2.EMAIL_KIND_ORDER_CONFIRMATION: "order_confirmation", email_pb2.EMAIL_KIND_DISCOUNT: "discount"}


class ShopError(RuntimeError):
    """The shop did not do what setting a user up needs; the message says which request and what came back."""


@dataclass
class Answer:
    """An HTTP answer: status and JSON body."""

    status: int
    body: dict[str, Any]


@dataclass
class State:
    """What the shop holds for one user: orders by id and status, the cart's lines, emails by order and kind."""

    orders: dict[str, str] = field(default_factory=dict)
    cart: dict[str, int] = field(default_factory=dict)
    emails: set[tuple[str, str]] = field(default_factory=set)


class Shop:
    """HTTP to the gateway for the shop API, gRPC to the email service for its outbox."""

    def __init__(self, gateway_url: str, email_target: str, employee_domain: str) -> None:
        self.gateway_url = gateway_url
        self.employee_domain = employee_domain
        self._channel = create_channel(email_target, "purchase.email.v1.EmailService", ("ListOutbox",))
        self._email = email_pb2_grpc.EmailServiceStub(self._channel)

    def close(self) -> None:
        """Close the channel to the email service."""
        self._channel.close()

    def headers(self, user: str, kind: UserKind) -> dict[str, str]:
        """Who the user is: id, and an email in the employee domain for an employee."""
        domain = self.employee_domain if kind.employee else "example.com"
        return {"X-User-Id": user, "X-User-Email": f"{user.replace('.', '-')}@{domain}"}

    def request(self, method: str, path: str, headers: dict[str, str], body: object = None) -> Answer:
        """One HTTP request to the gateway; the answer whatever its status."""
        data = None if body is None else json.dumps(body).encode()
        sent = {**headers, **({"Content-Type": "application/json"} if data else {})}
        request = urllib.request.Request(f"{self.gateway_url}{path}", data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                return Answer(answer.status, json.load(answer))
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return Answer(error.code, json.loads(text))
            except ValueError:
                return Answer(error.code, {"raw": text.decode(errors="replace")[:300]})

    def must(self, method: str, path: str, headers: dict[str, str], body: object = None) -> Answer:
        """A request that must succeed while a user is set up."""
        answer = self.request(method, path, headers, body)
        if answer.status not in (200, 201):
            raise ShopError(f"{method} {path} for {headers['X-User-Id']} answered {answer.status}: {answer.body}")
        return answer

    def set_up(self, user: str, kind: UserKind) -> None:
        """Give the user a cart to check out, and a first order before it when the user is a returning customer."""
        headers = self.headers(user, kind)
        if not kind.first_order:
            self.must("POST", "/api/v1/cart/items", headers, {"sku": SKU, "quantity": 1})
            self.first_order(user, headers)
        self.must("POST", "/api/v1/cart/items", headers, {"sku": SKU, "quantity": QUANTITY})
        if kind.promo:
            self.must("POST", "/api/v1/cart/promo", headers, {"code": PROMO})

    def first_order(self, user: str, headers: dict[str, str]) -> None:
        """Place a returning customer's earlier order; on a busy machine a call may time out, so try again."""
        for attempt in range(SETUP_ATTEMPTS):
            answer = self.request("POST", "/api/v1/checkout", {**headers, "Idempotency-Key": f"setup-{attempt}-{user}"})
            if answer.status == 201:
                return
        raise ShopError(f"the earlier order of {user} was not placed in {SETUP_ATTEMPTS} tries: {answer.body}")

    def checkout(self, user: str, kind: UserKind, trace_id: str) -> Answer:
        """The checkout under test, in a trace of its own."""
        headers = {
            **self.headers(user, kind),
            "Idempotency-Key": f"explore-{user}",
            "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        }
        return self.request("POST", "/api/v1/checkout", headers)

    def state(self, user: str, kind: UserKind) -> State:
        """The user's orders, cart and emails, now."""
        headers = self.headers(user, kind)
        orders = self.must("GET", "/api/v1/orders", headers).body["orders"]
        cart = self.must("GET", "/api/v1/cart", headers).body["lines"]
        return State(
            {order["order_id"]: order["status"] for order in orders},
            {line["sku"]: line["quantity"] for line in cart},
            self.emails(user),
        )

    def emails(self, user: str) -> set[tuple[str, str]]:
        """The user's emails in the outbox, as (order id, kind)."""
        try:
            reply = self._email.ListOutbox(email_pb2.ListOutboxRequest(user_id=user, limit=20), timeout=TIMEOUT_S)
        except grpc.RpcError as error:
            raise ShopError(f"could not read the outbox for {user}: {error.code().name}: {error.details()}") from None
        return {(message.order_id, KINDS.get(message.kind, "other")) for message in reply.messages}
