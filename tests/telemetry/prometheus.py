"""A real Prometheus for tests: Debian's binary, started on a free port with a config made from the shipped one."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from purchase_lab.health import wait_until
from purchase_lab.ports import free_port

SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "observability" / "prometheus.yml"
# Fast enough that a story of a minute or two gives every rate() plenty of samples.
SCRAPE_INTERVAL = "1s"
# Never through a proxy: Prometheus and the lab are on this host's loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PromQLError(RuntimeError):
    """Prometheus refused a query (it does not parse, or cannot be evaluated)."""


@dataclass(frozen=True)
class Series:
    """One series of an instant query's answer: its labels and value."""

    labels: dict[str, str]
    value: float


def binaries() -> tuple[str, str] | None:
    """The paths of prometheus and promtool, or None when either is missing."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    return (prometheus, promtool) if prometheus and promtool else None


def lab_config(targets: Mapping[str, str], shipped: Path = SHIPPED_CONFIG) -> dict[str, Any]:
    """The shipped config with each job scraping its lab target (host:port) every second instead of DNS names.

    Raises KeyError when the shipped config and the lab disagree on which jobs there are.
    """
    config = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    config["global"] = {**config.get("global", {}), "scrape_interval": SCRAPE_INTERVAL}
    config["global"]["evaluation_interval"] = SCRAPE_INTERVAL
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    if jobs != set(targets):
        raise KeyError(f"the shipped config scrapes {sorted(jobs)}, the lab runs {sorted(targets)}")
    for job in config["scrape_configs"]:
        job.pop("dns_sd_configs")
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


class Prometheus:
    """A Prometheus process scraping the given targets, with an HTTP API to query it."""

    def __init__(self, binary: str, config: dict[str, Any], directory: Path) -> None:
        self.port = free_port()
        self.config_path = directory / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log_path = directory / "prometheus.log"
        self._log = self.log_path.open("w", encoding="utf-8")
        self._process = subprocess.Popen(
            [
                binary,
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(self._ready, "prometheus", 30, alive=lambda: self._process.poll() is None)
        except (TimeoutError, RuntimeError):
            self.stop()
            raise

    @property
    def url(self) -> str:
        """Prometheus's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def _ready(self) -> bool:
        try:
            with _OPENER.open(f"{self.url}/-/ready", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        """GET an API path with params; its data, or PromQLError with Prometheus's own message."""
        query = urllib.parse.urlencode(params)
        try:
            with _OPENER.open(f"{self.url}/api/v1/{path}?{query}", timeout=10) as answer:
                reply = json.loads(answer.read())
        except urllib.error.HTTPError as error:
            with error:
                reply = json.loads(error.read() or b"{}")
        if reply.get("status") != "success":
            raise PromQLError(f"{reply.get('errorType')}: {reply.get('error')}")
        return reply["data"]

    def query(self, expr: str, at: float) -> list[Series]:
        """Evaluate expr at the Unix time at; raises PromQLError when Prometheus refuses it."""
        data = self.api("query", query=expr, time=f"{at:.3f}")
        if data["resultType"] == "scalar":
            return [Series({}, float(data["result"][1]))]
        return [Series(found["metric"], float(found["value"][1])) for found in data["result"]]

    def label_values(self, label: str, match: str) -> list[str]:
        """The values a label takes on the series match selects (Grafana's label_values())."""
        return self.api(f"label/{label}/values", **{"match[]": match})

    def wait_for(self, expr: str, what: str, timeout: float = 30) -> None:
        """Wait until expr returns at least one series now."""
        wait_until(lambda: bool(self.query(expr, time.time())), what, timeout)

    def stop(self) -> None:
        """Stop Prometheus and close its log."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()
