"""`python -m bench [--quick] [--out DIR]`: how close Purchase Lab runs to its floor, and what each layer costs.

One process tree, one machine, one run: the bare rig (floor and per-call layers), then three labs (telemetry
on, unsampled and off) compared at c=1, then the shipped one alone for throughput, the degraded paths and the
control plane. Everything listens on loopback ports below 32768 and every loop is bounded in count or time.
See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import control_plane, footprint, report
from bench.checkout import c1_runs, throughput
from bench.client import Shopper
from bench.degraded import degraded_report
from bench.floor import floor_report, measure_round_trips
from bench.lab import BenchLab, LabStartError
from bench.layers import flag_evaluation, layer_report
from bench.rig import REPO, BareRig
from bench.stats import ratio

log = logging.getLogger("bench")


@dataclass(frozen=True)
class Plan:
    """How much of each section to run."""

    round_trips: int  # timed calls of each per-call variant
    rounds: int  # alternating blocks they are taken in
    warmup: int
    checkouts: int  # returning checkouts at c=1 on each lab
    first_orders: int
    threads: int  # shoppers of the throughput run
    load_s: float
    email_down: int
    pricing_max_paid: int
    pricing_open: int
    control_repeats: int
    flag_calls: int


FULL = Plan(3000, 5, 200, 400, 150, 12, 20.0, 150, 20, 50, 5, 50_000)
# The CI smoke: every section runs and every figure is written, from a handful of samples.
QUICK = Plan(150, 2, 20, 24, 8, 4, 2.0, 8, 6, 3, 1, 2_000)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny counts, a few seconds per section")
    parser.add_argument("--out", type=Path, default=Path("artifacts/bench"), help="where bench.json and bench.md go")
    return parser.parse_args(argv)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "commit": commit,
        "load_average_before": [round(value, 2) for value in os.getloadavg()],
    }


def bare_sections(plan: Plan, logs: Path) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """The floor, from the bare rig, and the per-call samples the layer costs are read from."""
    log.info("floor: bare round trips, %d calls of each variant", plan.round_trips)
    with BareRig(logs / "bare") as rig:
        samples = measure_round_trips(rig, plan.round_trips, plan.rounds, plan.warmup)
        return floor_report(samples, rig.redis_port), samples


def metrics_status(lab: BenchLab) -> int:
    """The status of the gateway's GET /metrics: 200 when the lab's telemetry is on."""
    host, port = lab.gateway_address
    shopper = Shopper(host, port)
    try:
        return shopper.request("GET", "/metrics").status
    finally:
        shopper.close()


# The labs the checkout is compared on: as shipped, with traces sampled away (metrics and the
# instrumentation still on), and with telemetry off. The first one also runs every later section.
LAB_VARIANTS = {
    "telemetry_on": {"OTEL_SDK_DISABLED": "false"},
    "telemetry_unsampled": {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_SAMPLER": "always_off"},
    "telemetry_off": {"OTEL_SDK_DISABLED": "true"},
}


def compare_labs(plan: Plan, labs: dict[str, BenchLab]) -> dict[str, Any]:
    """Start the labs, time the checkout on each in alternating blocks, and take their idle footprint."""
    log.info("starting %d labs: %s", len(labs), ", ".join(labs))
    started = {name: lab.start() for name, lab in labs.items()}
    log.info("checkout at c=1: %d returning checkouts on each lab, %d first orders", plan.checkouts, plan.first_orders)
    timed = c1_runs(labs, plan.checkouts, plan.first_orders, plan.rounds)
    return {
        "returning": {name: timed[f"returning_{name}"].report() for name in labs},
        "first_order": timed["first_order"].report(),
        "endpoints": {name: metrics_status(lab) for name, lab in labs.items()},
        "footprint": {
            name: {**footprint.startup(lab, started[name]), "memory_idle": footprint.memory(lab)}
            for name, lab in labs.items()
        },
    }


def load_and_break(plan: Plan, lab: BenchLab, happy: dict[str, Any]) -> dict[str, Any]:
    """Throughput, the footprint after load, the degraded paths and the control plane."""
    log.info("throughput: %d shoppers for %.0f s", plan.threads, plan.load_s)
    load = throughput(lab, plan.threads, plan.load_s)
    after_load = footprint.memory(lab)
    log.info("degraded paths: email down, pricing slower than its deadline")
    degraded = degraded_report(lab, happy, plan.email_down, plan.pricing_max_paid, plan.pricing_open)
    log.info("control plane: %d flag and fault changes of each kind", plan.control_repeats)
    return {
        "throughput": load,
        "memory_after_load": after_load,
        "degraded": degraded,
        "control_plane": control_plane.measure(lab, plan.control_repeats),
    }


def lab_sections(plan: Plan, logs: Path, floor: dict[str, Any], samples: dict[str, list[float]]) -> dict[str, Any]:
    """Everything measured on real labs: checkout, layers, degraded paths, footprint, control plane."""
    labs = {name: BenchLab(name, logs / name, env) for name, env in LAB_VARIANTS.items()}
    main = labs["telemetry_on"]
    try:
        compared = compare_labs(plan, labs)
        for lab in labs.values():
            if lab is not main:  # from here on the machine is the shipped lab's alone
                lab.stop()
        happy = compared["returning"]["telemetry_on"]
        later = load_and_break(plan, main, happy)
    finally:
        for lab in labs.values():
            lab.stop()
    floors, first = floor["checkout_floor_ms"], compared["first_order"]
    flags = flag_evaluation(logs / "flags", plan.flag_calls)
    compared["footprint"]["telemetry_on"]["memory_after_load"] = later["memory_after_load"]
    return {
        "lab_settings": _settings(main),
        "checkout": {
            "returning_c1": happy,
            "first_order_c1": first,
            "throughput": later["throughput"],
            "ratio_p50_to_floor": {
                "returning": ratio(happy.get("p50_ms"), floors["returning"]),
                "first_order": ratio(first.get("p50_ms"), floors["first_order"]),
            },
        },
        "layers": layer_report(samples, compared["returning"], compared["endpoints"], flags),
        "degraded": later["degraded"],
        "footprint": compared["footprint"],
        "control_plane": later["control_plane"],
    }


def _settings(lab: BenchLab) -> dict[str, Any]:
    settings = lab.settings
    return {
        "gateway_workers": settings.gateway_workers,
        "gateway_threads": settings.gateway_threads,
        "deadlines_ms": {
            "cart": settings.cart_deadline_ms,
            "pricing": settings.pricing_deadline_ms,
            "email": settings.email_deadline_ms,
        },
        "log_level": settings.log_level,
    }


def run(plan: Plan, out: Path, mode: str) -> dict[str, Any]:
    """Every section, in order; the whole result."""
    began = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    logs = out / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    host = machine()
    floor, samples = bare_sections(plan, logs)
    labs = lab_sections(plan, logs, floor, samples)
    host["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    return {
        "schema": report.SCHEMA,
        "mode": mode,
        "started_at": started_at,
        "duration_s": round(time.monotonic() - began, 1),
        "plan": asdict(plan),
        "machine": host,
        "floor": floor,
        **labs,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the bench, write bench.json and bench.md, and print the table."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    mode = "quick" if args.quick else "full"
    try:
        result = run(QUICK if args.quick else FULL, args.out, mode)
    except (LabStartError, RuntimeError, TimeoutError) as error:
        log.error("the bench stopped: %s (the processes' logs are in %s)", error, args.out / "logs")
        return 1
    json_path, markdown_path = report.write(result, args.out)
    sys.stdout.write(report.markdown(result))
    log.info("wrote %s and %s", json_path, markdown_path)
    return 0
