"""The observability profile's files agree with the code: Prometheus scrapes each service where it serves
its metrics, and every metric the dashboard queries is one the lab exports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from purchase_lab.telemetry import setup_telemetry
from purchase_lab.telemetry.instrument import instrument_flask
from purchase_lab.telemetry.settings import DEFAULT_METRICS_PORTS

pytestmark = pytest.mark.unit

OBSERVABILITY = Path(__file__).resolve().parents[2] / "observability"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "purchase-lab.json"
DOCS = OBSERVABILITY.parent / "docs" / "observability.md"
# A metric name in PromQL is the identifier right before a label matcher or a range: name{...} or name[5m].
METRIC_IN_PROMQL = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]")


def exported_sample_names() -> set[str]:
    """Every sample name a gateway exports once each of our instruments and an HTTP route have recorded."""
    return set(exported_labels())


def exported_labels() -> dict[str, set[str]]:
    """The label names of each sample a gateway exports once each instrument and an HTTP route have recorded."""
    telemetry = setup_telemetry("gateway", {}, set_global=False)
    try:
        app = Flask(__name__)
        instrument_flask(app, telemetry)
        app.add_url_rule("/api/v1/checkout", "checkout", lambda: "", methods=["POST"])
        app.test_client().post("/api/v1/checkout")
        metrics = telemetry.metrics
        metrics.record_rpc("purchase.cart.v1.CartService", "GetCart", "OK", 0.001)
        with metrics.dependency_call("pricing", "GetAdjustment") as call:
            call.fallback()
        metrics.record_flag_evaluation("pricing.loyalty_discount", "on", "split")
        metrics.record_funnel("pricing.loyalty_discount", "on", "exposed")
        metrics.record_checkout("placed", fallbacks="on")
        metrics.record_fault("pricing", "server", "GetAdjustment", "UNAVAILABLE")
        metrics.observe_rollouts(lambda: {"pricing.loyalty_discount": 5})
        families = text_string_to_metric_families(telemetry.exposition().decode())
        labels: dict[str, set[str]] = {}
        for family in families:
            for sample in family.samples:
                labels.setdefault(sample.name, set()).update(sample.labels)
        return labels
    finally:
        telemetry.shutdown()


def documented_labels() -> dict[str, set[str]]:
    """The labels docs/observability.md's Labels table says each series carries besides service_name."""
    section = DOCS.read_text(encoding="utf-8").split("## Labels", 1)[1].split("\n## ", 1)[0]
    documented = {}
    for row in re.findall(r"^\| `([a-z_]+)`[^|]* \| (.*) \|$", section, flags=re.MULTILINE):
        name, cell = row
        # Values in parentheses are examples of a label's values, not labels.
        documented[name] = set(re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", cell)))
    return documented


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of the dashboard: panel targets, the template variable, annotations."""
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exprs += [variable["definition"] for variable in dashboard["templating"]["list"]]
    exprs += [annotation["expr"] for annotation in dashboard["annotations"]["list"] if "expr" in annotation]
    return exprs


def test_every_metric_the_dashboard_queries_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_sample_names()

    queried = {name for expr in dashboard_queries(dashboard) for name in METRIC_IN_PROMQL.findall(expr)}

    assert queried, "the dashboard should query metrics"
    assert sorted(queried - exported) == []


def test_the_docs_name_exactly_the_labels_each_series_carries() -> None:
    exported = exported_labels()
    documented = documented_labels()

    assert len(documented) >= 10
    for name, labels in documented.items():
        if name == "target_info":
            continue  # its labels are the resource's attributes, which OTEL_RESOURCE_ATTRIBUTES extends
        assert exported[name] - {"service_name"} == labels, name


def test_the_dashboard_shows_checkouts_fallbacks_and_the_funnel_against_the_ramp() -> None:
    exprs = " ".join(dashboard_queries(json.loads(DASHBOARD.read_text())))

    for metric in ("purchase_checkouts_total", "purchase_feature_funnel_total", "purchase_flag_rollout_percent"):
        assert metric in exprs
    assert "purchase_dependency_fallbacks_total" in exprs
    assert 'caller="relay"' in exprs


def test_prometheus_scrapes_every_service_on_its_metrics_port() -> None:
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())

    targets = {
        job["job_name"]: (sd["names"], sd["port"]) for job in config["scrape_configs"] for sd in job["dns_sd_configs"]
    }

    expected = {name: ([name], port) for name, port in DEFAULT_METRICS_PORTS.items()}
    assert targets == {**expected, "gateway": (["gateway"], 8080)}


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard_folder() -> None:
    provisioning = OBSERVABILITY / "grafana" / "provisioning"
    sources = yaml.safe_load((provisioning / "datasources" / "datasources.yml").read_text())["datasources"]
    providers = yaml.safe_load((provisioning / "dashboards" / "dashboards.yml").read_text())["providers"]

    assert {source["uid"]: source["url"] for source in sources} == {
        "prometheus": "http://prometheus:9090",
        "jaeger": "http://jaeger:16686",
    }
    assert providers[0]["options"]["path"] == "/var/lib/grafana/dashboards"
    used = {
        target["datasource"]["uid"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for target in panel.get("targets", [])
    }
    assert used == {"prometheus"}
