"""Integration tests of FeatureFlags: in-process evaluation with the flagd file watcher on a live file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from purchase_lab.flags import (
    CHECKOUT_FALLBACKS,
    COMMITTED_FLAGS,
    LOYALTY_DISCOUNT,
    FeatureFlags,
    UnknownFlag,
    UserContext,
    employees_only,
    kill,
    reset,
    set_flag,
)
from purchase_lab.health import wait_until
from tests.conftest import FlagVariant, flag_reached

pytestmark = pytest.mark.integration

ADA = UserContext("u-ada", "ada@example.com", "2.4.1")
GRACE = UserContext("u-grace", "grace@purchase.example")


def test_start_seeds_a_missing_live_file_from_git(tmp_path: Path) -> None:
    path = tmp_path / "control" / "flags.json"
    flags = FeatureFlags.start(path)
    try:
        assert path.read_bytes() == COMMITTED_FLAGS.read_bytes()
        assert flags.is_enabled(CHECKOUT_FALLBACKS, ADA) is True
        assert flags.is_enabled(LOYALTY_DISCOUNT, ADA) is False
    finally:
        flags.stop()


def test_every_user_sees_the_flag_as_set_with_it_off_and_on(flag_variants: FlagVariant, flags_path: Path) -> None:
    on = flag_variants.apply(CHECKOUT_FALLBACKS, LOYALTY_DISCOUNT)
    flags = FeatureFlags.start(flags_path)
    try:
        assert {flags.is_enabled(CHECKOUT_FALLBACKS, user) for user in (ADA, GRACE, None)} == {on}
        assert flags.evaluate_all(ADA) == {LOYALTY_DISCOUNT: on}
        assert flags.evaluate_all(ADA, client_visible_only=False) == {CHECKOUT_FALLBACKS: on, LOYALTY_DISCOUNT: on}
    finally:
        flags.stop()


def test_the_kill_switch_reaches_a_running_service_whatever_the_flag_was(
    flag_variants: FlagVariant, evaluator: FeatureFlags
) -> None:
    flag_reached(evaluator, CHECKOUT_FALLBACKS, ADA, flag_variants.apply(CHECKOUT_FALLBACKS))

    kill(CHECKOUT_FALLBACKS, flag_variants.path)

    flag_reached(evaluator, CHECKOUT_FALLBACKS, ADA, False)
    assert evaluator.is_enabled(CHECKOUT_FALLBACKS, GRACE) is False


def test_a_ramp_step_reaches_a_running_service(evaluator: FeatureFlags, flags_path: Path) -> None:
    employees_only(LOYALTY_DISCOUNT, flags_path)

    assert flag_reached(evaluator, LOYALTY_DISCOUNT, GRACE, True) < 1.0
    assert evaluator.is_enabled(LOYALTY_DISCOUNT, ADA) is False


def test_an_invalid_live_file_keeps_the_last_good_flags(
    evaluator: FeatureFlags, flags_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    set_flag(LOYALTY_DISCOUNT, "on", flags_path)
    flag_reached(evaluator, LOYALTY_DISCOUNT, ADA, True)
    served = evaluator.version

    flags_path.write_text('{"flags": {"pricing.loyalty_discount": ', encoding="utf-8")  # a bad hand edit
    wait_until(lambda: not evaluator.healthy, "the evaluator noticing the bad file", timeout=2)

    assert evaluator.is_enabled(LOYALTY_DISCOUNT, ADA) is True
    assert evaluator.is_enabled(CHECKOUT_FALLBACKS, ADA) is True
    reset(flags_path)
    flag_reached(evaluator, LOYALTY_DISCOUNT, ADA, False)
    wait_until(lambda: evaluator.healthy, "the evaluator recovering", timeout=2)
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [
        f"{flags_path}: line 1 column 40: Expecting value; fix the file, or run `purchase reset` "
        f"to restore the committed defaults; meanwhile serving the last good flags ({served})"
    ]


def test_a_service_started_on_an_invalid_file_with_no_good_copy_says_it_cannot_serve(flags_path: Path) -> None:
    flags_path.parent.mkdir(parents=True, exist_ok=True)
    flags_path.write_text("not json", encoding="utf-8")
    flags = FeatureFlags.start(flags_path)
    try:
        assert flags.healthy is False
        assert (flags.version, flags.source) == (None, "none")
        assert flags.problem.startswith(f"no valid flags to serve ({flags_path}: line 1 column 1")
        assert flags.is_enabled(CHECKOUT_FALLBACKS, ADA) is False  # the code default, though git says on

        reset(flags_path)

        flag_reached(flags, CHECKOUT_FALLBACKS, ADA, True)
    finally:
        flags.stop()


def test_a_service_started_on_a_broken_file_serves_the_last_good_flags_the_others_serve(
    evaluator: FeatureFlags, flags_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    set_flag(LOYALTY_DISCOUNT, "on", flags_path)
    flag_reached(evaluator, LOYALTY_DISCOUNT, ADA, True)
    flags_path.write_text(flags_path.read_text(encoding="utf-8")[:50], encoding="utf-8")  # truncated

    restarted = FeatureFlags.start(flags_path)
    try:
        assert (restarted.version, restarted.source, restarted.problem) == (evaluator.version, "last-good", "")
        assert restarted.is_enabled(LOYALTY_DISCOUNT, ADA) is True  # as the process that kept running says
        assert "serving the last good flags from" in caplog.text

        reset(flags_path)

        flag_reached(restarted, LOYALTY_DISCOUNT, ADA, False)
        assert restarted.source == "live"
    finally:
        restarted.stop()


def test_asking_for_a_flag_the_code_does_not_define_is_an_error(evaluator: FeatureFlags) -> None:
    with pytest.raises(UnknownFlag, match=r"no flag is called 'checkout'"):
        evaluator.is_enabled("checkout", ADA)
