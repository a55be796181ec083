"""Unit tests of the committed flag definitions, the code defaults and the flag settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from purchase_lab.config import ConfigError
from purchase_lab.flags import (
    CHECKOUT_FALLBACKS,
    COMMITTED_FLAGS,
    FLAGS,
    LOYALTY_DISCOUNT,
    FlagSettings,
    Rollout,
    UnknownFlag,
    known_flag,
    read_document,
)

pytestmark = pytest.mark.unit


def committed() -> dict:
    return json.loads(COMMITTED_FLAGS.read_text(encoding="utf-8"))


def test_the_committed_flags_validate_against_the_flagd_schema(flagd_schema: Draft7Validator) -> None:
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in flagd_schema.iter_errors(committed())]

    assert errors == []


def test_the_committed_flags_load_into_the_flagd_evaluator() -> None:
    assert read_document(COMMITTED_FLAGS)["flags"].keys() == FLAGS.keys()


def test_every_flag_has_a_description_a_person_can_read() -> None:
    for key, flag in committed()["flags"].items():
        assert len(flag["metadata"]["description"]) > 40, key


def test_fallbacks_ship_on_for_everyone_and_the_loyalty_discount_ships_dark() -> None:
    flags = committed()["flags"]

    assert Rollout.from_flag(flags[CHECKOUT_FALLBACKS]) == Rollout(percent=100)
    assert Rollout.from_flag(flags[LOYALTY_DISCOUNT]) == Rollout()


def test_code_defaults_are_the_old_behaviour_and_only_the_loyalty_discount_is_client_visible() -> None:
    assert {key: (spec.default, spec.client_visible) for key, spec in FLAGS.items()} == {
        CHECKOUT_FALLBACKS: (False, False),
        LOYALTY_DISCOUNT: (False, True),
    }


def test_an_unknown_flag_names_the_known_ones() -> None:
    with pytest.raises(UnknownFlag) as raised:
        known_flag("checkout.fallback")

    assert str(raised.value) == (
        "no flag is called 'checkout.fallback'; known flags: checkout.fallbacks, pricing.loyalty_discount"
    )


def test_settings_default_to_the_control_dir_under_the_current_directory() -> None:
    settings = FlagSettings.from_env({})

    assert settings.live_path == Path.cwd() / ".run" / "control" / "flags.json"
    assert settings.employee_domain == "purchase.example"


def test_settings_follow_the_environment(tmp_path: Path) -> None:
    settings = FlagSettings.from_env({"PURCHASE_CONTROL_DIR": str(tmp_path), "PURCHASE_EMPLOYEE_DOMAIN": "Shop.Test"})

    assert (settings.live_path, settings.employee_domain) == (tmp_path / "flags.json", "shop.test")


def test_a_bad_employee_domain_fails_fast_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"PURCHASE_EMPLOYEE_DOMAIN='@purchase\.example' is not a domain name"):
        FlagSettings.from_env({"PURCHASE_EMPLOYEE_DOMAIN": "@purchase.example"})
