"""Unit tests of the user a flag is evaluated for, and how it travels in gRPC metadata."""

from __future__ import annotations

import pytest

from purchase_lab.flags import InvalidUser, UserContext

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("email", "employee"),
    [
        ("ada@purchase.example", True),
        ("Ada@PURCHASE.Example", True),
        ("ada@evil-purchase.example", False),
        ("ada@purchase.example.com", False),
        ("ada@shop.purchase.example", False),
        ("purchase.example@gmail.com", False),
        (None, False),
    ],
)
def test_an_employee_is_a_user_whose_email_domain_is_exactly_the_employee_domain(
    email: str | None, employee: bool
) -> None:
    assert UserContext("u-1", email).employee is employee


def test_the_employee_domain_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PURCHASE_EMPLOYEE_DOMAIN", "coffee.test")

    assert UserContext("u-1", "ada@coffee.test").employee is True
    assert UserContext("u-1", "ada@purchase.example").employee is False


def test_the_evaluation_context_keys_on_the_user_id_and_carries_what_targeting_reads() -> None:
    context = UserContext("u-1", "ada@purchase.example", "2.4.1").to_evaluation_context()

    assert context.targeting_key == "u-1"
    assert dict(context.attributes) == {"employee": True, "email": "ada@purchase.example", "app_version": "2.4.1"}


def test_a_user_without_email_or_version_sends_only_what_is_known() -> None:
    user = UserContext("u-1")

    assert dict(user.to_evaluation_context().attributes) == {"employee": False}
    assert user.to_grpc_metadata() == (("x-purchase-user-id", "u-1"),)


def test_the_user_survives_the_trip_through_grpc_metadata() -> None:
    user = UserContext("u-1", "ada@purchase.example", "2.4.1")
    received = [("user-agent", "grpc-python"), *user.to_grpc_metadata(), ("trace-bin", b"\x00")]

    assert user.to_grpc_metadata() == (
        ("x-purchase-user-id", "u-1"),
        ("x-purchase-user-email", "ada@purchase.example"),
        ("x-purchase-app-version", "2.4.1"),
    )
    assert UserContext.from_grpc_metadata(received) == user
    assert UserContext.from_grpc_metadata(received).employee is True


def test_a_call_without_a_user_has_no_user_context() -> None:
    assert UserContext.from_grpc_metadata([("user-agent", "grpc-python")]) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"user_id": ""}, r"user id '' is not valid; use 1 to 128 letters, digits"),
        ({"user_id": "ada lovelace"}, r"user id 'ada lovelace' is not valid"),
        ({"user_id": "u-1", "email": "ada"}, r"email 'ada' is not valid; send an address such as"),
        ({"user_id": "u-1", "email": "a b@purchase.example"}, r"email 'a b@purchase\.example' is not valid"),
        ({"user_id": "u-1", "app_version": "2.4 beta"}, r"app version '2\.4 beta' is not valid; send up to 64"),
    ],
)
def test_a_malformed_user_is_refused_with_what_to_send(fields: dict, message: str) -> None:
    with pytest.raises(InvalidUser, match=message):
        UserContext(**fields)
