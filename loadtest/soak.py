"""`python -m loadtest.soak`: chaos load while each gRPC service is killed in turn and Redis restarts, then the checks.

A lab of its own (Redis and the four services on free ports) takes a locust load with the chaos schedule's
soft-dependency faults (`python -m loadtest --chaos soft`, with as many seeds as it takes to inject every
soft scenario). Then, under the same load, `kill -9` hits cart,
pricing and email in turn, each started again at once, and Redis is stopped and started. For each, the
recovery time is how long after the process is healthy again a probe checkout succeeds without degrading
on it. For each part:

- the invariant check (`python -m loadtest.check`): no order lost or doubled, no email lost or doubled;
- no unexpected failed checkout: the checkout table allows a 503 only for a hard dependency (cart, or
  Redis behind it) or for pricing when the user is owed a discount; anything else that failed is unexpected;
- no checkout answered later than the checkout budget (plus CLIENT_SLACK_MS for the client's own overhead).

The figures go to <out>/soak.json; the exit status is 0 when every check holds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.lab import BenchLab
from loadtest.chaos import build_schedule, scenario_names
from loadtest.journal import read_records

# The disruptions, in order, and the share of the run at which each starts.
DISRUPTIONS = (("cart", 0.2), ("pricing", 0.35), ("email", 0.5), ("redis", 0.65))
# Time the client itself adds to a checkout (connection, queueing on a shared machine) beyond the gateway's budget.
CLIENT_SLACK_MS = 500
PROBE_TIMEOUT_S = 20.0
PROBE_SKU = "COF-ETH-250"
# The answers the checkout table allows to fail: a hard dependency down, or pricing down for an eligible user.
EXPECTED_FAILURES = {(503, "cart"), (503, "pricing"), (503, "redis"), (409, "")}


@dataclass
class Disruption:
    """One killed (or restarted) process and how long the shop took to use it again."""

    service: str
    how: str
    down_s: float = 0.0
    recovery_s: float | None = None


@dataclass
class SoakResult:
    """The soak's figures and whether each check held."""

    disruptions: list[Disruption] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=list)
    invariants: dict[str, Any] = field(default_factory=dict)
    checkouts: int = 0
    unexpected_failures: list[dict[str, Any]] = field(default_factory=list)
    slowest_checkout_ms: float = 0.0
    budget_ms: int = 0
    load_exit: int = 0

    @property
    def ok(self) -> bool:
        """True when every check held."""
        return (
            self.load_exit == 0
            and bool(self.invariants.get("ok"))
            and not self.unexpected_failures
            and self.slowest_checkout_ms <= self.budget_ms + CLIENT_SLACK_MS
            and all(disruption.recovery_s is not None for disruption in self.disruptions)
            and set(self.scenarios) >= set(scenario_names("soft"))
        )

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready data."""
        return {
            "ok": self.ok,
            "checkouts": self.checkouts,
            "chaos_scenarios_injected": sorted(set(self.scenarios)),
            "invariants": self.invariants,
            "unexpected_failed_checkouts": len(self.unexpected_failures),
            "unexpected_examples": self.unexpected_failures[:10],
            "slowest_checkout_ms": round(self.slowest_checkout_ms, 1),
            "checkout_budget_ms": self.budget_ms,
            "disruptions": [vars(disruption) for disruption in self.disruptions],
        }


def probe_checkout(base_url: str, service: str) -> bool:
    """One checkout by a fresh user; True when it placed its order without degrading on the service."""
    user = f"soak-probe-{uuid.uuid4().hex[:10]}"

    def send(path: str, body: dict[str, Any], **headers: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            base_url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "X-User-Id": user, **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, {}
        except OSError:
            return 0, {}

    if send("/api/v1/cart/items", {"sku": PROBE_SKU, "quantity": 1})[0] != 200:
        return False
    status, order = send("/api/v1/checkout", {}, **{"Idempotency-Key": user})
    if status != 201:
        return False
    degraded_on = {degradation["dependency"] for degradation in order.get("degraded", [])}
    return service not in degraded_on


def disrupt(lab: BenchLab, service: str) -> Disruption:
    """kill -9 a gRPC service (stop Redis), start it again, and time the shop's recovery."""
    process = lab.processes[service]
    disruption = Disruption(service, "restart (SIGTERM)" if service == "redis" else "kill -9")
    began = time.monotonic()
    if service == "redis":
        process.stop()
    else:
        process.kill()
    process.start()
    process.wait_healthy(30)
    healthy = time.monotonic()
    disruption.down_s = round(healthy - began, 3)
    while time.monotonic() - healthy < PROBE_TIMEOUT_S:
        if probe_checkout(lab_url(lab), service):
            disruption.recovery_s = round(time.monotonic() - healthy, 3)
            break
        time.sleep(0.05)
    return disruption


