"""Unit tests of rollouts: each plan as flagd targeting, read back, and evaluated by the flagd evaluator."""

from __future__ import annotations

import logging

import pytest
from jsonschema import Draft7Validator
from openfeature.contrib.tools.flagd.core import FlagdCore

from purchase_lab.flags import FLAGS, LOYALTY_DISCOUNT, InvalidRollout, InvalidUser, Rollout, UserContext

pytestmark = pytest.mark.unit
logger = logging.getLogger(__name__)

EVERYONE_ELSE = [f"user-{number:05d}" for number in range(10_000)]
EMPLOYEE = UserContext("emp-1", "grace@purchase.example")
PLANS = [
    Rollout(),
    Rollout(employees=True),
    Rollout(percent=5, employees=True),
    Rollout(percent=50),
    Rollout(users=("ada",)),
    Rollout(percent=10, employees=True, users=("lin", "ada")),
    Rollout(percent=100),
    Rollout(state="DISABLED", percent=10, employees=True),
]


def evaluator(rollout: Rollout, key: str = LOYALTY_DISCOUNT) -> FlagdCore:
    core = FlagdCore()
    core.set_flags({"flags": {key: rollout.to_flag("a flag under test")}})
    return core


def is_on(core: FlagdCore, user: UserContext, key: str = LOYALTY_DISCOUNT) -> bool:
    return core.resolve_boolean_value(key, FLAGS[key].default, user.to_evaluation_context()).value


def on_among(rollout: Rollout, users: list[str], key: str = LOYALTY_DISCOUNT) -> set[str]:
    core = evaluator(rollout, key)
    return {user for user in users if is_on(core, UserContext(user), key)}


@pytest.mark.parametrize("plan", PLANS, ids=lambda plan: plan.summary())
def test_every_plan_is_valid_flagd_and_reads_back_as_itself(plan: Rollout, flagd_schema: Draft7Validator) -> None:
    flag = plan.to_flag("a flag under test")

    flagd_schema.validate({"flags": {LOYALTY_DISCOUNT: flag}})
    assert Rollout.from_flag(flag) == plan


def test_the_schema_check_can_fail(flagd_schema: Draft7Validator) -> None:
    flag = {**Rollout().to_flag("a flag under test"), "state": "ON"}

    assert not flagd_schema.is_valid({"flags": {LOYALTY_DISCOUNT: flag}})


def test_the_targeting_reads_like_the_plan() -> None:
    flag = Rollout(percent=10, employees=True, users=("lin", "ada")).to_flag("d")

    assert flag["defaultVariant"] == "off"
    assert flag["targeting"] == {
        "if": [
            {"in": [{"var": "targetingKey"}, ["ada", "lin"]]},
            "on",
            {"var": "employee"},
            "on",
            {"var": "targetingKey"},
            {"fractional": [["on", 10], ["off", 90]]},
            "off",
        ]
    }


@pytest.mark.parametrize(
    "targeting",
    [
        {"if": [{"ends_with": [{"var": "email"}, "@purchase.example"]}, "on", "off"]},
        {"if": [{"var": "targetingKey"}, {"fractional": [["on", 10.5], ["off", 89.5]]}, "off"]},
        {"if": [{"in": [{"var": "targetingKey"}, "ada"]}, "on", "off"]},
        {"fractional": [["on", 50], ["off", 50]]},
    ],
)
def test_targeting_written_by_hand_is_custom(targeting: dict) -> None:
    flag = {**Rollout().to_flag("d"), "targeting": targeting}

    assert Rollout.from_flag(flag) is None


def test_a_ramp_is_sticky_and_close_to_its_percentage() -> None:
    on = {percent: on_among(Rollout(percent=percent, employees=True), EVERYONE_ELSE) for percent in (5, 10, 50)}
    shares = {percent: len(users) / len(EVERYONE_ELSE) * 100 for percent, users in on.items()}
    logger.info("share of 10,000 users on at 5/10/50%%: %s", shares)

    assert on[5] <= on[10] <= on[50]
    for percent, share in shares.items():
        assert share == pytest.approx(percent, abs=1.0)


def test_each_flag_buckets_users_on_its_own() -> None:
    fallbacks = on_among(Rollout(percent=50), EVERYONE_ELSE[:1000], key="checkout.fallbacks")
    loyalty = on_among(Rollout(percent=50), EVERYONE_ELSE[:1000])

    assert fallbacks != loyalty


@pytest.mark.parametrize("percent", [0, 1, 5, 10, 25, 50, 99])
def test_employees_are_on_at_every_ramp_even_at_zero(percent: int) -> None:
    core = evaluator(Rollout(percent=percent, employees=True))

    assert is_on(core, EMPLOYEE)
    assert is_on(core, UserContext("emp-2", "alan@purchase.example"))


def test_employees_only_leaves_everyone_else_off() -> None:
    assert on_among(Rollout(employees=True), EVERYONE_ELSE[:1000]) == set()
    assert not is_on(evaluator(Rollout(employees=True)), UserContext("u-1", "eve@evil-purchase.example"))


@pytest.mark.parametrize("plan", [Rollout(), Rollout(employees=True), Rollout(percent=5, employees=True)])
def test_a_named_user_is_on_whatever_else_the_plan_says(plan: Rollout) -> None:
    named = plan.with_user("user-00042")

    assert on_among(named, EVERYONE_ELSE) == on_among(plan, EVERYONE_ELSE) | {"user-00042"}


def test_on_for_everyone_and_off_for_everyone() -> None:
    assert on_among(Rollout(percent=100), EVERYONE_ELSE[:1000]) == set(EVERYONE_ELSE[:1000])
    assert on_among(Rollout(), EVERYONE_ELSE[:1000]) == set()
    assert not is_on(evaluator(Rollout()), EMPLOYEE)


@pytest.mark.parametrize("key", sorted(FLAGS))
def test_the_kill_switch_gives_everyone_the_code_default(key: str) -> None:
    killed = Rollout(state="DISABLED", percent=100)
    core = evaluator(killed, key)

    assert {is_on(core, user, key) for user in (EMPLOYEE, UserContext("ada"))} == {FLAGS[key].default}


def test_a_user_without_an_id_is_off_in_a_ramp_without_an_evaluator_error(caplog: pytest.LogCaptureFixture) -> None:
    core = evaluator(Rollout(percent=99))

    assert core.resolve_boolean_value(LOYALTY_DISCOUNT, False, None).value is False
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_the_plan_in_words() -> None:
    assert [plan.summary() for plan in PLANS] == [
        "off for everyone",
        "on for employees only",
        "on for employees + 5% of everyone else",
        "on for 50% of users",
        "on only for user ada",
        "on for employees + 10% of everyone else, and users ada, lin",
        "on for everyone",
        "killed: everyone gets the code default (kept for later: on for employees + 10% of everyone else)",
    ]


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"percent": 101}, InvalidRollout, r"percent must be a whole number from 0 to 100, got 101"),
        ({"percent": -1}, InvalidRollout, r"got -1"),
        ({"percent": 12.5}, InvalidRollout, r"got 12\.5"),
        ({"percent": True}, InvalidRollout, r"got True"),
        ({"state": "ON"}, InvalidRollout, r"state must be ENABLED or DISABLED, got 'ON'"),
        ({"users": ("ada lovelace",)}, InvalidUser, r"user id 'ada lovelace' is not valid"),
    ],
)
def test_a_nonsense_plan_is_refused(fields: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Rollout(**fields)
