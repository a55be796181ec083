"""`purchase status|stop|start|kill|restart` against a running lab, and what `purchase up` prints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from purchase_lab.health import wait_until
from purchase_lab.topology import SERVICES
from tests.cli.conftest import RunningLab

pytestmark = pytest.mark.e2e


def gateway_healthz(lab: RunningLab) -> int:
    """The status of the gateway's GET /healthz."""
    with urllib.request.urlopen(f"http://127.0.0.1:{lab.ports['gateway']}/healthz", timeout=5) as reply:
        return reply.status


def test_status_shows_every_process_running_and_healthy(healthy_lab: RunningLab) -> None:
    result = healthy_lab.purchase("status")

    assert result.returncode == 0, result.stderr
    for name in SERVICES:
        line = next(line for line in result.stdout.splitlines() if line.startswith(f"{name} "))
        assert line.split()[1:2] == ["running"]
        assert "healthy" in line.split()
        assert str(healthy_lab.ports[name]) in line


def test_up_prints_where_everything_listens(healthy_lab: RunningLab) -> None:
    output = healthy_lab.output()

    assert f"gateway  http://127.0.0.1:{healthy_lab.ports['gateway']}" in output
    for name in ("cart", "pricing", "email"):
        assert f"{name:<8} 127.0.0.1:{healthy_lab.ports[name]}" in output
    assert f"redis    redis://127.0.0.1:{healthy_lab.ports['redis']}" in output


def test_the_admin_token_is_in_a_file_only_its_user_reads_and_never_in_the_output(healthy_lab: RunningLab) -> None:
    token_file = healthy_lab.run_dir / "admin-token"
    token = token_file.read_text(encoding="utf-8").strip()

    assert token_file.stat().st_mode & 0o777 == 0o600
    assert len(token) >= 16
    assert token not in healthy_lab.output()
    assert f"$(cat {token_file})" in healthy_lab.output()


def test_every_process_output_is_prefixed_with_its_name(healthy_lab: RunningLab) -> None:
    lines = healthy_lab.output().splitlines()

    for name in SERVICES:
        assert any(line.startswith(f"{name:<9}| ") for line in lines), f"no line from {name}"
    assert any(line.startswith("purchase | gateway is healthy") for line in lines)


def test_a_second_up_says_a_lab_is_running_and_fails(healthy_lab: RunningLab) -> None:
    result = healthy_lab.purchase("up")

    assert result.returncode == 1
    assert "already running" in result.stderr


def test_kill_pricing_leaves_the_gateway_up_until_pricing_starts_again(healthy_lab: RunningLab) -> None:
    killed = healthy_lab.purchase("kill", "pricing")
    assert killed.returncode == 0, killed.stderr
    status = healthy_lab.status()
    assert status["pricing"]["state"] == "exited(-9)"
    assert status["pricing"]["healthy"] is False
    assert status["gateway"]["state"] == "running"
    assert status["gateway"]["healthy"] is True
    assert gateway_healthz(healthy_lab) == 200
    assert healthy_lab.purchase("status").returncode == 3

    started = healthy_lab.purchase("start", "pricing")

    assert started.returncode == 0, started.stderr
    assert "pricing is healthy" in started.stdout
    assert healthy_lab.status()["pricing"]["healthy"] is True


def test_stop_is_graceful_and_restart_brings_the_service_back(healthy_lab: RunningLab) -> None:
    stopped = healthy_lab.purchase("stop", "email")
    assert stopped.returncode == 0, stopped.stderr
    email = healthy_lab.status()["email"]
    assert (email["state"], email["pid"], email["healthy"]) == ("stopped", None, False)
    assert "purchase | email stopped with code 0" in healthy_lab.output()

    healthy_lab.purchase("start", "email")
    old_pid = healthy_lab.status()["email"]["pid"]
    restarted = healthy_lab.purchase("restart", "email")

    assert restarted.returncode == 0, restarted.stderr
    email = healthy_lab.status()["email"]
    assert (email["state"], email["healthy"]) == ("running", True)
    assert email["pid"] != old_pid


def test_a_process_that_dies_on_its_own_is_reported_and_stays_down(healthy_lab: RunningLab) -> None:
    os.kill(healthy_lab.status()["cart"]["pid"], signal.SIGKILL)

    reported = "purchase | warning: cart exited with code -9 (SIGKILL)"
    wait_until(lambda: reported in healthy_lab.output(), "the supervisor's report of cart's exit", 10)
    assert healthy_lab.status()["cart"]["state"] == "exited(-9)"


def test_starting_a_running_service_says_so(healthy_lab: RunningLab) -> None:
    result = healthy_lab.purchase("start", "redis")

    assert result.returncode == 0, result.stderr
    assert "redis is already running" in result.stdout


def test_the_container_healthcheck_asks_each_real_health_protocol(healthy_lab: RunningLab) -> None:
    def healthcheck(*args: str) -> int:
        command = [sys.executable, "-m", "purchase_lab.healthcheck", *args]
        return subprocess.run(command, capture_output=True, timeout=30, check=False).returncode

    gateway = f"http://127.0.0.1:{healthy_lab.ports['gateway']}/healthz"
    assert healthcheck("grpc", f"127.0.0.1:{healthy_lab.ports['email']}") == 0
    assert healthcheck("http", gateway) == 0

    healthy_lab.purchase("stop", "email")

    assert healthcheck("grpc", f"127.0.0.1:{healthy_lab.ports['email']}") == 1
    assert healthcheck("grpc", f"127.0.0.1:{healthy_lab.ports['redis']}") == 1  # not a gRPC server
    assert healthcheck("http", gateway.replace("/healthz", "/no-such-page")) == 1


def test_the_container_healthcheck_of_a_redis_user_follows_redis(healthy_lab: RunningLab) -> None:
    cart = f"127.0.0.1:{healthy_lab.ports['cart']}"
    redis_url = f"redis://127.0.0.1:{healthy_lab.ports['redis']}/0"

    def healthcheck(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "purchase_lab.healthcheck", "grpc", cart, *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)

    assert healthcheck("--redis", redis_url).returncode == 0

    healthy_lab.purchase("stop", "redis")

    # cart's gRPC health alone still says SERVING: the reason compose asks for its Redis too.
    assert healthcheck().returncode == 0
    refused = healthcheck("--redis", redis_url)
    assert refused.returncode == 1
    assert f"its Redis at {redis_url} does not answer" in refused.stderr
