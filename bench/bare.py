"""The bare servers the bench measures against, each in a process of its own: `python -m bench.bare KIND`.

- `grpc`: gRPC servers built like the lab's (purchase_lab.grpc_server.create_server) serving one echo method
  of raw bytes: one with no interceptor (the floor), one with the fault interceptor and no rule, one with
  the telemetry interceptors. Plus a minimal HTTP/1.1 responder on a raw socket (the HTTP floor).
- `gateway`: the gateway's own gunicorn configuration serving a Flask route that does nothing, so the
  web framework's cost can be told from the checkout's.

Ports come on the command line (`grpc`) or in PURCHASE_GATEWAY_PORT (`gateway`); SIGTERM stops them.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socketserver
import threading
from collections.abc import Sequence
from pathlib import Path

import grpc
from flask import Flask

from purchase_lab.config import Settings
from purchase_lab.faults import FaultServerInterceptor, watch_rules
from purchase_lab.grpc_server import create_server
from purchase_lab.processes import exit_with_parent
from purchase_lab.telemetry import setup_telemetry
from purchase_lab.telemetry.instrument import grpc_server_interceptors
from services.gateway.__main__ import GatewayServer

log = logging.getLogger(__name__)

# A `purchase.` name, so the fault and telemetry interceptors treat it as one of the lab's own methods.
SERVICE = "purchase.bench.v1.BenchService"
ECHO_METHOD = f"/{SERVICE}/Echo"
HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
# Telemetry as a lab service has it, minus exporting and the Prometheus endpoint.
TELEMETRY_ENV = {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "none", "PURCHASE_BENCH_METRICS_PORT": "0"}


def _echo(request: bytes, _context: grpc.ServicerContext) -> bytes:
    return request


def _register(server: grpc.Server) -> None:
    handler = grpc.unary_unary_rpc_method_handler(_echo)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {"Echo": handler}),))


def grpc_server(port: int, interceptors: Sequence[grpc.ServerInterceptor] = ()) -> grpc.Server:
    """A started echo server on 127.0.0.1:port with these interceptors, health and reflection."""
    server, _port, _health = create_server(f"127.0.0.1:{port}", _register, [SERVICE], interceptors)
    server.start()
    return server


class _RawHttp(socketserver.BaseRequestHandler):
    """Answer every request on a keep-alive connection with the same tiny 200, parsing nothing but its end."""

    def handle(self) -> None:
        pending = b""
        while chunk := self.request.recv(65536):
            pending += chunk
            while b"\r\n\r\n" in pending:
                _head, pending = pending.split(b"\r\n\r\n", 1)
                self.request.sendall(HTTP_RESPONSE)


class _ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_bare(ports: argparse.Namespace) -> None:
    """Serve the bare gRPC variants and the raw HTTP responder until SIGTERM."""
    telemetry = setup_telemetry("bench", TELEMETRY_ENV, set_global=False)
    faults = FaultServerInterceptor("pricing", watch_rules(Path(ports.control_dir)), 1)
    servers = [
        grpc_server(ports.grpc),
        grpc_server(ports.grpc_faults, [faults]),
        grpc_server(ports.grpc_telemetry, grpc_server_interceptors(telemetry)),
    ]
    http = _ThreadingServer(("127.0.0.1", ports.http), _RawHttp)
    threading.Thread(target=http.serve_forever, name="raw-http", daemon=True).start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    log.info("bare servers up: grpc %d, grpc+faults %d, grpc+telemetry %d, http %d", *_ports(ports))
    stopping.wait()
    http.shutdown()
    for server in servers:
        server.stop(0)
    telemetry.shutdown()


def _ports(ports: argparse.Namespace) -> tuple[int, int, int, int]:
    return ports.grpc, ports.grpc_faults, ports.grpc_telemetry, ports.http


def bare_app() -> Flask:
    """A Flask app with one route that does nothing: the web framework with no shop in it."""
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


class BareGateway(GatewayServer):
    """gunicorn exactly as the gateway runs it (workers, threads, access log), serving bare_app."""

    def load(self) -> Flask:
        """The bare app instead of the shop."""
        return bare_app()


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.bare", description=__doc__.splitlines()[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    bare = kinds.add_parser("grpc", help="the bare gRPC servers and the raw HTTP responder")
    for name in ("grpc", "grpc-faults", "grpc-telemetry", "http"):
        bare.add_argument(f"--{name}", type=int, required=True, help=f"the {name} server's port")
    bare.add_argument("--control-dir", required=True, help="an empty control dir: the fault layer finds no rule")
    kinds.add_parser("gateway", help="gunicorn + Flask as the gateway runs them, on PURCHASE_GATEWAY_PORT")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    exit_with_parent()
    if args.kind == "grpc":
        serve_bare(args)
    else:
        BareGateway(Settings.from_env()).run()


if __name__ == "__main__":
    main()
