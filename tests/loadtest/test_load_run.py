"""Bounded headless load runs (`python -m loadtest`) against the real lab, then the invariant check.

Each run is a few seconds of a handful of users on loopback: enough for every cohort to check out
several times, short enough for CI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtest.invariants import InvariantReport, Shop, check
from loadtest.journal import Record, read_records
from purchase_lab.faults import SCENARIOS, FaultStore
from purchase_lab.flags import CHECKOUT_FALLBACKS, LIVE_FILE_NAME, set_flag
from purchase_lab.health import http_ok, wait_until
from purchase_lab.lab_reset import reset_lab
from purchase_lab.ports import free_port
from purchase_lab.topology import SERVICES
from tests.conftest import Lab
from tests.integration.test_shop import Reply, Shopper

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COHORTS = {"returning", "first", "promo", "employee", "legacy"}
RUN_S = 4
_SCRIPT = Path(sys.executable).parent / "purchase"
# The installed entry point when there is one, so the tests cover it too.
PURCHASE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "purchase_lab.cli"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system, with deadlines long enough that a busy machine never degrades a checkout."""
    deadlines = {f"PURCHASE_{name}_DEADLINE_MS": "3000" for name in ("CART", "PRICING", "EMAIL")}
    system = Lab(tmp_path_factory.mktemp("load"), env=deadlines)
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture
def control_dir(lab: Lab) -> Iterator[Path]:
    """The lab's control directory; every test starts from, and leaves, committed flags and no faults."""
    directory = Path(lab.env["PURCHASE_CONTROL_DIR"])
    reset_lab(directory)
    yield directory
    reset_lab(directory)


@pytest.fixture
def shop(lab: Lab) -> Iterator[Shop]:
    """The shop as the invariant check reads it."""
    reader = Shop(lab.gateway_url, lab.target("email"), lab.redis_url)
    yield reader
    reader.close()


def run_load(lab: Lab, out: Path, *options: str, duration: float = RUN_S) -> dict[str, Any]:
    """Run `python -m loadtest` against the lab for `duration` seconds; return its summary."""
    command = [
        *(sys.executable, "-m", "loadtest", "--host", lab.gateway_url, "--out", str(out)),
        *("--control-dir", lab.env["PURCHASE_CONTROL_DIR"], "--duration", str(duration)),
        *("--users", "8", "--think-time", "0.05", *options),
    ]
    result = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **lab.env}, capture_output=True, text=True, timeout=duration + 60
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "summary.json").read_text())


def checkout_attempts(out: Path) -> list[Record]:
    """Every checkout attempt of the run."""
    return [record for record in read_records(out / "journal.jsonl") if record.is_checkout]


def probe_checkout(lab: Lab) -> Reply:
    """Check out one item as a user of its own (not part of any run)."""
    shopper = Shopper(lab, f"probe-{uuid.uuid4().hex[:8]}")
    assert shopper("POST", "/api/v1/cart/items", {"sku": "TEA-ASM-250", "quantity": 1}).status == 200
    return shopper("POST", "/api/v1/checkout", Idempotency_Key=uuid.uuid4().hex)


def email_down(control_dir: Path, lab: Lab, expect: str) -> None:
    """Make every email call fail, and wait until a checkout shows it: its email "queued", or this error code."""
    FaultStore(control_dir).add_rule(service="email", error="UNAVAILABLE", ttl_s=120)

    def checkout_sees_it() -> bool:
        reply = probe_checkout(lab)
        return expect in (reply.body.get("email"), reply.body.get("error", {}).get("code"))

    wait_until(checkout_sees_it, f"a checkout showing {expect} with email down", timeout=10)


def invariants(shop: Shop, out: Path) -> InvariantReport:
    """The invariant check on a finished run, failing the test with every violation."""
    result = check(read_records(out / "journal.jsonl"), shop, email_wait_s=20)
    assert result.ok, result.violations
    return result


def test_happy_path_has_no_failures_and_keeps_every_invariant(lab: Lab, control_dir: Path, shop: Shop, tmp_path: Path):
    summary = run_load(lab, tmp_path)

    assert summary["errors"] == []
    assert set(summary["requests"]["by_cohort"]) == COHORTS
    checkouts = summary["checkouts"]
    assert checkouts["placed"] == checkouts["checkouts"] > 0
    assert checkouts["degraded_share"] == 0
    assert checkouts["email"] == {"sent": checkouts["placed"]}
    written = {path.name for path in tmp_path.iterdir()}
    assert {"locust.html", "locust_stats.csv", "locust_failures.csv", "summary.md", "journal.jsonl"} <= written
    # The 1.x app never calls what it did not know.
    legacy = {r.endpoint for r in read_records(tmp_path / "journal.jsonl") if r.cohort == "legacy"}
    assert legacy
    assert not legacy & {"/api/v1/cart/promo", "/api/v1/cart/items/[sku]", "/api/v1/orders"}
    result = invariants(shop, tmp_path)
    assert result.counts["orders_told_placed"] == checkouts["placed"]
    assert result.counts["emails_delivered"] >= checkouts["placed"]


