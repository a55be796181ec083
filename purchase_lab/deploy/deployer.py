"""Move a service's replicas to another release: rolling, blue-green or canary, each gated; and roll back.

Runs inside the supervisor (it starts and stops the processes). Every step is written to the deploy
state in the run dir and logged. A failed gate undoes what the deploy did; a stop request (Ctrl-C in
`purchase deploy`) ends it at the next safe point with every replica healthy and says how to go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from purchase_lab.analysis import PASS, WAIT, Decision, Thresholds, compare, to_markdown
from purchase_lab.deploy.gateway import replace_workers
from purchase_lab.deploy.measure import MetricsUnreadable, cohort, read_replica
from purchase_lab.deploy.smoke import smoke_test
from purchase_lab.deploy.state import DeployRecord, previous_release, remember, write_inventory
from purchase_lab.releases import find_release
from purchase_lab.routing import Route, read_routes, routes_path, write_routes
from purchase_lab.supervisor import ReplicaInfo, Supervisor, SupervisorError
from purchase_lab.topology import GRPC_SERVICES

log = logging.getLogger(__name__)

STRATEGIES = ("rolling", "blue-green", "canary")
# How many windows a gate waits for enough traffic before it fails.
WAIT_WINDOWS = 3
POLL_SECONDS = 0.2


class DeployFailed(RuntimeError):
    """The deploy did not complete; the message names the failed gate or step, and what was undone."""


class DeployInterrupted(RuntimeError):
    """Someone asked the deploy to stop; the message says where it stopped and how to go on."""


@dataclass(frozen=True)
class DeployRequest:
    """What `purchase deploy` asks for."""

    service: str
    version: str
    strategy: str = "rolling"
    batch: int = 1
    weight: float = 10.0
    window: float = 10.0
    keep_old: float = 30.0
    min_calls: int = 20
    dry_run: bool = False


class Deployer:
    """Deploys and rollbacks of one lab's services, one at a time."""

    def __init__(self, supervisor: Supervisor, run_dir: Path, control_dir: Path, should_stop: Callable[[], bool]):
        self._supervisor = supervisor
        self._run_dir = run_dir
        self._routes = routes_path(control_dir)
        self._should_stop = should_stop
        self.stop_requested = threading.Event()
        self._standby: dict[str, tuple[list[str], float]] = {}
        self._record: DeployRecord | None = None

    # -- what runs where ------------------------------------------------------------------------------------------

    def active(self, service: str) -> list[ReplicaInfo]:
        """The replicas that take the service's calls: the routed ones, else all of them."""
        replicas = self._supervisor.replicas_of(service)
        routed = read_routes(self._routes).get(service)
        if routed is None:
            return replicas
        names = {route.name for route in routed}
        return [replica for replica in replicas if replica.name in names]

    def _route(self, service: str, weights: dict[str, float]) -> None:
        """Send the service's calls to these replicas with these weights, at once."""
        by_name = {replica.name: replica for replica in self._supervisor.replicas_of(service)}
        routes = [Route(name, by_name[name].address, by_name[name].release, weight) for name, weight in weights.items()]
        write_routes(self._routes, service, routes)

    def _relabel(self, service: str) -> None:
        """Rewrite the routes' releases after replicas were replaced in place (nothing when not routed)."""
        routed = read_routes(self._routes).get(service)
        if routed is not None:
            self._route(service, {route.name: route.weight for route in routed})

    # -- entry points -----------------------------------------------------------------------------------------------

    def deploy(self, request: DeployRequest) -> str:
        """Run a deploy to the end; return its summary, or raise DeployFailed / DeployInterrupted."""
        find_release(request.service, request.version)
        if request.strategy not in STRATEGIES:
            raise DeployFailed(f"unknown strategy {request.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        active = self.active(request.service)
        if not active:
            raise DeployFailed(f"{request.service} has no replica to deploy to")
        old = next((r.release for r in active if r.release != request.version), request.version)
        self.stop_requested.clear()
        self._record = DeployRecord(self._run_dir, **asdict(request), **{"from": old})
        self._say(
            f"deploy {request.service} {old} -> {request.version} ({request.strategy}), replicas: "
            + ", ".join(f"{r.name}={r.release}" for r in active)
        )
        runs = {"rolling": self._rolling, "blue-green": self._blue_green, "canary": self._canary}
        if request.service == "gateway":
            runs = dict.fromkeys(STRATEGIES, self._gateway)
        try:
            summary = runs[request.strategy](request, active, old)
        except DeployFailed as error:
            self._record.finish("failed", str(error))
            raise
        except DeployInterrupted as error:
            self._record.finish("interrupted", str(error))
            raise
        self._record.finish("succeeded", summary)
        return summary

    def rollback(self, service: str) -> str:
        """Every replica of the service back to its previous release in one step (a switch of traffic)."""
        previous = previous_release(self._run_dir, service)
        if previous is None:
            raise DeployFailed(f"{service} has not been deployed in this lab; there is nothing to roll back to")
        active = self.active(service)
        current = active[0].release if active else previous
        self.stop_requested.clear()
        self._record = DeployRecord(
            self._run_dir, service=service, version=previous, strategy="rollback", **{"from": current}
        )
        names, _until = self._standby.pop(service, ([], 0.0))
        standby = [r for r in self._supervisor.replicas_of(service) if r.name in names and r.running]
        if standby and all(r.release == previous for r in standby):
            self._say(f"switching {service} back to the standby replicas on {previous}: {', '.join(names)}")
        else:
            standby = self._start_set(service, previous, len(active))
        self._route(service, {r.name: 1.0 for r in standby})
        self._say(f"{service} traffic now goes to {', '.join(r.name for r in standby)} ({previous})")
        self._retire(r.name for r in active)
        remember(self._run_dir, service, current, previous)
        summary = f"rolled back {service} to {previous}: {len(standby)} replicas"
        self._record.finish("succeeded", summary)
        return summary

    def tick(self) -> None:
        """Stop blue-green standby sets whose --keep-old time is over (called by the supervisor's loop)."""
        for service, (names, until) in list(self._standby.items()):
            if time.monotonic() >= until:
                del self._standby[service]
                self._retire(names)

    # -- strategies --------------------------------------------------------------------------------------------------

    def _rolling(self, request: DeployRequest, active: list[ReplicaInfo], old: str) -> str:
        todo = [replica for replica in active if replica.release != request.version]
        if request.dry_run:
            return self._dry_run(request, active)
        remember(self._run_dir, request.service, old, request.version)
        done: list[str] = []
        for start in range(0, len(todo), request.batch):
            batch = todo[start : start + request.batch]
            self._check_stop(request, done, len(todo))
            for replica in batch:
                self._replace(replica.name, request.version)
            done += [replica.name for replica in batch]
            self._relabel(request.service)
            remaining = [r for r in self.active(request.service) if r.release != request.version]
            if remaining:
                replaced = [r for r in self.active(request.service) if r.release == request.version]
                try:
                    self._gate(request, replaced, remaining)
                except (DeployFailed, DeployInterrupted) as error:
                    self._say(f"putting {', '.join(done)} back on {old}")
                    for name in done:
                        self._replace(name, old)
                    self._relabel(request.service)
                    remember(self._run_dir, request.service, request.version, old)
                    raise type(error)(f"{error}; every replica is back on {old}") from None
        return f"{request.service}: {len(active)} replicas on {request.version} (rolling, {len(todo)} replaced)"

    def _canary(self, request: DeployRequest, active: list[ReplicaInfo], old: str) -> str:
        if request.dry_run:
            return self._dry_run(request, active)
        if not 0 < request.weight < 100:
            raise DeployFailed(f"--weight {request.weight}: give a percentage between 0 and 100")
        canary = self._start_set(request.service, request.version, 1)
        share = (100 - request.weight) / len(active)
        self._route(request.service, {**{r.name: share for r in active}, canary[0].name: request.weight})
        self._say(f"{canary[0].name} ({request.version}) takes {request.weight:g}% of calls")
        try:
            self._gate(request, canary, active)
        except (DeployFailed, DeployInterrupted) as error:
            self._route(request.service, {r.name: 1.0 for r in active})
            self._retire([canary[0].name])
            raise type(error)(f"canary aborted: {error}; traffic is back on {old}") from None
        self._say("canary passed; promoting: a rolling deploy of the other replicas")
        self._route(request.service, {r.name: 1.0 for r in active})
        self._retire([canary[0].name])
        rolling = DeployRequest(**{**asdict(request), "strategy": "rolling"})
        return self._rolling(rolling, active, old).replace("(rolling", "(canary, then rolling")

    def _blue_green(self, request: DeployRequest, active: list[ReplicaInfo], old: str) -> str:
        if request.dry_run:
            return self._dry_run(request, active)
        green = self._start_set(request.service, request.version, len(active))
        self._check_stop(request, [], len(active), undo=[r.name for r in green])
        self._route(request.service, {r.name: 1.0 for r in green})
        remember(self._run_dir, request.service, old, request.version)
        self._say(f"switched {request.service} traffic to {', '.join(r.name for r in green)} ({request.version})")
        names = [r.name for r in active]
        self._standby[request.service] = (names, time.monotonic() + request.keep_old)
        self._say(
            f"keeping {', '.join(names)} ({old}) for {request.keep_old:g} s: `purchase rollback "
            f"{request.service}` switches back at once"
        )
        return f"{request.service}: traffic on {len(green)} replicas of {request.version} (blue-green)"

    def _gateway(self, request: DeployRequest, active: list[ReplicaInfo], old: str) -> str:
        """The gateway: a redeploy of its release by gunicorn's graceful worker replacement."""
        if request.version != old or request.strategy != "rolling":
            raise DeployFailed(
                f"the gateway runs {old} and can only be redeployed on it, rolling: "
                f"`purchase deploy gateway {old}` replaces its workers with no failed request"
            )
        if request.dry_run:
            return f"dry run: the gateway's workers would be replaced gracefully on {old}"
        arbiter = active[0]
        if arbiter.pid is None:
            raise DeployFailed("the gateway is not running; `purchase start gateway` first")
        self._say(f"gateway: SIGHUP to gunicorn (pid {arbiter.pid}): new workers start, old ones finish and stop")
        try:
            workers, seconds = replace_workers(arbiter.pid, f"{arbiter.address}/healthz")
        except TimeoutError as error:
            raise DeployFailed(str(error)) from None
        return f"gateway: {workers} workers replaced on {old} in {seconds:.1f} s"

    # -- steps ---------------------------------------------------------------------------------------------------------

    def _replace(self, name: str, version: str) -> None:
        """Take a replica out of rotation, let it finish, stop it, start `version` in its place, wait for health."""
        self._say(f"{name}: leaving rotation (health NOT_SERVING), finishing in-flight calls, stopping")
        self._supervisor.stop(name)
        self._supervisor.set_release(name, version)
        try:
            self._say(self._supervisor.start(name) + f" on {version}")
        except SupervisorError as error:
            raise DeployFailed(f"{name} did not become healthy on {version}: {error}") from None

    def _start_set(self, service: str, version: str, count: int) -> list[ReplicaInfo]:
        """Start `count` new replicas of `version` beside the others, healthy and smoke-tested."""
        names: list[str] = []
        try:
            names = self._supervisor.add_replicas(service, version, count)
            self._say(f"{', '.join(names)}: started on {version} side by side, healthy")
            started = [r for r in self._supervisor.replicas_of(service) if r.name in names]
            for replica in started:
                smoke_test(service, replica.address)
                self._say(f"{replica.name}: smoke test passed")
        except (SupervisorError, RuntimeError) as error:
            self._retire(names)
            raise DeployFailed(f"the new {service} {version} replicas did not start cleanly: {error}") from None
        return started

    def _retire(self, names: Sequence[str] | object) -> None:
        for name in list(names):  # type: ignore[call-overload]
            self._say(self._supervisor.remove(name))

    def _gate(self, request: DeployRequest, candidates: list[ReplicaInfo], baselines: list[ReplicaInfo]) -> None:
        """Compare candidates with baselines over the window; wait for traffic, then fail, never pass blindly."""
        thresholds = Thresholds(min_calls=request.min_calls)
        label = f"{request.version} ({', '.join(r.name for r in candidates)})"
        base_label = f"{baselines[0].release} ({', '.join(r.name for r in baselines)})"
        try:
            before = [read_replica(r.metrics_port) for r in (*candidates, *baselines)]
        except MetricsUnreadable as error:
            raise DeployFailed(f"gate cannot measure: {error}") from None
        began = time.monotonic()
        decision: Decision | None = None
        for windows in range(1, WAIT_WINDOWS + 1):
            self._say(f"gate: measuring {label} against {base_label} for {request.window:g} s")
            self._wait_until(began + request.window * windows, request)
            after = [read_replica(r.metrics_port) for r in (*candidates, *baselines)]
            split = len(candidates)
            decision = compare(
                cohort(base_label, before[split:], after[split:]),
                cohort(label, before[:split], after[:split]),
                time.monotonic() - began,
                thresholds,
            )
            if self._record is not None:
                self._record.gate({**decision.to_dict(), "markdown": to_markdown(decision, "Gate")})
            self._say(decision.summary())
            if decision.verdict != WAIT:
                break
        assert decision is not None
        if decision.verdict == WAIT:
            raise DeployFailed(f"gate failed: {decision.summary().removeprefix('gate waiting: ')}")
        if decision.verdict != PASS:
            raise DeployFailed(decision.summary())

    def _dry_run(self, request: DeployRequest, active: list[ReplicaInfo]) -> str:
        """What the gate says now about replicas already on the version, without changing anything."""
        candidates = [r for r in active if r.release == request.version]
        baselines = [r for r in active if r.release != request.version]
        plan = f"dry run: {request.strategy} would move {len(baselines)} replicas to {request.version}"
        if not candidates or not baselines:
            return f"{plan}; no replica runs {request.version} beside the others yet, so there is nothing to judge"
        self._gate(request, candidates, baselines)
        return f"{plan}; the gate would pass"

    def _wait_until(self, deadline: float, request: DeployRequest) -> None:
        while time.monotonic() < deadline:
            self._check_stop(request, [], 0)
            time.sleep(POLL_SECONDS)

    def _check_stop(self, request: DeployRequest, done: list[str], total: int, undo: Sequence[str] = ()) -> None:
        if not (self.stop_requested.is_set() or self._should_stop()):
            return
        if undo:
            self._retire(undo)
        where = f" after {len(done)} of {total} replicas ({', '.join(done)} on {request.version})" if done else ""
        raise DeployInterrupted(
            f"deploy of {request.service} {request.version} stopped on request{where}; every replica is healthy. "
            f"Resume: purchase deploy {request.service} {request.version} --strategy {request.strategy}; "
            f"roll back: purchase rollback {request.service}"
        )

    def _say(self, message: str) -> None:
        log.info("deploy: %s", message)
        self.record_inventory()
        if self._record is not None:
            self._record.event(message)

    def record_inventory(self) -> None:
        """Write every gRPC service's processes and releases to the run dir, for the console and /healthz."""
        write_inventory(
            self._run_dir,
            {
                service: [
                    {"name": r.name, "address": r.address, "release": r.release, "running": r.running}
                    for r in self._supervisor.replicas_of(service)
                ]
                for service in GRPC_SERVICES
            },
        )


def deploy_request(data: Mapping[str, Any]) -> DeployRequest:
    """A DeployRequest from a control request's fields; DeployFailed says which one is wrong."""
    known = {field.name for field in fields(DeployRequest)}
    values = {key: value for key, value in data.items() if key in known and value is not None}
    try:
        request = DeployRequest(**values)
    except TypeError as error:
        raise DeployFailed(f"bad deploy request ({error}); give SERVICE and VERSION") from None
    if request.batch < 1 or request.window <= 0 or request.keep_old < 0 or request.min_calls < 1:
        raise DeployFailed("--batch and --min-calls must be at least 1, --window above 0, --keep-old 0 or more")
    return request
