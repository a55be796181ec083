"""Read what each replica served from its own Prometheus endpoint, and turn two readings into a cohort."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from purchase_lab.analysis import Cohort

# purchase.rpc.server.duration as the Prometheus exporter names it.
RPC_FAMILY = "purchase_rpc_server_duration_seconds"
# Status codes that say the server failed; contract answers (NOT_FOUND, INVALID_ARGUMENT, ...) are not failures.
SERVER_ERRORS = frozenset(
    {"UNKNOWN", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "DATA_LOSS", "RESOURCE_EXHAUSTED", "UNIMPLEMENTED"}
)


@dataclass(frozen=True)
class Reading:
    """A replica's counters at one moment: calls served, failed calls, total seconds."""

    calls: float = 0
    errors: float = 0
    seconds: float = 0

    def __sub__(self, earlier: Reading) -> Reading:
        return Reading(self.calls - earlier.calls, self.errors - earlier.errors, self.seconds - earlier.seconds)

    def __add__(self, other: Reading) -> Reading:
        return Reading(self.calls + other.calls, self.errors + other.errors, self.seconds + other.seconds)


class MetricsUnreadable(RuntimeError):
    """A replica's /metrics could not be read."""


def read_replica(metrics_port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> Reading:
    """The RED counters a replica reports now, summed over its methods."""
    url = f"http://{host}:{metrics_port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            text = reply.read().decode()
    except (urllib.error.URLError, OSError) as error:
        raise MetricsUnreadable(f"cannot read {url} ({error}); is the replica running with telemetry on?") from None
    return parse_reading(text)


def parse_reading(text: str) -> Reading:
    """Sum the RPC duration histogram's count and sum in a Prometheus text exposition."""
    calls = errors = seconds = 0.0
    for family in text_string_to_metric_families(text):
        if family.name != RPC_FAMILY:
            continue
        for sample in family.samples:
            if sample.name == f"{RPC_FAMILY}_count":
                calls += sample.value
                if sample.labels.get("rpc_response_status_code") in SERVER_ERRORS:
                    errors += sample.value
            elif sample.name == f"{RPC_FAMILY}_sum":
                seconds += sample.value
    return Reading(calls, errors, seconds)


def cohort(name: str, before: Iterable[Reading], after: Iterable[Reading]) -> Cohort:
    """What a set of replicas served between two readings of each."""
    total = sum((later - earlier for earlier, later in zip(before, after, strict=True)), Reading())
    return Cohort(name, int(total.calls), int(total.errors), total.seconds)
