"""How `purchase up --replicas` lays out the processes, and which processes a command's SERVICE names."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from purchase_lab.cli.processes import process_name
from purchase_lab.cli.up import replica_counts
from purchase_lab.config import Settings
from purchase_lab.supervisor import Supervisor, SupervisorError
from purchase_lab.topology import lab_processes

pytestmark = pytest.mark.unit

SETTINGS = Settings.from_env({})


def test_three_pricing_replicas_get_consecutive_port_steps_and_their_numbers(tmp_path: Path) -> None:
    plan = {process.name: process for process in lab_processes(SETTINGS, tmp_path, {"pricing": 3})}

    assert list(plan) == ["redis", "cart", "pricing-1", "pricing-2", "pricing-3", "email", "gateway"]
    for replica, port in ((1, 50052), (2, 50152), (3, 50252)):
        spec = plan[f"pricing-{replica}"].spec
        assert spec.address == f"127.0.0.1:{port}"
        assert (spec.env["PURCHASE_REPLICA"], spec.env["PURCHASE_PRICING_PORT"]) == (str(replica), str(port))
    assert plan["gateway"].spec.env == {
        "PURCHASE_PRICING_TARGET": "ipv4:127.0.0.1:50052,127.0.0.1:50152,127.0.0.1:50252"
    }


def test_without_replicas_every_service_runs_once_under_its_own_name(tmp_path: Path) -> None:
    plan = lab_processes(SETTINGS, tmp_path)

    assert [(process.name, process.replica) for process in plan] == [
        (name, None) for name in ("redis", "cart", "pricing", "email", "gateway")
    ]
    assert plan[-1].spec.env == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gateway=2", "'gateway' cannot run as replicas; choose one of cart, pricing, email"),
        ("pricing=0", "pricing=0: give from 1 to 9 replicas"),
        ("pricing", "'pricing': write SERVICE=N, such as pricing=3"),
    ],
)
def test_replica_counts_that_cannot_run_are_refused(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        replica_counts(text)


def test_replica_counts_read_several_services() -> None:
    assert replica_counts("pricing=3, cart=2") == {"pricing": 3, "cart": 2}


def test_a_process_name_is_a_service_or_one_replica() -> None:
    assert (process_name("pricing"), process_name("pricing-2")) == ("pricing", "pricing-2")
    with pytest.raises(argparse.ArgumentTypeError, match="invalid choice: 'inventory'"):
        process_name("inventory")


def test_a_service_name_means_every_replica_and_a_replica_name_one(tmp_path: Path) -> None:
    supervisor = Supervisor(SETTINGS, tmp_path, replicas={"pricing": 3})

    assert supervisor.stop("pricing").splitlines() == [f"pricing-{n} is not running" for n in (1, 2, 3)]
    assert supervisor.kill("pricing-2") == "pricing-2 is not running"
    with pytest.raises(SupervisorError, match=r"unknown process 'pricing-4'; choose one of .*pricing-3"):
        supervisor.stop("pricing-4")


def test_replica_1_of_a_service_that_runs_once_is_that_process(tmp_path: Path) -> None:
    supervisor = Supervisor(SETTINGS, tmp_path)

    assert supervisor.stop("cart-1") == "cart is not running"
    with pytest.raises(SupervisorError, match="unknown process 'cart-2'"):
        supervisor.stop("cart-2")
