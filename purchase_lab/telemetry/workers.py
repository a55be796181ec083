"""The gateway's /metrics across its gunicorn workers: whichever worker Prometheus reaches answers for all.

Each worker keeps its metrics in its own memory. Served as is, /metrics would show the worker that
happened to take the scrape, a different one each time. So each worker also serves its metrics on a
private loopback port, listed in a directory the workers share, and /metrics gathers every
worker's, each series labelled `worker="<pid>"`. Counters stay per worker: when one restarts, its
series starts again from zero, which Prometheus's rate() takes as a reset, as it should.

(prometheus_client's multiprocess mode does this for its own metric classes, but not for the
OpenTelemetry SDK's, whose state lives in each worker's memory.)
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from purchase_lab.telemetry.setup import Encoder, Telemetry

log = logging.getLogger(__name__)

WORKER_LABEL = "worker"
PEER_TIMEOUT_SECONDS = 1.0
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
# Never through a proxy: the peers are on this host's loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def workers_directory(master_pid: int) -> Path:
    """Where the workers of the gunicorn master master_pid list their private ports."""
    return Path(tempfile.gettempdir()) / f"purchase-gateway-{master_pid}-metrics"


def remove_workers_directory(master_pid: int) -> None:
    """Remove the listing when the master exits (gunicorn's on_exit hook)."""
    shutil.rmtree(workers_directory(master_pid), ignore_errors=True)


def start_worker_metrics(telemetry: Telemetry) -> WorkerMetrics | None:
    """In a gunicorn worker: list this worker's metrics for the others; None when telemetry is off.

    telemetry.shutdown() (gunicorn's worker_exit hook) unlists it again.
    """
    if telemetry.registry is None:
        return None
    worker = WorkerMetrics(workers_directory(os.getppid()), telemetry.registry).start()
    telemetry.on_shutdown(worker.stop)
    return worker


class WorkerMetrics:
    """One worker's share of the gateway's /metrics: its private endpoint, and the gathering of all."""

    def __init__(self, directory: Path, registry: CollectorRegistry, worker: str | None = None) -> None:
        self.directory = directory
        self.worker = worker or str(os.getpid())
        self._registry = registry
        self._server = None
        self._listing = directory / f"{self.worker}.port"

    def start(self) -> WorkerMetrics:
        """Serve this worker's metrics on a free loopback port and list it for the other workers."""
        self._server, _thread = start_http_server(0, addr="127.0.0.1", registry=self._registry)
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self._listing.with_suffix(".tmp")
        partial.write_text(str(self._server.server_port), encoding="ascii")
        partial.replace(self._listing)
        return self

    def stop(self) -> None:
        """Unlist this worker and stop its endpoint (gunicorn's worker_exit hook)."""
        self._listing.unlink(missing_ok=True)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def exposition(self, encode: Encoder = generate_latest) -> bytes:
        """Every worker's metrics in one body, each series labelled with its worker.

        Workers read each other in OpenMetrics, which keeps every family's type (target_info is an info);
        encode (see setup.negotiate) writes the merged body in the format the scrape asked for.
        """
        own = list(text_string_to_metric_families(openmetrics.generate_latest(self._registry).decode()))
        return encode(_Families(merge_families([(self.worker, own), *self._peer_families()])))

    def _peer_families(self) -> Iterable[tuple[str, list[Metric]]]:
        for listing in sorted(self.directory.glob("*.port")):
            worker = listing.stem
            if worker == self.worker:
                continue
            try:
                port = int(listing.read_text(encoding="ascii"))
                scrape = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept": OPENMETRICS})
                with _OPENER.open(scrape, timeout=PEER_TIMEOUT_SECONDS) as answer:
                    yield worker, list(text_string_to_metric_families(answer.read().decode()))
            except FileNotFoundError:
                continue  # the worker left between the listing and the read
            except (OSError, ValueError) as error:
                if isinstance(getattr(error, "reason", None), ConnectionRefusedError):
                    listing.unlink(missing_ok=True)  # nobody listens: the worker was killed before unlisting
                    continue
                log.warning("metrics of gateway worker %s are missing from this scrape: %s", worker, error)


def merge_families(workers: Sequence[tuple[str, Sequence[Metric]]]) -> list[Metric]:
    """Merge each worker's families by name, adding the worker label to every sample."""
    families: dict[str, Metric] = {}
    for worker, parsed in workers:
        for family in parsed:
            merged = families.get(family.name)
            if merged is None:
                merged = families[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
            merged.samples.extend(
                sample._replace(labels={**sample.labels, WORKER_LABEL: worker}) for sample in family.samples
            )
    return list(families.values())


class _Families:
    """Ready-made families, in the shape generate_latest collects from."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families
