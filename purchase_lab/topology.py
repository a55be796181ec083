"""The processes that make up the lab, in start order, and how each one is run and checked.

A gRPC service may run as several replicas (`purchase up --replicas pricing=3`): replica i listens on the
service's port + (i - 1) * REPLICA_PORT_STEP, is told its number in PURCHASE_REPLICA, and is named
`pricing-i`; the gateway is given every replica's address and balances across them round robin. Each
replica serves its /metrics the same number of steps above the service's metrics port.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from purchase_lab.config import Settings
from purchase_lab.health import grpc_serving, http_ok
from purchase_lab.processes import ProcessSpec
from purchase_lab.redis_server import redis_command

# Start order: Redis first, the gateway last (it needs the others).
SERVICES = ("redis", "cart", "pricing", "email", "gateway")
GRPC_SERVICES = ("cart", "pricing", "email")
# Ports of one service's replicas: 50052, 50152, 50252, ... clear of the other services' defaults.
REPLICA_PORT_STEP = 100
MAX_REPLICAS = 9


def _redis_ping(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def process_spec(name: str, settings: Settings, data_dir: Path) -> ProcessSpec:
    """Return how to run and health-check the named process with these settings."""
    ports = settings.ports
    if name == "redis":
        return ProcessSpec(
            name,
            redis_command(ports.redis, data_dir),
            f"redis://127.0.0.1:{ports.redis}",
            lambda: _redis_ping(ports.redis),
        )
    if name in GRPC_SERVICES:
        target = f"127.0.0.1:{getattr(ports, name)}"
        return ProcessSpec(name, [sys.executable, "-m", f"services.{name}"], target, lambda: grpc_serving(target))
    if name == "gateway":
        url = f"http://127.0.0.1:{ports.gateway}"
        return ProcessSpec(name, [sys.executable, "-m", "services.gateway"], url, lambda: http_ok(f"{url}/healthz"))
    raise KeyError(f"unknown service {name!r}; choose one of {', '.join(SERVICES)}")


@dataclass(frozen=True)
class LabProcess:
    """One process of the lab: which service, which replica (None when the service runs once), its port."""

    service: str
    replica: int | None
    port: int
    spec: ProcessSpec

    @property
    def name(self) -> str:
        """`pricing-2` for a replica, else the service's name."""
        return self.spec.name


def replica_port(base: int, replica: int) -> int:
    """The port replica `replica` (1, 2, ...) of a service listens on, the first one on the service's port."""
    return base + REPLICA_PORT_STEP * (replica - 1)


def check_replicas(replicas: Mapping[str, int]) -> dict[str, int]:
    """Every gRPC service's replica count (1 unless given); ValueError says what is wrong with a request."""
    for service, count in replicas.items():
        if service not in GRPC_SERVICES:
            raise ValueError(f"{service!r} cannot run as replicas; choose one of {', '.join(GRPC_SERVICES)}")
        if not 1 <= count <= MAX_REPLICAS:
            raise ValueError(f"{service}={count}: give from 1 to {MAX_REPLICAS} replicas")
    return {service: replicas.get(service, 1) for service in GRPC_SERVICES}


def lab_processes(settings: Settings, data_dir: Path, replicas: Mapping[str, int] | None = None) -> list[LabProcess]:
    """Every process of the lab in start order, with N processes of each service asked to run N replicas."""
    counts = check_replicas(replicas or {})
    processes: list[LabProcess] = []
    for service in SERVICES:
        base = getattr(settings.ports, service)
        count = counts.get(service, 1)
        if count == 1:
            processes.append(LabProcess(service, None, base, process_spec(service, settings, data_dir)))
            continue
        for replica in range(1, count + 1):
            processes.append(_replica(service, replica, replica_port(base, replica), settings, data_dir))
    gateway = next(process.spec for process in processes if process.service == "gateway")
    gateway.env = {**gateway.env, **gateway_targets(processes)}
    return processes


def _replica(service: str, replica: int, port: int, settings: Settings, data_dir: Path) -> LabProcess:
    spec = process_spec(service, settings, data_dir)
    target = f"127.0.0.1:{port}"
    spec.name = f"{service}-{replica}"
    spec.address = target
    spec.healthy = lambda: grpc_serving(target)
    spec.env = {**spec.env, "PURCHASE_REPLICA": str(replica), f"PURCHASE_{service.upper()}_PORT": str(port)}
    metrics_port = settings.metrics_ports.of(service)
    if metrics_port:
        spec.env[f"PURCHASE_{service.upper()}_METRICS_PORT"] = str(replica_port(metrics_port, replica))
    return LabProcess(service, replica, port, spec)


def gateway_targets(processes: list[LabProcess]) -> dict[str, str]:
    """PURCHASE_<SERVICE>_TARGET for each replicated service: every replica, for gRPC's round robin."""
    targets: dict[str, list[str]] = {}
    for process in processes:
        if process.replica is not None:
            targets.setdefault(process.service, []).append(f"127.0.0.1:{process.port}")
    return {f"PURCHASE_{service.upper()}_TARGET": "ipv4:" + ",".join(found) for service, found in targets.items()}
