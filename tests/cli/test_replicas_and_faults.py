"""`purchase up --replicas pricing=3`, the commands on one replica or all, and `purchase fault|scenario`."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from purchase_lab.health import wait_until
from purchase_lab.topology import REPLICA_PORT_STEP
from tests.cli.conftest import RunningLab, shut_down

pytestmark = pytest.mark.e2e

REPLICAS = ("pricing-1", "pricing-2", "pricing-3")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """`purchase up --replicas pricing=3`, shared by the module."""
    running = RunningLab(tmp_path_factory.mktemp("replicas-lab"), replicas={"pricing": 3})
    try:
        yield running.start()
    finally:
        shut_down(running)


@pytest.fixture(autouse=True)
def everything_running_and_no_faults(lab: RunningLab) -> Iterator[None]:
    """Each test starts with every process running; faults are cleared after it."""
    result = lab.purchase("start", "pricing")
    assert result.returncode == 0, result.stderr
    yield
    assert lab.purchase("fault", "clear").returncode == 0


def products(lab: RunningLab) -> tuple[int, str]:
    """The status of GET /api/v1/products through the gateway, and the error message on a failure."""
    url = f"http://127.0.0.1:{lab.ports['gateway']}/api/v1/products"
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, ""
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())["error"]["message"]


def products_status(lab: RunningLab) -> int:
    """The status of GET /api/v1/products through the gateway."""
    return products(lab)[0]


def failure_share(lab: RunningLab, calls: int) -> float:
    """The share of product listings that failed."""
    return sum(products_status(lab) != 200 for _ in range(calls)) / calls


def test_status_shows_every_replica_on_its_own_port(lab: RunningLab) -> None:
    status = lab.status()

    base = lab.ports["pricing"]
    for replica, name in enumerate(REPLICAS, start=1):
        process = status[name]
        assert (process["state"], process["healthy"]) == ("running", True)
        assert (process["service"], process["replica"]) == ("pricing", replica)
        assert process["address"] == f"127.0.0.1:{base + REPLICA_PORT_STEP * (replica - 1)}"
        assert f"pricing replica {replica} listening on" in lab.output()
    assert "pricing" not in status


def test_a_fault_on_one_replica_fails_about_a_third_of_the_calls(lab: RunningLab) -> None:
    added = lab.purchase("fault", "add", "pricing", "--replica", "2", "--error", "INTERNAL", "--description", "v2")
    assert added.returncode == 0, added.stderr
    assert "pricing replica 2, every method: INTERNAL" in added.stdout
    wait_until(lambda: products_status(lab) == 503, "the fault to reach pricing-2", timeout=2)

    share = failure_share(lab, 300)

    assert 0.25 <= share <= 0.42
    listed = lab.purchase("fault", "list").stdout
    assert "pricing replica 2" in listed
    assert "(v2)" in listed
    cleared = lab.purchase("fault", "clear", "pricing")
    assert cleared.stdout.startswith("removed 1 fault(s)")
    wait_until(lambda: failure_share(lab, 6) == 0, "the fault to be gone", timeout=2)


def test_a_killed_replica_leaves_the_others_serving(lab: RunningLab) -> None:
    killed = lab.purchase("kill", "pricing-2")
    assert killed.returncode == 0, killed.stderr

    status = lab.status()
    assert status["pricing-2"]["state"] == "exited(-9)"
    assert [status[name]["state"] for name in ("pricing-1", "pricing-3")] == ["running", "running"]
    assert failure_share(lab, 30) == 0


def test_stop_and_start_pricing_act_on_every_replica(lab: RunningLab) -> None:
    stopped = lab.purchase("stop", "pricing")
    assert stopped.stdout.splitlines() == [f"{name} stopped with code 0" for name in REPLICAS]
    assert products_status(lab) == 503

    started = lab.purchase("start", "pricing")

    assert [line.split()[:3] for line in started.stdout.splitlines()] == [[name, "is", "healthy"] for name in REPLICAS]
    wait_until(lambda: products_status(lab) == 200, "the gateway to use pricing again", timeout=3)


def test_a_rolling_restart_keeps_pricing_serving(lab: RunningLab) -> None:
    before = {name: lab.status()[name]["pid"] for name in REPLICAS}
    failures: list[tuple[int, str]] = []
    done = threading.Event()

    def shop() -> None:
        while not done.is_set():
            if (answer := products(lab))[0] != 200:
                failures.append(answer)

    shopper = threading.Thread(target=shop)
    shopper.start()
    try:
        restarted = lab.purchase("restart", "pricing")
    finally:
        done.set()
        shopper.join()

    assert restarted.returncode == 0, restarted.stderr
    assert all(lab.status()[name]["pid"] != pid for name, pid in before.items())
    assert failures == []


def test_an_unknown_replica_is_refused_with_the_names_there_are(lab: RunningLab) -> None:
    result = lab.purchase("kill", "pricing-7")

    assert result.returncode == 1
    assert "unknown process 'pricing-7'" in result.stderr
    assert "pricing-1, pricing-2, pricing-3" in result.stderr


def test_a_bad_rule_is_refused_with_every_problem(lab: RunningLab) -> None:
    result = lab.purchase("fault", "add", "pricing", "--error", "503", "--rate", "2")

    assert result.returncode == 2
    assert "error='503': HTTP codes are for the gateway" in result.stderr
    assert "rate='2' is out of range" in result.stderr
    assert lab.purchase("fault", "list").stdout.strip() == "no active faults"


def test_a_scenario_says_what_to_look_for(lab: RunningLab) -> None:
    names = lab.purchase("scenario", "list").stdout

    applied = lab.purchase("scenario", "bad-deploy", "--ttl", "30")

    assert all(name in names for name in ("email-down", "pricing-slow", "bad-deploy", "cart-crash"))
    assert applied.returncode == 0, applied.stderr
    assert "What to look for: Run three replicas" in applied.stdout
    assert "pricing replica 1, every method: INTERNAL" in lab.purchase("fault", "list").stdout


def test_up_refuses_replicas_of_what_cannot_have_them(new_lab: RunningLab) -> None:
    result = new_lab.purchase("up", "--replicas", "gateway=2")

    assert result.returncode == 2
    assert "'gateway' cannot run as replicas; choose one of cart, pricing, email" in result.stderr
