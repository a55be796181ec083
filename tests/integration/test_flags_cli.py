"""`purchase flag ...` and `purchase reset` against a running lab, and how fast a change reaches its processes."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from purchase.pricing.v1 import pricing_pb2_grpc

from purchase_lab.faults import FaultStore
from purchase_lab.flags import COMMITTED_FLAGS, LIVE_FILE_NAME, LOYALTY_DISCOUNT, UserContext
from purchase_lab.lab_reset import reset_lab
from tests.conftest import Lab
from tests.integration.test_flags import client_features, pricing_loyalty
from tests.integration.test_shop import call

pytestmark = pytest.mark.integration
logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
EMPLOYEE = UserContext("u-cli-employee", "grace@purchase.example")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system, started once for these tests."""
    system = Lab(tmp_path_factory.mktemp("flags-cli"))
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture(scope="module")
def pricing(lab: Lab) -> Iterator[pricing_pb2_grpc.PricingServiceStub]:
    """A stub of the pricing process."""
    with grpc.insecure_channel(lab.target("pricing")) as channel:
        yield pricing_pb2_grpc.PricingServiceStub(channel)


@pytest.fixture
def control_dir(lab: Lab) -> Iterator[Path]:
    """The lab's control directory, back to its committed defaults after each test."""
    directory = Path(lab.env["PURCHASE_CONTROL_DIR"])
    yield directory
    reset_lab(directory)


def purchase(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `purchase ARGS` as a student would, against this lab's control directory."""
    return subprocess.run(
        [sys.executable, "-m", "purchase_lab.cli", *args],
        cwd=ROOT,
        env={**os.environ, **lab.env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def everywhere(lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, user: UserContext) -> tuple[bool, bool]:
    """The loyalty flag for the user, as the gateway reports it and as pricing prices."""
    return client_features(lab, user)[LOYALTY_DISCOUNT], pricing_loyalty(pricing, user)


def test_each_command_takes_the_running_lab_one_rollout_step(
    lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, control_dir: Path
) -> None:
    named = UserContext("u-cli-named")
    steps = [
        (("user", LOYALTY_DISCOUNT, named.user_id), "on only for user u-cli-named", {named: True, EMPLOYEE: False}),
        (("employees", LOYALTY_DISCOUNT), "on for employees, and user u-cli-named", {EMPLOYEE: True}),
        (("ramp", LOYALTY_DISCOUNT, "5"), "on for employees + 5% of everyone else", {named: True, EMPLOYEE: True}),
        (("kill", LOYALTY_DISCOUNT), "killed: everyone gets the code default", {named: False, EMPLOYEE: False}),
        (("set", LOYALTY_DISCOUNT, "on"), "on for everyone", {named: True}),
        (("set", LOYALTY_DISCOUNT, "off"), "off for everyone", {named: False, EMPLOYEE: False}),
    ]
    for args, summary, expected in steps:
        result = purchase(lab, "flag", *args)

        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"{LOYALTY_DISCOUNT:<26}")
        assert summary in result.stdout
        for user, on in expected.items():
            wait = time.monotonic() + 2
            while everywhere(lab, pricing, user) != (on, on) and time.monotonic() < wait:
                time.sleep(0.01)
            assert everywhere(lab, pricing, user) == (on, on), (args, user)


def test_list_shows_each_flag_and_who_has_it(lab: Lab, control_dir: Path) -> None:
    result = purchase(lab, "flag", "list")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{'checkout.fallbacks':<26}{'ENABLED':<9}on for everyone",
        f"{LOYALTY_DISCOUNT:<26}{'ENABLED':<9}off for everyone",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("flag", "ramp", "loyalty", "10"), "purchase: no flag is called 'loyalty'; known flags: checkout.fallbacks"),
        (
            ("flag", "ramp", LOYALTY_DISCOUNT, "101"),
            "argument PERCENT: must be a whole number from 0 to 100, got '101'",
        ),
        (("flag", "ramp", LOYALTY_DISCOUNT, "5%"), "must be a whole number from 0 to 100, got '5%'"),
        (("flag", "set", LOYALTY_DISCOUNT, "yes"), "argument on|off: invalid choice: 'yes'"),
        (("flag", "user", LOYALTY_DISCOUNT, "ada lovelace"), "purchase: user id 'ada lovelace' is not valid"),
        (("flag", "kill"), "the following arguments are required: FLAG"),
    ],
)
def test_bad_input_exits_2_and_says_what_to_do(
    lab: Lab, control_dir: Path, args: tuple[str, ...], message: str
) -> None:
    before = (control_dir / LIVE_FILE_NAME).read_bytes()

    result = purchase(lab, *args)

    assert result.returncode == 2
    assert message in result.stderr
    assert (control_dir / LIVE_FILE_NAME).read_bytes() == before


