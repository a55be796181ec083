"""Recovery follows the restart: a dependency killed and started again closes its breaker within a second of
being healthy, though the breaker's open time is far longer (the open time bounds a dependency that stays down).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from purchase_lab.health import wait_until
from tests.conftest import Lab
from tests.integration.conftest import restore
from tests.integration.test_checkout import shopper_with_cart
from tests.integration.test_checkout_breaker import breaker

pytestmark = pytest.mark.integration

FAILURES_TO_OPEN = 3
# Far longer than the test waits: only the health watch can half-open the breaker in time.
OPEN_S = 60
# The target is 1 s; the rest is slack for a shared machine (poll interval, a busy worker).
RECOVERY_S = 1.5


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system with breakers that open at the third failure and would stay open for a minute."""
    env = {
        "PURCHASE_CART_DEADLINE_MS": "2000",
        "PURCHASE_EMAIL_DEADLINE_MS": "1000",
        "PURCHASE_PRICING_DEADLINE_MS": "1000",
        "PURCHASE_CHECKOUT_BUDGET_MS": "5000",
        "PURCHASE_BREAKER_FAILURES": str(FAILURES_TO_OPEN),
        "PURCHASE_BREAKER_OPEN_MS": str(OPEN_S * 1000),
    }
    system = Lab(tmp_path_factory.mktemp("recovery"), env=env)
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture(autouse=True)
def lab_as_committed(lab: Lab, flags_path: Path) -> Iterator[None]:
    """Every test leaves every process running."""
    yield
    restore(lab)


@pytest.mark.parametrize("service", ["pricing", "email"])
def test_a_restarted_dependency_is_used_within_a_second_of_being_healthy(lab: Lab, service: str) -> None:
    shoppers = [shopper_with_cart(lab, eligible=False) for _ in range(FAILURES_TO_OPEN + 1)]
    lab.processes[service].kill()
    for shopper in shoppers:
        shopper.checkout("k")
    assert breaker(lab, service)["state"] == "open"

    lab.start(service)  # returns once the service answers its health check
    healthy = time.monotonic()
    wait_until(lambda: breaker(lab, service)["state"] != "open", f"the {service} breaker half open", RECOVERY_S)
    placed = shopper_with_cart(lab, eligible=False).checkout("k")

    assert time.monotonic() - healthy < OPEN_S / 2
    assert (placed.status, placed.body["degraded"]) == (201, [])
    assert breaker(lab, service)["state"] == "closed"
