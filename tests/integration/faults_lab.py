"""Helpers for the fault tests: a lab with an admin token, its fault store, shoppers, and a wait for rules.

A rule change is seen by a process when it logs `fault rules active: <ids>` (the watcher logs every change),
so `settle` waits on the processes themselves instead of sleeping for an assumed propagation time.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from purchase_lab.faults import FaultStore
from purchase_lab.health import wait_until
from tests.conftest import Lab
from tests.integration.test_shop import Reply, Shopper, call

ADMIN_TOKEN = "fault-tests-admin-token"
ACTIVE = re.compile(r"fault rules active: (.*)")
# Every process but Redis follows the rule file.
FOLLOWERS = ("cart", "pricing", "email", "gateway")


def start_lab(directory: Path, **replicas: int) -> Iterator[Lab]:
    """The whole system with the admin token set (and replicas when asked), stopped afterwards."""
    lab = Lab(directory, env={"PURCHASE_ADMIN_TOKEN": ADMIN_TOKEN}, replicas=replicas)
    try:
        yield lab.start()
    finally:
        lab.stop()


def store(lab: Lab) -> FaultStore:
    """The lab's fault rules, as `purchase fault` edits them."""
    return FaultStore(Path(lab.env["PURCHASE_CONTROL_DIR"]))


def settle(lab: Lab, timeout: float = 3.0) -> None:
    """Wait until every running process of the lab follows the rules now in the file."""
    expected = ", ".join(rule.id for rule in store(lab).list_rules()) or "none"
    followers = [name for name in lab.processes if name.split("-")[0] in FOLLOWERS and lab.processes[name].running]

    def followed() -> bool:
        return all(_last_active(lab.logs(name)) == expected for name in followers)

    wait_until(followed, f"every process following the fault rules ({expected})", timeout)


def _last_active(log: str) -> str:
    found = ACTIVE.findall(log)
    return found[-1].strip() if found else "none"


def add(lab: Lab, **fields: object) -> str:
    """Add a rule and wait until every process follows it; return its id."""
    rule = store(lab).add_rule(**fields)
    settle(lab)
    return rule.id


def clear(lab: Lab) -> None:
    """Remove every rule and wait until every process has dropped them."""
    store(lab).reset()
    settle(lab)


def get(lab: Lab, path: str, user: str | None = None) -> Reply:
    """GET a gateway path, as a user when one is named."""
    return call(lab, "GET", path, **({"X_User_Id": user} if user else {}))


def admin(lab: Lab, method: str, path: str, body: object = None, token: str | None = ADMIN_TOKEN) -> Reply:
    """Call the admin API, with the lab's admin token unless told otherwise."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return call(lab, method, f"/api/v1/admin{path}", body, **headers)


def timed(action) -> tuple[float, Reply]:
    """Seconds an action took, and its reply."""
    began = time.monotonic()
    reply = action()
    return time.monotonic() - began, reply


def failure_share(lab: Lab, path: str, calls: int) -> float:
    """The share of `calls` GETs of path that did not answer 200."""
    return sum(get(lab, path).status != 200 for _ in range(calls)) / calls


def new_shopper(lab: Lab) -> Shopper:
    """A user no other test uses."""
    return Shopper(lab, f"u-{uuid.uuid4().hex[:12]}")


def returning_shopper(lab: Lab, sku: str = "COF-ETH-250") -> Shopper:
    """A user with one order placed already (so not eligible for a discount) and an item in the cart."""
    shopper = new_shopper(lab)
    assert shopper.add(sku).status == 200
    assert shopper.checkout(f"first-{shopper.user_id}").status == 201
    assert shopper.add(sku).status == 200
    return shopper
