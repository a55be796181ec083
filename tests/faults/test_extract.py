"""The user, SKUs and promo codes a rule can match are found in any request, gRPC or HTTP."""

from __future__ import annotations

import pytest
from purchase.cart.v1 import cart_pb2
from purchase.pricing.v1 import pricing_pb2

from purchase_lab.faults.extract import USER_METADATA_KEY, facts_from_http, facts_from_message

pytestmark = pytest.mark.unit


def test_items_skus_promo_code_and_user_id_are_found_in_a_pricing_request() -> None:
    request = pricing_pb2.GetAdjustmentRequest(
        user_id="alice",
        items=[pricing_pb2.LineItem(sku="cof-eth-250", quantity=1), pricing_pb2.LineItem(sku="TEA-01", quantity=2)],
        promo_code=" spring15 ",
    )
    facts = facts_from_message(request, None)
    assert facts.user == "alice"
    assert facts.skus == {"COF-ETH-250", "TEA-01"}
    assert facts.promos == {"SPRING15"}


def test_the_user_in_metadata_wins_over_the_request_field() -> None:
    request = cart_pb2.GetCartRequest(user_id="alice")
    assert facts_from_message(request, [(USER_METADATA_KEY, "bob")]).user == "bob"
    assert facts_from_message(request, [("other", "x")]).user == "alice"
    assert facts_from_message(pricing_pb2.ListProductsRequest(), None).user is None


def test_lines_skus_and_a_code_field_are_found_in_nested_messages() -> None:
    cart = cart_pb2.Cart(lines=[cart_pb2.CartLine(sku="COF-1"), cart_pb2.CartLine(sku="COF-2")])
    assert facts_from_message(cart_pb2.AddItemResponse(cart=cart), None).skus == {"COF-1", "COF-2"}
    assert facts_from_message(cart_pb2.SetPromoCodeRequest(code="take5"), None).promos == {"TAKE5"}
    assert facts_from_message(pricing_pb2.GetProductRequest(sku="tea-01"), None).skus == {"TEA-01"}


def test_an_http_request_gives_its_user_header_json_body_and_path() -> None:
    body = {"sku": "cof-1", "quantity": 2, "items": [{"sku": "TEA-1"}], "code": "spring15"}
    facts = facts_from_http({"X-User-Id": "carol"}, body, "/api/v1/cart/items")
    assert (facts.user, facts.skus, facts.promos) == ("carol", {"COF-1", "TEA-1"}, {"SPRING15"})
    from_path = facts_from_http({}, None, "/api/v1/cart/items/cof-9")
    assert (from_path.user, from_path.skus, from_path.promos) == (None, {"COF-9"}, frozenset())