def test_a_broken_live_file_is_reported_and_purchase_reset_repairs_it_and_clears_faults(
    lab: Lab, control_dir: Path
) -> None:
    live = control_dir / LIVE_FILE_NAME
    live.write_text(live.read_text(encoding="utf-8").replace('"ENABLED"', '"ON"', 1), encoding="utf-8")
    FaultStore(control_dir).add_rule(service="pricing", method="GetAdjustment", user="u-nobody", error="UNAVAILABLE")

    listed = purchase(lab, "flag", "list")
    reset = purchase(lab, "reset")

    assert listed.returncode == 2
    assert "flags.checkout.fallbacks.state: is 'ON'" in listed.stderr
    assert "run `purchase reset`" in listed.stderr
    assert reset.returncode == 0, reset.stderr
    lines = reset.stdout.splitlines()
    assert lines[:2] == [
        "flags: back to the committed defaults in purchase_lab/flags/flags.json",
        "faults: every fault rule removed",
    ]
    # It returns once the gateway and pricing serve the repaired flags and every process dropped the rule.
    assert [line.split(" by ")[0] for line in lines[2:]] == ["the flags applied", "the faults applied"]
    assert live.read_bytes() == COMMITTED_FLAGS.read_bytes()
    assert FaultStore(control_dir).list_rules() == []


# How long the command says every process took to serve its change.
APPLIED_IN = re.compile(r"applied by \d+ running process(?:es)? in ([0-9.]+) s")


def first_seen(check: Callable[[], bool], timeout: float = 2.0) -> float:
    """Poll check() every 2 ms; return the wall-clock time it first came true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the change did not arrive within 2 s")
        time.sleep(0.002)
    return time.time()


def arrival(lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, on: bool) -> dict[str, float]:
    """Watch the gateway and pricing at once; the time each first serves the loyalty flag as on."""
    user = UserContext("u-propagation")
    checks = {
        "gateway": lambda: client_features(lab, user)[LOYALTY_DISCOUNT] is on,
        "pricing": lambda: pricing_loyalty(pricing, user) is on,
    }
    seen: dict[str, float] = {}
    watchers = [
        threading.Thread(target=lambda name=name, check=check: seen.setdefault(name, first_seen(check)))
        for name, check in checks.items()
    ]
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        watcher.join()
    return seen


def test_a_change_by_cli_or_api_reaches_gateway_and_pricing_within_a_second(
    lab: Lab, pricing: pricing_pb2_grpc.PricingServiceStub, control_dir: Path
) -> None:
    token = {"Authorization": f"Bearer {lab.admin_token}"}
    delays: dict[str, list[float]] = {"cli": [], "api": []}
    for _round in range(3):
        for on in (True, False):
            result = purchase(lab, "flag", "set", LOYALTY_DISCOUNT, "on" if on else "off")
            assert result.returncode == 0, result.stderr
            # The command returns once every process serves the change, so both serve it already.
            user = UserContext("u-propagation")
            assert client_features(lab, user)[LOYALTY_DISCOUNT] is on
            assert pricing_loyalty(pricing, user) is on
            delays["cli"].append(float(APPLIED_IN.search(result.stdout).group(1)))
        for on in (True, False):
            asked = time.time()
            reply = call(lab, "PUT", f"/api/v1/admin/flags/{LOYALTY_DISCOUNT}", {"value": on}, **token)
            assert reply.status == 200
            delays["api"] += [seen - asked for seen in arrival(lab, pricing, on).values()]
    milliseconds = {via: sorted(round(delay * 1000) for delay in found) for via, found in delays.items()}
    logger.info("a flag change reached gateway and pricing after (ms): %s", milliseconds)

    assert max(max(found) for found in delays.values()) < 1.0
