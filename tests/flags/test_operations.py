"""Unit tests of the rollout commands on a live flags file: each step, each refusal, and concurrent writers."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path

import pytest

from purchase_lab.flags import (
    CHECKOUT_FALLBACKS,
    COMMITTED_FLAGS,
    LOYALTY_DISCOUNT,
    CustomTargeting,
    FlagKilled,
    InvalidFlagsFile,
    InvalidRollout,
    InvalidUser,
    Rollout,
    UnknownFlag,
    add_user,
    employees_only,
    kill,
    list_flags,
    ramp,
    reset,
    set_flag,
)

pytestmark = pytest.mark.unit


def flag_in_file(path: Path, key: str = LOYALTY_DISCOUNT) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["flags"][key]


def test_list_seeds_a_missing_live_file_and_describes_every_flag(tmp_path: Path) -> None:
    path = tmp_path / "control" / "flags.json"

    listed = {status.key: status.to_dict() for status in list_flags(path)}

    assert path.read_text(encoding="utf-8") == COMMITTED_FLAGS.read_text(encoding="utf-8")
    assert listed[LOYALTY_DISCOUNT] == {
        "key": LOYALTY_DISCOUNT,
        "description": flag_in_file(COMMITTED_FLAGS)["metadata"]["description"],
        "state": "ENABLED",
        "rollout": {"state": "ENABLED", "percent": 0, "employees": False, "users": []},
        "summary": "off for everyone",
        "default": False,
        "client_visible": True,
    }
    assert listed[CHECKOUT_FALLBACKS]["summary"] == "on for everyone"
    assert listed[CHECKOUT_FALLBACKS]["client_visible"] is False


def test_a_dark_launch_step_by_step(flags_path: Path) -> None:
    steps = [
        employees_only(LOYALTY_DISCOUNT, flags_path),
        add_user(LOYALTY_DISCOUNT, "u-42", flags_path),
        ramp(LOYALTY_DISCOUNT, 5, flags_path),
        ramp(LOYALTY_DISCOUNT, 50, flags_path),
        kill(LOYALTY_DISCOUNT, flags_path),
        set_flag(LOYALTY_DISCOUNT, "on", flags_path),
        set_flag(LOYALTY_DISCOUNT, "off", flags_path),
    ]

    assert [step.summary for step in steps] == [
        "on for employees only",
        "on for employees, and user u-42",
        "on for employees + 5% of everyone else, and user u-42",
        "on for employees + 50% of everyone else, and user u-42",
        "killed: everyone gets the code default (kept for later: on for employees + 50% of everyone else, "
        "and user u-42)",
        "on for everyone",
        "off for everyone",
    ]
    assert Rollout.from_flag(flag_in_file(flags_path)) == Rollout()


def test_changes_keep_the_description_and_leave_other_flags_alone(flags_path: Path) -> None:
    before = flag_in_file(flags_path, CHECKOUT_FALLBACKS)

    ramp(LOYALTY_DISCOUNT, 10, flags_path)

    assert flag_in_file(flags_path)["metadata"] == flag_in_file(COMMITTED_FLAGS)["metadata"]
    assert flag_in_file(flags_path, CHECKOUT_FALLBACKS) == before


def test_reset_restores_the_committed_defaults_and_git_is_never_written(flags_path: Path) -> None:
    committed = hashlib.sha256(COMMITTED_FLAGS.read_bytes()).hexdigest()
    kill(CHECKOUT_FALLBACKS, flags_path)
    ramp(LOYALTY_DISCOUNT, 10, flags_path)

    statuses = reset(flags_path)

    assert [status.summary for status in statuses] == ["on for everyone", "off for everyone"]
    assert flags_path.read_bytes() == COMMITTED_FLAGS.read_bytes()
    assert hashlib.sha256(COMMITTED_FLAGS.read_bytes()).hexdigest() == committed


def test_reset_repairs_a_hand_broken_file(flags_path: Path) -> None:
    flags_path.write_text("{", encoding="utf-8")

    reset(flags_path)

    assert flags_path.read_bytes() == COMMITTED_FLAGS.read_bytes()


def test_hand_written_targeting_is_listed_as_custom_and_a_command_replaces_it(flags_path: Path) -> None:
    document = json.loads(flags_path.read_text(encoding="utf-8"))
    document["flags"][LOYALTY_DISCOUNT]["targeting"] = {
        "if": [{"sem_ver": [{"var": "app_version"}, ">=", "2.0.0"]}, "on", "off"]
    }
    flags_path.write_text(json.dumps(document), encoding="utf-8")

    listed = {status.key: status for status in list_flags(flags_path)}
    assert (listed[LOYALTY_DISCOUNT].rollout, listed[LOYALTY_DISCOUNT].summary.split(" (")[0]) == (
        None,
        "custom targeting",
    )
    with pytest.raises(CustomTargeting, match=r"hand-written targeting, so a user cannot be added on top of it"):
        add_user(LOYALTY_DISCOUNT, "u-42", flags_path)
    assert ramp(LOYALTY_DISCOUNT, 10, flags_path).summary == "on for employees + 10% of everyone else"


def test_a_user_is_not_added_to_a_killed_flag(flags_path: Path) -> None:
    kill(LOYALTY_DISCOUNT, flags_path)

    with pytest.raises(FlagKilled, match=r"is killed; .* first run `purchase flag set pricing\.loyalty_discount off`"):
        add_user(LOYALTY_DISCOUNT, "u-42", flags_path)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda path: ramp("loyalty", 10, path), UnknownFlag, r"no flag is called 'loyalty'; known flags: checkout"),
        (lambda path: ramp(LOYALTY_DISCOUNT, 101, path), InvalidRollout, r"from 0 to 100, got 101"),
        (lambda path: ramp(LOYALTY_DISCOUNT, -5, path), InvalidRollout, r"from 0 to 100, got -5"),
        (lambda path: ramp(LOYALTY_DISCOUNT, "10", path), InvalidRollout, r"whole number from 0 to 100, got '10'"),
        (lambda path: set_flag(LOYALTY_DISCOUNT, "yes", path), InvalidRollout, r"set 'on' or 'off', got 'yes'"),
        (lambda path: add_user(LOYALTY_DISCOUNT, "", path), InvalidUser, r"user id '' is not valid"),
        (lambda path: add_user(LOYALTY_DISCOUNT, "a;b", path), InvalidUser, r"user id 'a;b' is not valid"),
        (lambda path: kill("nope", path), UnknownFlag, r"no flag is called 'nope'"),
    ],
)
def test_bad_input_is_refused_with_what_to_do_and_the_file_is_untouched(
    flags_path: Path, change, error: type[Exception], message: str
) -> None:
    before = flags_path.read_bytes()

    with pytest.raises(error, match=message):
        change(flags_path)

    assert flags_path.read_bytes() == before


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda text: text[:-3], r"line \d+ column \d+: Expecting"),
        (lambda text: text.replace('"ENABLED"', '"ON"', 1), r"flags\.checkout\.fallbacks\.state: is 'ON'"),
        (
            lambda text: text.replace('"defaultVariant": "off"', '"defaultVariant": "of"'),
            r"flags\.pricing\.loyalty_discount\.defaultVariant: 'of' is not one of \['off', 'on'\]",
        ),
        (lambda text: text.replace("true", '"yes"', 1), r"flags\.checkout\.fallbacks\.variants: must all be true"),
        (
            lambda text: text.replace('"state"', '"description": "x", "state"', 1),
            r"flags\.checkout\.fallbacks\.description: is not a field .* goes in metadata\.description",
        ),
        (lambda text: '{"flag": {}}', r"top level: must be a JSON object with a \"flags\" object"),
    ],
)
def test_a_hand_broken_file_is_reported_with_where_and_how_to_recover(flags_path: Path, edit, where: str) -> None:
    flags_path.write_text(edit(flags_path.read_text(encoding="utf-8")), encoding="utf-8")

    with pytest.raises(
        InvalidFlagsFile, match=rf"^{re.escape(str(flags_path))}: {where}.*; fix the file, or run `purchase reset`"
    ):
        ramp(LOYALTY_DISCOUNT, 10, flags_path)
    with pytest.raises(InvalidFlagsFile):
        list_flags(flags_path)


def test_targeting_the_evaluator_cannot_run_is_refused(flags_path: Path) -> None:
    document = json.loads(flags_path.read_text(encoding="utf-8"))
    document["flags"][LOYALTY_DISCOUNT]["targeting"] = {"if": [{"no_such_operator": [1]}, "on", "off"]}
    flags_path.write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(InvalidFlagsFile, match=r"flags\.pricing\.loyalty_discount\.targeting: Invalid targeting"):
        ramp(CHECKOUT_FALLBACKS, 10, flags_path)


def test_concurrent_writers_lose_no_update(flags_path: Path) -> None:
    users = [f"u-{number}" for number in range(12)]
    threads = [threading.Thread(target=add_user, args=(LOYALTY_DISCOUNT, user, flags_path)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Rollout.from_flag(flag_in_file(flags_path)) == Rollout(users=tuple(users))
    assert not list(flags_path.parent.glob("*.tmp"))
