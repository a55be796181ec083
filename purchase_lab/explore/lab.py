"""The lab an exploration runs against: real processes on free ports, its own control dir, traced to us.

Flags are fixed per user by the user id (`ExploreUser.flag_marks`), so one lab serves every flag
combination at once and no flag ever changes during the run. Breakers are set never to open: a run
faults one user's calls only, and a breaker opened by one run would fail the calls of another.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import grpc
from purchase.cart.v1 import cart_pb2, cart_pb2_grpc
from purchase.email.v1 import email_pb2, email_pb2_grpc
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from purchase_lab.config import Settings
from purchase_lab.faults.rules import new_rule
from purchase_lab.faults.store import FaultStore
from purchase_lab.flags import COMMITTED_FLAGS, LIVE_FILE_NAME
from purchase_lab.health import wait_until
from purchase_lab.ports import free_base_port
from purchase_lab.processes import ManagedProcess
from purchase_lab.topology import GRPC_SERVICES, SERVICES, lab_processes

START_TIMEOUT_S = 30.0
SYNC_TIMEOUT_S = 10.0
# Long enough for the slowest batch; a run that is killed leaves rules that expire by themselves.
RULE_TTL_S = 900
# A breaker that never opens within one exploration (see the module docstring).
NEVER_OPENS = "10000"
# Deadlines and budget with room for a busy machine: a call that is slow only because the machine is
# loaded must not look like an injected fault. (LATENCY faults go past these deadlines.)
DEADLINES = {
    "PURCHASE_CART_DEADLINE_MS": "1500",
    "PURCHASE_PRICING_DEADLINE_MS": "1000",
    "PURCHASE_EMAIL_DEADLINE_MS": "1000",
    "PURCHASE_CHECKOUT_BUDGET_MS": "8000",
}
# How soon the processes send their spans: the default (5 s) would make every run wait.
SPAN_DELAY_MS = "100"


def flag_targeting(flag_mark: str) -> dict[str, object]:
    """flagd targeting that serves "on" to users whose id holds `.<flag_mark>1.`, "off" to `.<flag_mark>0.`."""
    key = {"var": "targetingKey"}
    return {
        "if": [
            {"in": [f".{flag_mark}1.", key]},
            "on",
            {"in": [f".{flag_mark}0.", key]},
            "off",
            None,
        ]
    }


def flags_document(marks: Mapping[str, str]) -> dict[str, object]:
    """The committed flags, each flag of `marks` (flag key: mark) decided by the user id (see flag_targeting)."""
    document = json.loads(COMMITTED_FLAGS.read_text(encoding="utf-8"))
    for key, mark in marks.items():
        document["flags"][key]["targeting"] = flag_targeting(mark)
    return document


class ExploreLab:
    """Redis, cart, pricing, email and the gateway for one exploration, logging under run_dir/logs."""

    def __init__(self, run_dir: Path, flag_marks: Mapping[str, str], traces_endpoint: str | None) -> None:
        """A lab whose spans go to traces_endpoint (OTLP/gRPC), or nowhere when it is None."""
        self.run_dir = run_dir
        control = run_dir / "control"
        control.mkdir(parents=True, exist_ok=True)
        (control / LIVE_FILE_NAME).write_text(json.dumps(flags_document(flag_marks), indent=2), encoding="utf-8")
        self.env = {
            **{f"PURCHASE_{name.upper()}_PORT": str(free_base_port(1)) for name in SERVICES},
            **{f"PURCHASE_{name.upper()}_METRICS_PORT": str(free_base_port(1)) for name in GRPC_SERVICES},
            "PURCHASE_CONTROL_DIR": str(control),
            "PURCHASE_GATEWAY_WORKERS": "1",
            "PURCHASE_GATEWAY_THREADS": "16",
            "PURCHASE_BREAKER_FAILURES": NEVER_OPENS,
            **DEADLINES,
            "PURCHASE_ADMIN_TOKEN": f"explore-{secrets.token_hex(16)}",
            "OTEL_SDK_DISABLED": "false",
            "OTEL_TRACES_EXPORTER": "otlp" if traces_endpoint else "none",
            "OTEL_TRACES_SAMPLER": "parentbased_always_on",
            "OTEL_BSP_SCHEDULE_DELAY": SPAN_DELAY_MS,
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        }
        if traces_endpoint:
            self.env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": traces_endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
        self.settings = Settings.from_env(self.env)
        self.faults = FaultStore(control)
        log_dir = run_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self._logs: dict[str, IO[str]] = {}
        self.processes: dict[str, ManagedProcess] = {}
        for planned in lab_processes(self.settings, run_dir / "redis"):
            planned.spec.env = {**self.env, **planned.spec.env}
            log = self._logs[planned.name] = (log_dir / f"{planned.name}.log").open("a", encoding="utf-8", buffering=1)
            self.processes[planned.name] = ManagedProcess(planned.spec, lambda _name, line, log=log: log.write(line))
        (run_dir / "redis").mkdir(parents=True, exist_ok=True)

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL."""
        return f"http://127.0.0.1:{self.settings.ports.gateway}"

    def target(self, service: str) -> str:
        """host:port of a gRPC service."""
        return f"127.0.0.1:{getattr(self.settings.ports, service)}"

    def start(self, *names: str) -> None:
        """Start the named processes (all, in order, when none are named) and wait until each is healthy."""
        for name in names or tuple(self.processes):
            process = self.processes[name]
            process.start()
            try:
                process.wait_healthy(timeout=START_TIMEOUT_S)
            except (TimeoutError, RuntimeError) as error:
                raise RuntimeError(f"{error}; see {self.run_dir / 'logs' / (name + '.log')}") from None

    def kill(self, name: str) -> None:
        """Kill a process the way a crash does (SIGKILL)."""
        self.processes[name].kill()

    def stop(self) -> None:
        """Stop every process, the gateway first, and close the logs."""
        for process in reversed(self.processes.values()):
            process.stop()
        for log in self._logs.values():
            log.close()

    def set_rules(self, rules: list[Mapping[str, object]], sync_id: str) -> None:
        """Replace every fault rule with these, then wait until each process of the lab serves them.

        Two probe rules come with them, for a user no run has: each process is asked for that user
        until it answers with the probe's error, which shows it has read this version of the file.
        """
        probes = [
            {"service": service, "error": "FAILED_PRECONDITION", "user": sync_id, "description": "explore sync"}
            for service in GRPC_SERVICES
        ] + [{"service": "gateway", "error": 418, "user": sync_id, "method": "/api/v1/orders"}]
        checked = [new_rule({"ttl_s": RULE_TTL_S, **fields}) for fields in [*rules, *probes]]
        self.faults.reset()
        self.faults.add_rules(checked)
        self.wait_synced(sync_id)

    def clear_rules(self) -> None:
        """Remove every fault rule (the processes drop them within their poll interval)."""
        self.faults.reset()

    def wait_synced(self, sync_id: str) -> None:
        """Wait until every process has read the rules holding the probes for sync_id."""
        probes = {
            "cart": lambda: _refuses(
                cart_pb2_grpc.CartServiceStub, "GetCart", cart_pb2.GetCartRequest(user_id=sync_id), self.target("cart")
            ),
            "pricing": lambda: _refuses(
                pricing_pb2_grpc.PricingServiceStub,
                "ListProducts",
                pricing_pb2.ListProductsRequest(),
                self.target("pricing"),
                sync_id,
            ),
            "email": lambda: _refuses(
                email_pb2_grpc.EmailServiceStub,
                "ListOutbox",
                email_pb2.ListOutboxRequest(user_id=sync_id, limit=1),
                self.target("email"),
            ),
            "gateway": lambda: _http_status(f"{self.gateway_url}/api/v1/orders", sync_id) == 418,
        }
        for name, probe in probes.items():
            if name in self.processes and self.processes[name].running:
                wait_until(probe, f"{name} reading the fault rules", SYNC_TIMEOUT_S)


def _refuses(stub_type: type, method: str, request: object, target: str, user: str = "") -> bool:
    metadata = (("x-purchase-user-id", user),) if user else None
    with grpc.insecure_channel(target) as channel:
        try:
            getattr(stub_type(channel), method)(request, timeout=2, metadata=metadata)
        except grpc.RpcError as error:
            return error.code() == grpc.StatusCode.FAILED_PRECONDITION
    return False


def _http_status(url: str, user: str) -> int:
    request = urllib.request.Request(url, headers={"X-User-Id": user})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0
