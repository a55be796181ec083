"""`purchase reset --data` and the admin API's reset?scope=data: an empty shop in a running lab, flags untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from purchase_lab.faults import FaultStore
from purchase_lab.flags import CHECKOUT_FALLBACKS, LIVE_FILE_NAME, LOYALTY_DISCOUNT, list_flags, ramp
from purchase_lab.lab_data import EMAIL_QUEUE, EMAIL_QUEUE_GROUP
from purchase_lab.ports import free_port
from tests.conftest import Lab
from tests.integration.faults_lab import admin, settle, start_lab
from tests.integration.test_shop import Shopper

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system, with an admin token."""
    yield from start_lab(tmp_path_factory.mktemp("reset-data"))


def purchase(lab: Lab, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `purchase ARGS` against this lab (with env on top of its environment)."""
    return subprocess.run(
        [sys.executable, "-m", "purchase_lab.cli", *args],
        cwd=ROOT,
        env={**os.environ, **lab.env, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def fill_the_shop(lab: Lab, prefix: str) -> list[Shopper]:
    """Two users with an order each (emails sent), one of them with a full cart, one email waiting in the queue."""
    shoppers = [Shopper(lab, f"{prefix}-{n}") for n in (1, 2)]
    for shopper in shoppers:
        assert shopper.add("COF-ETH-250").status == 200
        assert shopper.checkout(f"{shopper.user_id}-k").status == 201
    assert shoppers[0].add("COF-COL-500", 2).status == 200
    # An email that could not be sent waits in the gateway's queue: only client-side, so the relay cannot deliver it.
    FaultStore(Path(lab.env["PURCHASE_CONTROL_DIR"])).add_rule(service="email", side="client", error="UNAVAILABLE")
    settle(lab)
    assert shoppers[1].add("COF-ETH-250").status == 200
    assert shoppers[1].checkout(f"{shoppers[1].user_id}-k2").body["email"] == "queued"
    return shoppers


def assert_empty(lab: Lab, shoppers: list[Shopper]) -> None:
    """No cart, no order, no email in the outbox or the queue; the email relays can queue again."""
    for shopper in shoppers:
        assert shopper("GET", "/api/v1/cart").body["lines"] == []
        assert shopper.orders() == []
        assert shopper.outbox() == []
    with redis.Redis.from_url(lab.redis_url) as client:
        assert client.xlen(EMAIL_QUEUE) == 0
        assert [group["name"] for group in client.xinfo_groups(EMAIL_QUEUE)] == [EMAIL_QUEUE_GROUP.encode()]


def test_purchase_reset_data_empties_the_shop_and_leaves_flags_and_faults(lab: Lab) -> None:
    control = Path(lab.env["PURCHASE_CONTROL_DIR"])
    shoppers = fill_the_shop(lab, "rd-cli")
    ramp(LOYALTY_DISCOUNT, 25, control / LIVE_FILE_NAME)
    flags_before = (control / LIVE_FILE_NAME).read_bytes()
    rules_before = FaultStore(control).list_rules()

    result = purchase(lab, "reset", "--data")

    assert result.returncode == 0, result.stderr
    # Two first orders with two emails each, and a returning customer's confirmation waiting in the queue.
    assert result.stdout == "data: 1 cart, 3 orders, 4 emails in the outbox and 1 queued removed\n"
    assert_empty(lab, shoppers)
    assert (control / LIVE_FILE_NAME).read_bytes() == flags_before
    assert FaultStore(control).list_rules() == rules_before
    # A user whose orders were removed is a first-time customer again.
    assert shoppers[0].add("COF-ETH-250").body["first_order"] is True


def test_purchase_reset_all_also_puts_flags_and_faults_back(lab: Lab) -> None:
    control = Path(lab.env["PURCHASE_CONTROL_DIR"])
    shoppers = fill_the_shop(lab, "rd-all")
    ramp(LOYALTY_DISCOUNT, 25, control / LIVE_FILE_NAME)

    result = purchase(lab, "reset", "--all")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["flags", "faults", "data"]
    # Like `purchase reset`, it returns once every running process applied the flags and the faults.
    assert [line.split(" by ")[0] for line in lines[3:]] == ["the flags applied", "the faults applied"]
    assert_empty(lab, shoppers)
    assert FaultStore(control).list_rules() == []
    statuses = {status.key: status.summary for status in list_flags(control / LIVE_FILE_NAME)}
    assert statuses == {CHECKOUT_FALLBACKS: "on for everyone", LOYALTY_DISCOUNT: "off for everyone"}


def test_the_admin_api_resets_data_only_when_asked_and_refuses_an_unknown_scope(lab: Lab) -> None:
    control = Path(lab.env["PURCHASE_CONTROL_DIR"])
    shoppers = fill_the_shop(lab, "rd-api")

    refused = admin(lab, "POST", "/reset?scope=everything")
    assert refused.status == 400
    assert "use scope=controls (flags and faults), scope=data" in refused.body["error"]["message"]
    assert shoppers[0].orders() != []

    reply = admin(lab, "POST", "/reset?scope=data")

    assert reply.status == 200
    assert reply.body["reset"][0].startswith("data: 1 cart, 3 orders")
    assert_empty(lab, shoppers)
    assert FaultStore(control).list_rules() != []
    FaultStore(control).reset()
    settle(lab)


def test_reset_data_with_no_redis_listening_says_so_and_what_to_do(lab: Lab) -> None:
    result = purchase(lab, "reset", "--data", PURCHASE_REDIS_PORT=str(free_port()))

    assert result.returncode == 1
    assert "purchase: the reset did not finish: the lab's Redis at redis://127.0.0.1:" in result.stderr
    assert "is the lab running? `purchase status`" in result.stderr
