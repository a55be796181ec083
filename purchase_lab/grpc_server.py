"""Run a gRPC service the standard way: health service, reflection, telemetry, fault injection, graceful stop."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from purchase_lab import config
from purchase_lab.acks import process_acks
from purchase_lab.faults import FaultServerInterceptor, watch_rules
from purchase_lab.faults.replicas import claim_replica
from purchase_lab.processes import exit_with_parent
from purchase_lab.telemetry import MetricsEndpointError, Telemetry
from purchase_lab.telemetry.hooks import fault_listener
from purchase_lab.telemetry.instrument import grpc_server_interceptors

log = logging.getLogger(__name__)

# Seconds in-flight calls get to finish after SIGTERM before they are cancelled.
GRACE_SECONDS = 5.0
# Seconds between telling health watchers that we stop and refusing new calls: a client that watches its
# replicas' health (the gateway does) moves its calls to the others first, so a rolling restart drops none.
DRAIN_SECONDS = 0.2

Register = Callable[[grpc.Server], None]


def create_server(
    address: str,
    register: Register,
    service_names: Sequence[str],
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    max_workers: int = 16,
) -> tuple[grpc.Server, int, health.HealthServicer]:
    """Build a server with the servicers `register` adds, plus health and reflection.

    Returns the server (not started), the bound port (useful when address ends in :0) and the
    health servicer, whose every service is SERVING once the server starts.
    """
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), interceptors=interceptors)
    register(server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", *service_names):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection((*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}; is another process using the port?")
    return server, port, health_servicer


def serve(
    name: str,
    address: str,
    register: Register,
    service_names: Sequence[str],
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    telemetry: Telemetry | None = None,
) -> None:
    """Start the server, log where it listens, and block until SIGTERM or SIGINT stops it.

    Every service served this way injects the fault rules of faults.json in the control dir that name it
    (and its replica number, claimed in the control dir; see faults/replicas.py), after `interceptors`.
    With telemetry (see purchase_lab/telemetry), each call is traced and measured first, so an injected
    fault shows on the call's span; faults are counted; /metrics is served on the service's metrics
    port; and the spans still buffered are sent once the server has stopped.
    """
    exit_with_parent()
    telemetry = telemetry or Telemetry.disabled(name)
    try:
        telemetry.serve_metrics(address.rpartition(":")[0].strip("[]"))
    except MetricsEndpointError as error:
        sys.exit(f"{name}: {error}")
    claim = claim_replica(name, config.replica())
    acks = process_acks()
    acks.identify(name, claim.number)
    faults = FaultServerInterceptor(name, watch_rules(acknowledge=True), claim.number)
    if telemetry.enabled:
        faults.injector.listeners.append(fault_listener(telemetry.metrics))
    chain = [*grpc_server_interceptors(telemetry, service_names), *interceptors, faults]
    server, port, health_servicer = create_server(address, register, service_names, chain)
    stopping = threading.Event()
    acks.on_problem(lambda problem: _report_health(health_servicer, service_names, problem, stopping))
    server.start()
    log.info("%s replica %d listening on %s (port %d)", name, claim.number, address, port)

    def stop(signum: int, _frame: object) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.info("%s stopping on %s", name, signal.Signals(signum).name)
        health_servicer.enter_graceful_shutdown()
        time.sleep(DRAIN_SECONDS)
        server.stop(GRACE_SECONDS)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.wait_for_termination()
    acks.close()
    claim.release()
    telemetry.shutdown()
    log.info("%s stopped", name)


def _report_health(
    health_servicer: health.HealthServicer, service_names: Sequence[str], problem: str, stopping: threading.Event
) -> None:
    """NOT_SERVING while the process says it cannot serve (flags never loaded, say), else SERVING."""
    if stopping.is_set():
        return
    status = health_pb2.HealthCheckResponse.NOT_SERVING if problem else health_pb2.HealthCheckResponse.SERVING
    for service in ("", *service_names):
        health_servicer.set(service, status)
