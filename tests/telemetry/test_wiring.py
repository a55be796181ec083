"""The settings that wire telemetry into the lab: metrics ports per process and replica, and the log format."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from purchase_lab.config import ConfigError, MetricsPorts, Settings
from purchase_lab.logs import configure_logging
from purchase_lab.topology import lab_processes

pytestmark = pytest.mark.unit


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Put the root logger back as it was after a test configures it."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:], level = saved
    root.setLevel(level)


def test_each_replica_serves_its_metrics_a_replica_step_above_the_services_metrics_port(tmp_path: Path) -> None:
    settings = Settings.from_env({"PURCHASE_PRICING_METRICS_PORT": "9000"})

    plan = {process.name: process.spec.env for process in lab_processes(settings, tmp_path, {"pricing": 3})}

    ports = [plan[f"pricing-{replica}"]["PURCHASE_PRICING_METRICS_PORT"] for replica in (1, 2, 3)]
    assert ports == ["9000", "9100", "9200"]
    assert "PURCHASE_CART_METRICS_PORT" not in plan["cart"]  # one process: the configured port, as is


def test_replicas_of_a_service_without_a_metrics_endpoint_get_none(tmp_path: Path) -> None:
    settings = Settings.from_env({"PURCHASE_PRICING_METRICS_PORT": "0"})

    plan = {process.name: process.spec.env for process in lab_processes(settings, tmp_path, {"pricing": 2})}

    assert "PURCHASE_PRICING_METRICS_PORT" not in plan["pricing-2"]


def test_metrics_ports_default_to_one_per_grpc_service_and_none_elsewhere() -> None:
    ports = Settings.from_env({}).metrics_ports

    assert ports == MetricsPorts(cart=9461, pricing=9462, email=9463)
    assert (ports.of("pricing"), ports.of("gateway"), ports.of("redis")) == (9462, 0, 0)


def test_an_unknown_log_format_names_the_variable_and_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"PURCHASE_LOG_FORMAT='xml'; use text or json"):
        Settings.from_env({"PURCHASE_LOG_FORMAT": "xml"})


@pytest.mark.usefixtures("root_logging")
def test_json_logging_writes_one_object_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("pricing", "INFO", Settings.from_env({"PURCHASE_LOG_FORMAT": "JSON"}).log_format)
    logging.getLogger("services.pricing").info("priced %d items", 3)

    entry = json.loads(capsys.readouterr().err)
    assert (entry["service"], entry["message"]) == ("pricing", "priced 3 items")


@pytest.mark.usefixtures("root_logging")
def test_text_logging_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("pricing", "INFO", Settings.from_env({}).log_format)
    logging.getLogger("services.pricing").info("priced %d items", 3)

    assert capsys.readouterr().err == "INFO pricing services.pricing: priced 3 items\n"
