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

from prometheus_client import CollectorRegistry, start_http_server

from purchase_lab.telemetry.setup import Telemetry, negotiate

log = logging.getLogger(__name__)

WORKER_LABEL = "worker"
PEER_TIMEOUT_SECONDS = 1.0
OPENMETRICS_TYPE = "application/openmetrics-text"
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

    def scrape(self, accept: str | None = None) -> tuple[bytes, str]:
        """Every worker's metrics in one body, each series labelled with its worker, and its Content-Type.

        The format follows accept (see setup.negotiate); the peers are asked with the same header, so
        every body is in the same format and merges line by line, without parsing it.
        """
        encode, content_type = negotiate(accept)
        bodies = [(self.worker, encode(self._registry).decode()), *self._peer_bodies(accept)]
        return merge_expositions(bodies, openmetrics=content_type.startswith(OPENMETRICS_TYPE)), content_type

    def exposition(self) -> bytes:
        """Every worker's metrics in the classic text format."""
        return self.scrape()[0]

    def _peer_bodies(self, accept: str | None) -> Iterable[tuple[str, str]]:
        for listing in sorted(self.directory.glob("*.port")):
            worker = listing.stem
            if worker == self.worker:
                continue
            try:
                port = int(listing.read_text(encoding="ascii"))
                scrape = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept": accept or ""})
                with _OPENER.open(scrape, timeout=PEER_TIMEOUT_SECONDS) as answer:
                    yield worker, answer.read().decode()
            except FileNotFoundError:
                continue  # the worker left between the listing and the read
            except (OSError, ValueError) as error:
                if isinstance(getattr(error, "reason", None), ConnectionRefusedError):
                    listing.unlink(missing_ok=True)  # nobody listens: the worker was killed before unlisting
                    continue
                log.warning("metrics of gateway worker %s are missing from this scrape: %s", worker, error)


def merge_expositions(bodies: Sequence[tuple[str, str]], openmetrics: bool = False) -> bytes:
    """Merge (worker, body) expositions of one format into one, each family once, each sample with its worker.

    Text, not parsed families: a gateway's body holds thousands of samples, and parsing then
    writing them again costs a scrape a good part of a second on a busy machine.
    """
    families: dict[str, tuple[list[str], list[str]]] = {}
    for worker, body in bodies:
        current: list[str] = []
        for line in body.splitlines():
            if line.startswith("# "):
                directive = line.split(" ", 3)
                if len(directive) < 3:
                    continue  # "# EOF": written once, at the end
                headers, current = families.setdefault(directive[2], ([], []))
                if line not in headers:
                    headers.append(line)
            elif line:
                current.append(with_worker(line, worker))
    lines = [line for headers, samples in families.values() for line in (*headers, *samples)]
    return "".join(f"{line}\n" for line in (*lines, *(["# EOF"] if openmetrics else []))).encode()


def with_worker(sample: str, worker: str) -> str:
    """A sample line with the worker label added: `name{a="b"} 1` -> `name{worker="7",a="b"} 1`."""
    brace, space = sample.find("{"), sample.find(" ")
    if brace != -1 and brace < space:
        return f'{sample[: brace + 1]}{WORKER_LABEL}="{worker}",{sample[brace + 1 :]}'
    return f'{sample[:space]}{{{WORKER_LABEL}="{worker}"}}{sample[space:]}'
