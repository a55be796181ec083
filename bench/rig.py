"""The bare rig: a real redis-server, the bare gRPC servers with the raw HTTP responder, and the bare gateway.

Every part is a child process on a free loopback port, health-checked before use, stopped at the end.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

import redis

from bench.lab import HEALTH_TIMEOUT_S, LabStartError
from purchase_lab.health import grpc_serving, http_ok
from purchase_lab.ports import free_port
from purchase_lab.processes import ManagedProcess, ProcessSpec
from purchase_lab.redis_server import redis_command

REPO = Path(__file__).resolve().parents[1]


def redis_answers(port: int) -> bool:
    """True when the Redis on this loopback port answers PING."""
    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def bench_env() -> dict[str, str]:
    """What a child running `python -m bench...` needs: the repository on its import path, wherever it starts."""
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": os.pathsep.join([str(REPO), path]) if path else str(REPO)}


class BareRig:
    """The processes the floor and the per-call layer costs are measured against."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.redis_port = free_port()
        self.grpc_port, self.faults_port, self.telemetry_port = free_port(), free_port(), free_port()
        self.http_port, self.gateway_port = free_port(), free_port()
        control = log_dir / "control"
        control.mkdir(exist_ok=True)
        data = log_dir / "redis-data"
        data.mkdir(exist_ok=True)
        module = [sys.executable, "-m", "bench.bare"]
        ports = [
            *("--grpc", str(self.grpc_port), "--grpc-faults", str(self.faults_port)),
            *("--grpc-telemetry", str(self.telemetry_port), "--http", str(self.http_port)),
        ]
        grpc_targets = [self.target(port) for port in (self.grpc_port, self.faults_port, self.telemetry_port)]
        self._specs = [
            ProcessSpec("redis", redis_command(self.redis_port, data), "", lambda: redis_answers(self.redis_port)),
            ProcessSpec(
                "bare-grpc",
                [*module, "grpc", *ports, "--control-dir", str(control)],
                grpc_targets[0],
                lambda: (
                    all(grpc_serving(target) for target in grpc_targets)
                    and http_ok(f"http://127.0.0.1:{self.http_port}/")
                ),
                bench_env(),
            ),
            ProcessSpec(
                "bare-gateway",
                [*module, "gateway"],
                f"http://127.0.0.1:{self.gateway_port}",
                lambda: http_ok(f"http://127.0.0.1:{self.gateway_port}/healthz"),
                {**bench_env(), "PURCHASE_GATEWAY_PORT": str(self.gateway_port), "PURCHASE_HOST": "127.0.0.1"},
            ),
        ]
        self._processes: list[ManagedProcess] = []
        self._logs: list[TextIO] = []

    @staticmethod
    def target(port: int) -> str:
        """host:port on loopback."""
        return f"127.0.0.1:{port}"

    def start(self) -> BareRig:
        """Start every part and wait until each is healthy."""
        for spec in self._specs:
            log = (self.log_dir / f"{spec.name}.log").open("a", encoding="utf-8", buffering=1)
            self._logs.append(log)
            process = ManagedProcess(spec, lambda _name, line, log=log: log.write(line))
            self._processes.append(process)
            process.start()
            try:
                process.wait_healthy(HEALTH_TIMEOUT_S)
            except (TimeoutError, RuntimeError) as error:
                self.stop()
                tail = (self.log_dir / f"{spec.name}.log").read_text(encoding="utf-8")[-3000:]
                raise LabStartError(f"bare rig: {error}; the end of its log:\n{tail}") from error
        return self

    def stop(self) -> None:
        """Stop every part."""
        for process in reversed(self._processes):
            process.stop()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> BareRig:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