def judge_checkouts(load_dir: Path, result: SoakResult) -> None:
    """Count checkouts, find the failures the checkout table does not allow, and the slowest answer."""
    checkouts = [record for record in read_records(load_dir / "journal.jsonl") if record.is_checkout]
    result.checkouts += len(checkouts)
    result.slowest_checkout_ms = max([result.slowest_checkout_ms, *(record.ms for record in checkouts)])
    result.unexpected_failures += [
        {"user": record.user, "status": record.status, "error": record.error, "dependency": record.dependency}
        for record in checkouts
        if not record.ok and (record.status, record.dependency) not in EXPECTED_FAILURES
    ]


def check_invariants(lab: BenchLab, load_dir: Path) -> dict[str, Any]:
    """The invariant check of one load run (loadtest/check.py), as it wrote it to invariants.json."""
    command = [sys.executable, "-m", "loadtest.check", str(load_dir), "--host", lab_url(lab)]
    done = subprocess.run(
        [*command, "--email-target", lab.target("email")],
        env={**lab.env, "PYTHONPATH": "."},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    written = load_dir / "invariants.json"
    invariants = json.loads(written.read_text(encoding="utf-8")) if written.exists() else {}
    return {"ok": done.returncode == 0 and bool(invariants.get("ok")), **invariants, "output": done.stdout[-2000:]}


def lab_url(lab: BenchLab) -> str:
    """The lab's gateway."""
    host, port = lab.gateway_address
    return f"http://{host}:{port}"


def injected_scenarios(load_dir: Path) -> list[str]:
    """The scenarios the chaos schedule of a load run did inject (as its summary recorded)."""
    summary = json.loads((load_dir / "summary.json").read_text(encoding="utf-8"))
    return [
        event["scenario"]
        for event in summary["chaos"]["events"]
        if event["action"] == "inject" and not event["problem"]
    ]


def run_load(lab: BenchLab, out: Path, chaos: str, duration_s: float, users: int, seed: int) -> subprocess.Popen:
    """Start `python -m loadtest` against the lab, writing its report to out."""
    command = [sys.executable, "-m", "loadtest", "--host", lab_url(lab), "--out", str(out), "--chaos", chaos]
    command += ["--duration", str(duration_s), "--users", str(users), "--seed", str(seed)]
    command += ["--control-dir", str(lab.control_dir)]
    out.mkdir(parents=True, exist_ok=True)
    with (out / "load.log").open("w", encoding="utf-8") as log:
        return subprocess.Popen(command, env={**lab.env, "PYTHONPATH": "."}, stdout=log, stderr=log)


def chaos_seeds(seed: int, duration_s: float) -> list[int]:
    """Seeds from `seed` on whose schedules together inject every soft-dependency scenario at least once."""
    wanted, covered, seeds = set(scenario_names("soft")), set(), []
    for candidate in range(seed, seed + 50):
        picked = {window.scenario for window in build_schedule("soft", candidate, duration_s)}
        if picked - covered:
            seeds.append(candidate)
            covered |= picked
        if covered == wanted:
            return seeds
    raise ValueError(f"no {len(seeds)} seeds from {seed} cover every soft scenario in {duration_s} s")


def soak(out: Path, duration_s: float, users: int, seed: int) -> SoakResult:
    """Run the whole soak in a lab of its own, in two parts of duration_s each.

    First the chaos schedule's soft-dependency faults under load, one part per seed until every soft
    scenario was injected (out/chaos-<seed>); then, under the same load without injected faults, the
    kills and the Redis restart (out/kills): recovery is timed while no injected fault can hide it.
    Each part's journal goes through the invariant check.
    """
    lab = BenchLab("soak", out / "lab")
    result = SoakResult(budget_ms=lab.settings.checkout.budget_ms)
    lab.start()
    try:
        parts = [f"chaos-{chaos_seed}" for chaos_seed in chaos_seeds(seed, duration_s)]
        for part in parts:
            chaos = run_load(lab, out / part, "soft", duration_s, users, int(part.split("-")[1]))
            result.load_exit = max(result.load_exit, chaos.wait(timeout=duration_s + 120))
            result.scenarios += injected_scenarios(out / part)
        parts.append("kills")
        kills = run_load(lab, out / "kills", "none", duration_s, users, seed)
        started = time.monotonic()
        for service, share in DISRUPTIONS:
            time.sleep(max(0.0, started + share * duration_s - time.monotonic()))
            result.disruptions.append(disrupt(lab, service))
        result.load_exit = max(result.load_exit, kills.wait(timeout=duration_s + 120))
        for part in parts:
            judge_checkouts(out / part, result)
            result.invariants[part] = check_invariants(lab, out / part)
        result.invariants["ok"] = all(result.invariants[part]["ok"] for part in parts)
    finally:
        lab.stop()
    (out / "soak.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of load (default 180)")
    parser.add_argument("--users", type=int, default=20, help="the most users at once (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="the chaos schedule's seed (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default artifacts/soak/<time>)")
    options = parser.parse_args(argv)
    out = options.out or Path("artifacts/soak") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    result = soak(out, options.duration, options.users, options.seed)
    print(json.dumps(result.to_dict(), indent=2))
    print(f"soak {'passed' if result.ok else 'FAILED'}; report in {out}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
