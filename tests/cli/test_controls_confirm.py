"""Controls that confirm: `purchase fault|flag|scenario|reset` return once every running process applied them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from purchase_lab import acks
from purchase_lab.cli import main
from tests.cli.conftest import ROOT, RunningLab, shut_down

pytestmark = pytest.mark.e2e

LOYALTY = "pricing.loyalty_discount"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """A lab whose gateway runs two workers: each must have applied a change before the command returns."""
    running = RunningLab(tmp_path_factory.mktemp("confirm-lab"))
    running.env["PURCHASE_GATEWAY_WORKERS"] = "2"
    try:
        yield running.start()
    finally:
        shut_down(running)


@pytest.fixture
def in_lab(lab: RunningLab, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningLab]:
    """`purchase` commands run in this process (cli.main) against the lab, which has no faults afterwards."""
    for name in ("PURCHASE_RUN_DIR", "PURCHASE_CONTROL_DIR"):
        monkeypatch.setenv(name, lab.env[name])
    yield lab
    assert lab.purchase("reset").returncode == 0


def products_status(lab: RunningLab) -> int:
    """The status of GET /api/v1/products, which asks pricing for the catalogue."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{lab.ports['gateway']}/api/v1/products", timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        with error:
            return error.code


def test_a_fault_added_is_seen_by_the_very_next_request_100_times_out_of_100(
    in_lab: RunningLab, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = []
    for _ in range(100):
        assert main(["fault", "add", "pricing", "--error", "UNAVAILABLE"]) == 0
        seen.append(products_status(in_lab))
        assert main(["fault", "clear"]) == 0
        seen.append(products_status(in_lab))

    assert seen == [503, 200] * 100
    confirmations = [line for line in capsys.readouterr().out.splitlines() if line.startswith("the change applied")]
    # pricing, cart, email and both gateway workers follow the rule file
    assert all(" by 5 running processes in " in line for line in confirmations), confirmations[:3]


def test_the_command_line_as_the_docs_write_it_sees_the_fault(lab: RunningLab) -> None:
    url = f"http://127.0.0.1:{lab.ports['gateway']}/api/v1/products"
    command = f"purchase fault add pricing --error UNAVAILABLE && curl -s -o /dev/null -w '%{{http_code}}' {url}"
    env = {**lab.env, "PATH": f"{ROOT / '.venv' / 'bin'}:{lab.env['PATH']}"}
    try:
        for _ in range(3):
            done = subprocess.run(
                ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
            )
            assert done.returncode == 0, done.stderr
            assert done.stdout.endswith("503"), done.stdout
            assert "the change applied by 5 running processes in" in done.stdout
            assert lab.purchase("fault", "clear").returncode == 0
    finally:
        lab.purchase("reset")


def test_a_flag_change_is_served_everywhere_when_the_command_returns(in_lab: RunningLab) -> None:
    result = in_lab.purchase("flag", "set", LOYALTY, "on")

    assert result.returncode == 0, result.stderr
    assert "the change applied by 3 running processes in" in result.stdout  # pricing and two gateway workers
    served = {ack.flags for ack in acks.running(in_lab.run_dir / "control") if ack.flags is not None}
    assert len(served) == 1


def test_no_wait_returns_without_waiting_and_says_so(in_lab: RunningLab) -> None:
    result = in_lab.purchase("scenario", "pricing-slow", "--no-wait")

    assert result.returncode == 0, result.stderr
    assert "not waiting for the running processes to apply it (--no-wait)" in result.stdout
    assert "applied by" not in result.stdout


def test_reset_waits_for_the_flags_and_the_faults(in_lab: RunningLab) -> None:
    assert in_lab.purchase("fault", "add", "cart", "--error", "INTERNAL").returncode == 0

    result = in_lab.purchase("reset")

    assert result.returncode == 0, result.stderr
    assert "the flags applied by 3 running processes in" in result.stdout
    assert "the faults applied by 5 running processes in" in result.stdout


def test_a_rule_for_a_replica_that_does_not_run_is_refused_naming_those_that_do(in_lab: RunningLab) -> None:
    result = in_lab.purchase("fault", "add", "pricing", "--replica", "2", "--error", "INTERNAL")

    assert result.returncode == 2
    assert "pricing replica 2 is not running; running replicas: 1" in result.stderr
    assert in_lab.purchase("fault", "list").stdout.strip() == "no active faults"
    assert in_lab.purchase("fault", "add", "pricing", "--replica", "1", "--error", "INTERNAL").returncode == 0


def test_a_process_that_does_not_apply_the_change_is_named_and_the_command_fails(in_lab: RunningLab) -> None:
    email = in_lab.status()["email"]["pid"]
    os.kill(email, signal.SIGSTOP)  # a hung process: alive, holding its ack, applying nothing
    try:
        result = in_lab.purchase("fault", "add", "cart", "--error", "INTERNAL")
    finally:
        os.kill(email, signal.SIGCONT)

    assert result.returncode == 3
    assert f"not applied after 5.0 s by: email-1 (pid {email})" in result.stderr


def cart_status(lab: RunningLab) -> int:
    """The status of GET /api/v1/cart, which asks cart for the user's cart."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{lab.ports['gateway']}/api/v1/cart", headers={"X-User-Id": "u-reconnect"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        with error:
            return error.code


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_the_first_call_after_a_dependency_starts_again_succeeds(lab: RunningLab, how: str) -> None:
    for _ in range(3):
        assert lab.purchase(how, "cart").returncode == 0
        down = [cart_status(lab) for _ in range(4)]  # both workers' channels see cart gone
        # Not waiting for readiness: letting the channels' reconnect backoff grow to its longest, as in a real outage.
        time.sleep(2.5)
        assert lab.purchase("start", "cart").returncode == 0

        first = cart_status(lab)

        assert down == [503] * 4
        assert first == 200


def admin(lab: RunningLab, method: str, path: str, body: object | None = None) -> tuple[int, dict]:
    """Call the lab's admin API with the token `purchase up` wrote; return the status and the JSON body."""
    token = (lab.run_dir / "admin-token").read_text(encoding="utf-8").strip()
    request = urllib.request.Request(
        f"http://127.0.0.1:{lab.ports['gateway']}/api/v1/admin{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_the_admin_api_answers_once_every_process_applied_the_change(in_lab: RunningLab) -> None:
    status, body = admin(in_lab, "POST", "/faults", {"service": "pricing", "error": "UNAVAILABLE"})

    assert status == 201, body
    assert (body["applied"]["acknowledged"], body["applied"]["processes"], body["applied"]["missing"]) == (True, 5, [])
    assert products_status(in_lab) == 503
    status, body = admin(in_lab, "PUT", f"/flags/{LOYALTY}", {"value": "on"})
    assert (status, body["applied"]["acknowledged"], body["applied"]["processes"]) == (200, True, 3)
    status, body = admin(in_lab, "POST", "/reset")
    assert status == 200
    assert body["applied"]["faults"]["acknowledged"] is True
    assert products_status(in_lab) == 200


def test_the_admin_api_refuses_a_rule_for_a_replica_that_does_not_run(in_lab: RunningLab) -> None:
    status, body = admin(in_lab, "POST", "/faults", {"service": "pricing", "replica": 3, "error": "INTERNAL"})

    assert status == 422
    assert body["error"]["problems"] == ["replica=3: pricing replica 3 is not running; running replicas: 1"]


def test_status_shows_the_flags_each_process_serves_and_that_they_agree(in_lab: RunningLab) -> None:
    assert in_lab.purchase("flag", "set", LOYALTY, "on").returncode == 0

    result = in_lab.purchase("status")
    listed = in_lab.purchase("status", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    processes = {process["name"]: process for process in json.loads(listed.stdout)["processes"]}
    version = processes["pricing"]["flags"]
    assert processes["gateway"]["flags"] == version
    assert processes["cart"]["flags"] is None
    assert f"flags: every process serves version {version}" in result.stdout
    assert json.loads(listed.stdout)["flags"]["agree"] is True