def test_email_down_with_fallbacks_every_checkout_succeeds_degraded(
    lab: Lab, control_dir: Path, shop: Shop, tmp_path: Path
):
    email_down(control_dir, lab, expect="queued")
    summary = run_load(lab, tmp_path)
    FaultStore(control_dir).clear("email")

    attempts = checkout_attempts(tmp_path)
    assert attempts
    assert all(record.ok for record in attempts), [r.kind for r in attempts if not r.ok]
    assert all(record.email == "queued" and "email:queued" in record.degraded for record in attempts)
    assert summary["checkouts"]["degraded_share"] == 1.0
    assert summary["errors"] == []
    # Once email is back, the relay delivers every queued email: the check waits for it.
    result = invariants(shop, tmp_path)
    assert result.counts["emails_delivered"] == result.counts["emails_expected"] >= len(attempts)


def test_email_down_with_fallbacks_off_cancels_every_order(lab: Lab, control_dir: Path, shop: Shop, tmp_path: Path):
    set_flag(CHECKOUT_FALLBACKS, "off", control_dir / LIVE_FILE_NAME)
    email_down(control_dir, lab, expect="order_cancelled")
    summary = run_load(lab, tmp_path)
    FaultStore(control_dir).clear("email")

    attempts = checkout_attempts(tmp_path)
    # The table's prediction: the order is placed, email fails, the order is cancelled, the user gets a 503.
    assert attempts
    assert {(r.status, r.error, r.dependency, r.order_status) for r in attempts} == {
        (503, "order_cancelled", "email", "cancelled")
    }
    assert summary["checkouts"]["placed"] == 0
    assert {error["endpoint"] for error in summary["errors"]} == {"/api/v1/checkout"}
    # Every cancelled order is stored as cancelled, and its items are back in the cart the client saw.
    result = invariants(shop, tmp_path)
    assert result.counts["orders_told_cancelled"] == len(attempts)
    assert result.counts["carts_checked"] == result.counts["users"]


def test_chaos_schedule_injects_clears_and_is_reported(lab: Lab, control_dir: Path, shop: Shop, tmp_path: Path):
    summary = run_load(lab, tmp_path, "--chaos", "soft", "--seed", "7", duration=6)

    events = summary["chaos"]["events"]
    assert events
    assert [event["action"] for event in events] == ["inject", "clear"] * (len(events) // 2)
    # Soft dependencies only: pricing and email, never cart.
    assert {rule["service"] for event in events for rule in SCENARIOS[event["scenario"]].rules} <= {"pricing", "email"}
    assert [w["faults"] for w in summary["chaos"]["windows"] if w["faults"]] == [[e["scenario"]] for e in events[::2]]
    assert FaultStore(control_dir).list_rules() == []
    assert "## Chaos" in (tmp_path / "summary.md").read_text()
    invariants(shop, tmp_path)


def test_purchase_load_ui_serves_locusts_web_ui_with_every_user_and_shape(lab: Lab, tmp_path: Path):
    port = free_port()
    command = [*PURCHASE, "load", "--ui", "--web-port", str(port)]
    with subprocess.Popen(
        command,
        cwd=tmp_path,
        env={**os.environ, **lab.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as ui:
        try:
            wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/"), "locust's web UI", timeout=30)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                page = answer.read().decode()
        finally:
            ui.send_signal(signal.SIGINT)
            output, _ = ui.communicate(timeout=30)

    assert all(name in page for name in ("Steady", "RampUp", "Spike", "ReturningCustomer", "LegacyAppClient")), output


def test_purchase_load_says_what_to_do_without_a_lab_and_starts_one_when_asked(tmp_path: Path):
    ports = {f"PURCHASE_{name.upper()}_PORT": str(free_port()) for name in SERVICES}
    env = {**os.environ, **ports, "PURCHASE_RUN_DIR": str(tmp_path / "run")}
    env.pop("PURCHASE_CONTROL_DIR", None)  # the lab's own, in its run dir
    # From another directory than the clone's, with nothing but ports and a run dir set.
    command = [*PURCHASE, "load", "--duration", "2", "--users", "2", "--think-time", "0.05"]

    refused = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    started = subprocess.run(
        [*command, "--start-lab"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )

    assert refused.returncode == 1
    assert "no gateway answers" in refused.stderr
    assert "--start-lab" in refused.stderr
    assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-3000:]
    assert "invariants hold" in started.stdout
    (report,) = (tmp_path / "run" / "load").iterdir()
    assert "everything stopped" in (report / "lab.log").read_text()
    assert "The invariants hold." in (report / "summary.md").read_text()
