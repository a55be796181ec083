"""Deploys against a real lab (`purchase up --replicas pricing=3`) with checkouts running all the while.

One lab serves the module, so the tests run in order: rolling to 1.2, a canary of 1.1 caught, blue-green
to 1.0 and a rollback to 1.2, a canary with too little traffic, and Ctrl-C in the middle of a deploy.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from purchase_lab.health import wait_until
from purchase_lab.shoppers import CheckoutTally, Shoppers
from tests.cli.conftest import PURCHASE, ROOT, RunningLab, shut_down

pytestmark = pytest.mark.integration

STARTUP_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """A lab with three pricing replicas."""
    running = RunningLab(tmp_path_factory.mktemp("deploy-lab"), {"pricing": 3})
    running.launch()
    try:
        # Seven processes on a machine that may be busy: wait on health, for longer than a one-process lab.
        wait_until(running.all_healthy, "purchase up --replicas pricing=3", STARTUP_TIMEOUT, running.supervising)
        yield running
    finally:
        shut_down(running)


def gateway(lab: RunningLab) -> str:
    return f"http://127.0.0.1:{lab.ports['gateway']}"


def pricing_releases(lab: RunningLab) -> dict[str, str]:
    """Each pricing process's release, from `purchase status --json`."""
    return {name: status["release"] for name, status in lab.status().items() if status["service"] == "pricing"}


def under_traffic(lab: RunningLab, *args: str) -> tuple[subprocess.CompletedProcess[str], CheckoutTally]:
    """Run one `purchase` command while shoppers check out; return its result and what the shoppers saw."""
    with Shoppers(gateway(lab), workers=2, max_seconds=240) as shoppers:
        shoppers.wait_for(10)
        result = subprocess.run(
            [*PURCHASE, *args], cwd=ROOT, env=lab.env, capture_output=True, text=True, timeout=240, check=False
        )
        shoppers.wait_for(10)
    return result, shoppers.tally


def test_a_rolling_deploy_moves_every_replica_with_no_failed_checkout(lab: RunningLab) -> None:
    result, tally = under_traffic(lab, "deploy", "pricing", "1.2", "--strategy", "rolling", "--window", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pricing-2: leaving rotation (health NOT_SERVING)" in result.stdout
    assert "gate passed: error rate" in result.stdout
    assert set(pricing_releases(lab).values()) == {"1.2"}
    assert tally.failed == []
    assert tally.placed > 20


def test_a_canary_of_the_bad_release_is_caught_and_aborted(lab: RunningLab) -> None:
    result, tally = under_traffic(lab, "deploy", "pricing", "1.1", "--strategy", "canary", "--window", "20")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "canary aborted: gate failed: error rate 1.1 (pricing-4)" in result.stderr
    assert "traffic is back on 1.2" in result.stderr
    assert pricing_releases(lab) == {"pricing-1": "1.2", "pricing-2": "1.2", "pricing-3": "1.2"}
    state = json.loads(lab.purchase("deploy", "status", "--json").stdout)
    assert state["phase"] == "failed"
    assert state["gate"]["verdict"] == "fail"
    assert state["gate"]["candidate"]["errors"] > 0
    # The canary's share of checkouts owed a discount failed while it was judged; the rest never saw it.
    assert 0 < len(tally.failed) < tally.total / 4


def test_blue_green_then_rollback_switch_without_a_failed_checkout(lab: RunningLab) -> None:
    result, tally = under_traffic(lab, "deploy", "pricing", "1.0", "--strategy", "blue-green", "--keep-old", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    releases = pricing_releases(lab)
    assert sorted(releases.values()) == ["1.0", "1.0", "1.0", "1.2", "1.2", "1.2"]  # the old set stands by
    assert "switched pricing traffic to" in result.stdout
    assert tally.failed == []

    result, tally = under_traffic(lab, "rollback", "pricing")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "switching pricing back to the standby replicas on 1.2" in result.stdout
    assert pricing_releases(lab) == {"pricing-1": "1.2", "pricing-2": "1.2", "pricing-3": "1.2"}
    assert tally.failed == []


def test_a_gate_with_too_little_traffic_fails_and_says_so(lab: RunningLab) -> None:
    result = lab.purchase("deploy", "pricing", "1.0", "--strategy", "canary", "--window", "1", "--min-calls", "50")
    assert result.returncode == 1
    assert "too little traffic: the 1.0 (pricing-4) served 0 calls" in result.stderr
    assert "50 each are needed to judge" in result.stderr
    assert set(pricing_releases(lab).values()) == {"1.2"}
    assert len(pricing_releases(lab)) == 3


def test_ctrl_c_mid_deploy_leaves_the_lab_consistent_and_says_how_to_go_on(lab: RunningLab, tmp_path: Path) -> None:
    state_path = lab.run_dir / "deploy" / "state.json"
    with Shoppers(gateway(lab), workers=2, max_seconds=240) as shoppers:
        deploy = subprocess.Popen(
            [*PURCHASE, "deploy", "pricing", "1.0", "--window", "60"],
            cwd=ROOT,
            env=lab.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        def measuring() -> bool:
            state = json.loads(state_path.read_text(encoding="utf-8"))
            this_deploy = state["strategy"] == "rolling" and state["phase"] == "running"
            return this_deploy and any("gate: measuring" in event["message"] for event in state["events"])

        wait_until(measuring, "the deploy's first gate", 120, lambda: deploy.poll() is None)
        began = time.monotonic()
        deploy.send_signal(signal.SIGINT)
        out, err = deploy.communicate(timeout=120)
        shoppers.wait_for(5)
    assert deploy.returncode == 130, out + err
    assert time.monotonic() - began < 60  # it did not wait out the window
    assert "stopped on request" in err
    assert "Resume: purchase deploy pricing 1.0 --strategy rolling; roll back: purchase rollback pricing" in err
    assert pricing_releases(lab) == {"pricing-1": "1.2", "pricing-2": "1.2", "pricing-3": "1.2"}
    assert json.loads(state_path.read_text(encoding="utf-8"))["phase"] == "interrupted"
    assert lab.all_healthy()
    assert shoppers.tally.failed == []


def test_the_gateway_is_redeployed_with_no_failed_checkout(lab: RunningLab) -> None:
    before = lab.status()["gateway"]["pid"]
    result, tally = under_traffic(lab, "deploy", "gateway", "1.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "workers replaced on 1.0" in result.stdout
    assert lab.status()["gateway"]["pid"] == before  # the arbiter and its socket stayed; only workers changed
    assert tally.failed == []

    refused = lab.purchase("deploy", "gateway", "1.0", "--strategy", "canary")
    assert refused.returncode == 1
    assert "can only be redeployed on it, rolling" in refused.stderr
