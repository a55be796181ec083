"""The drift diff: noise between two real answers is ignored, and each kind of difference gets its class."""

from __future__ import annotations

from pathlib import Path

import pytest

from purchase_lab.drift.compare import FAILING, classify, default_real_to_fake, flatten, shapes
from purchase_lab.drift.fixtures import to_fake, to_real
from purchase_lab.drift.report import KINDS

pytestmark = pytest.mark.unit

SCENARIO = "tests/gateway/test_checkout.py::test_a_promo_code_discounts_a_later_order"
NO_HTTP: tuple[set[str], set[str]] = (set(), set())


def kinds(fake: dict, real: dict, again: dict | None = None, http=NO_HTTP, call="pricing.GetAdjustment") -> dict:
    found = classify(
        SCENARIO, "loyalty=off", call, ("OK", fake), ("OK", real), ("OK", again or real), http, default_real_to_fake
    )
    return {difference.path: difference.kind for difference in found}


def test_fields_are_flattened_by_path_and_catalogue_listings_fold_into_one_item() -> None:
    leaves = flatten({"products": [{"sku": "A"}, {"sku": "B"}], "empty": {}})
    assert leaves == {"products[0].sku": "A", "products[1].sku": "B", "empty": {}}
    assert shapes(leaves) == {"products[*].sku": "A", "empty": {}}


def test_what_varies_between_two_real_answers_is_noise() -> None:
    assert kinds({"message_id": "1-0"}, {"message_id": "17-0"}, {"message_id": "18-0"}) == {}


def test_a_field_the_fake_lacks_is_compatible_unless_the_gateway_reads_it() -> None:
    assert kinds({}, {"sparkle": "yes"}) == {"sparkle": "compatible"}
    assert kinds({}, {"amount": {"minor_units": 250}}) == {"amount.minor_units": "incompatible"}


def test_a_field_the_real_lacks_a_type_or_a_status_that_differs_is_incompatible() -> None:
    assert kinds({"sparkle": "yes"}, {}) == {"sparkle": "incompatible"}
    assert kinds({"reason": "x"}, {"reason": 3}) == {"reason": "incompatible"}
    found = classify(SCENARIO, "f", "c", ("OK", {}), ("NOT_FOUND", None), ("NOT_FOUND", None), NO_HTTP, str)
    assert [(d.path, d.kind) for d in found] == [("(status)", "incompatible")]


def test_value_drift_is_asserted_seen_over_http_or_unobserved() -> None:
    assert kinds({"reason": "$5.00 off with code SAVE5"}, {"reason": "5% off"}) == {"reason": "asserted"}
    http = ({"adjustment_reason"}, set())
    assert kinds({"reason": "a reason nobody asserts"}, {"reason": "other"}, http=http) == {"reason": "http"}
    assert kinds({"reason": "a reason nobody asserts"}, {"reason": "other"}) == {"reason": "unobserved"}


def test_catalogue_values_are_test_data_compared_by_type() -> None:
    assert kinds({"amount": {"minor_units": 250}}, {"amount": {"minor_units": 900}}) == {}
    assert to_fake(to_real("2 x MUG-001 with save5")) == "2 x MUG-001 with save5"


def test_the_guide_names_every_class_and_which_ones_fail() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "drift.md").read_text()
    for kind in KINDS:
        assert f"| `{kind}` |" in guide
        row = next(line for line in guide.splitlines() if line.startswith(f"| `{kind}` |"))
        assert row.rstrip(" |").endswith("yes" if kind in FAILING else "no")
