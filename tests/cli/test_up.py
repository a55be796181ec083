"""`purchase up` starts the whole lab, stops all of it on SIGTERM or Ctrl-C, and fails clearly."""

from __future__ import annotations

import re
import signal
import socket

import pytest

from purchase_lab.supervisor import port_in_use
from purchase_lab.topology import SERVICES
from tests.cli.conftest import RunningLab, gone

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_every_process_and_leaves_none_behind(new_lab: RunningLab, signum: int) -> None:
    new_lab.start()
    children = new_lab.descendants()
    pids = {process["pid"] for process in new_lab.status().values()}
    assert pids <= {child.pid for child in children}

    code = new_lab.stop(signum)

    assert code == 0, new_lab.output()
    assert [child.pid for child in children if not gone(child)] == []
    lines = new_lab.output().splitlines()
    order = [match[1] for line in lines if (match := re.fullmatch(r"purchase \| stopping (\w+) \(SIGTERM\)", line))]
    assert order == ["gateway", "email", "pricing", "cart", "redis"]
    assert lines[-1] == "purchase | everything stopped"


def test_up_refuses_a_port_in_use_and_stops_what_it_started(new_lab: RunningLab) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", new_lab.ports["gateway"]))
        squatter.listen()
        code = new_lab.launch().wait(60)

    output = new_lab.output()
    assert code == 1, output
    assert f"port {new_lab.ports['gateway']} is in use" in output
    assert "PURCHASE_GATEWAY_PORT" in output
    assert output.splitlines()[-1] == "purchase | everything stopped"
    assert [name for name in SERVICES if port_in_use("127.0.0.1", new_lab.ports[name])] == []


def test_status_without_a_lab_says_to_run_purchase_up(new_lab: RunningLab) -> None:
    result = new_lab.purchase("status")

    assert result.returncode == 1
    assert "no lab is running" in result.stderr
    assert "purchase up" in result.stderr


def test_an_unknown_service_is_refused_with_the_valid_names(new_lab: RunningLab) -> None:
    result = new_lab.purchase("kill", "inventory")

    assert result.returncode == 2
    assert "invalid choice: 'inventory'" in result.stderr
    for name in SERVICES:
        assert name in result.stderr


def test_a_bad_port_setting_is_refused_naming_the_variable(new_lab: RunningLab) -> None:
    new_lab.env["PURCHASE_CART_PORT"] = "fifty"

    result = new_lab.purchase("up")

    assert result.returncode == 2
    assert "PURCHASE_CART_PORT='fifty' is not a whole number" in result.stderr
