"""`python -m bench.deploys [--out DIR]`: what deploys cost on a real lab under steady checkouts.

Starts `purchase up --replicas pricing=3` on free loopback ports, keeps shoppers checking out, and times:
a rolling deploy of pricing 1.2 over 3 replicas (and the checkouts it failed: must be 0), a canary of the
bad 1.1 (time until it is caught, the calls it served, the checkouts it cost), and a rollback to 1.0
(total, and until traffic switched). Writes deploys.json and deploys.md under DIR. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from purchase_lab.deploy.state import read_state
from purchase_lab.health import wait_until
from purchase_lab.ports import free_base_port
from purchase_lab.shoppers import Shoppers
from purchase_lab.topology import GRPC_SERVICES, SERVICES

log = logging.getLogger("bench.deploys")
REPO = Path(__file__).resolve().parents[1]
PURCHASE = [sys.executable, "-m", "purchase_lab.cli"]
GATE_WINDOW_S = 5
CANARY_WINDOW_S = 20
SHOPPERS = 3


class DeployLab:
    """`purchase up --replicas pricing=3` in the background, on its own ports and run dir."""

    def __init__(self, directory: Path) -> None:
        self.run_dir = directory / "run"
        ports = {name: free_base_port(3 if name == "pricing" else 1) for name in SERVICES}
        self.gateway = f"http://127.0.0.1:{ports['gateway']}"
        self.env = {
            **os.environ,
            **{f"PURCHASE_{name.upper()}_PORT": str(port) for name, port in ports.items()},
            **{f"PURCHASE_{name.upper()}_METRICS_PORT": str(free_base_port(3)) for name in GRPC_SERVICES},
            "PURCHASE_RUN_DIR": str(self.run_dir),
            "PURCHASE_CONTROL_DIR": str(self.run_dir / "control"),
            "OTEL_TRACES_EXPORTER": "none",
        }
        directory.mkdir(parents=True, exist_ok=True)
        self._log = (directory / "up.log").open("wb")
        self.process = subprocess.Popen(
            [*PURCHASE, "up", "--replicas", "pricing=3"], cwd=REPO, env=self.env, stdout=self._log, stderr=self._log
        )

    def purchase(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one `purchase` command against the lab."""
        return subprocess.run([*PURCHASE, *args], cwd=REPO, env=self.env, capture_output=True, text=True, check=False)

    def wait_healthy(self) -> None:
        """Until `purchase status` says every process is healthy."""
        wait_until(lambda: self.purchase("status").returncode == 0, "the deploy lab", 120, self.running)

    def running(self) -> bool:
        """True while `purchase up` runs."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the lab (SIGTERM: it stops every process)."""
        self.process.terminate()
        self.process.wait(60)
        self._log.close()


def timed(lab: DeployLab, *args: str) -> tuple[float, subprocess.CompletedProcess[str], dict[str, Any]]:
    """Seconds a `purchase` command took, its result, and the deploy state it left."""
    began = time.monotonic()
    result = lab.purchase(*args)
    return time.monotonic() - began, result, read_state(lab.run_dir) or {}


def switch_seconds(state: dict[str, Any]) -> float | None:
    """From the start of a rollback to the moment its traffic switched."""
    switched = [event["time"] for event in state.get("events", []) if "traffic now goes to" in event["message"]]
    return round(switched[0] - state["started"], 2) if switched else None


def measure(lab: DeployLab) -> dict[str, Any]:
    """The three deploys, in order, under steady checkouts."""
    with Shoppers(lab.gateway, workers=SHOPPERS, max_seconds=600) as shoppers:
        shoppers.wait_for(20)
        before = len(shoppers.tally.failed)
        seconds, result, _ = timed(lab, "deploy", "pricing", "1.2", "--window", str(GATE_WINDOW_S))
        if result.returncode != 0:
            raise RuntimeError(f"the rolling deploy failed: {result.stderr}")
        rolling = {
            "seconds": round(seconds, 1),
            "gate_window_s": GATE_WINDOW_S,
            "failed_checkouts": len(shoppers.tally.failed) - before,
        }
        before, placed = len(shoppers.tally.failed), shoppers.tally.placed
        seconds, result, state = timed(
            lab, "deploy", "pricing", "1.1", "--strategy", "canary", "--window", str(CANARY_WINDOW_S)
        )
        gate = state.get("gate") or {}
        canary = {
            "caught": result.returncode == 1 and "gate failed" in result.stderr,
            "seconds_to_abort": round(seconds, 1),
            "window_s": CANARY_WINDOW_S,
            "calls_served": gate.get("candidate", {}).get("calls"),
            "calls_failed": gate.get("candidate", {}).get("errors"),
            "failed_checkouts": len(shoppers.tally.failed) - before,
            "checkouts_meanwhile": shoppers.tally.placed - placed + len(shoppers.tally.failed) - before,
        }
        before = len(shoppers.tally.failed)
        seconds, result, state = timed(lab, "rollback", "pricing")
        if result.returncode != 0:
            raise RuntimeError(f"the rollback failed: {result.stderr}")
        rollback = {
            "seconds": round(seconds, 1),
            "seconds_to_switch": switch_seconds(state),
            "failed_checkouts": len(shoppers.tally.failed) - before,
        }
    return {
        "rolling_3_replicas": rolling,
        "bad_canary": canary,
        "rollback": rollback,
        "checkouts": shoppers.tally.total,
    }


def markdown(result: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    rolling, canary, rollback = result["rolling_3_replicas"], result["bad_canary"], result["rollback"]
    rows = [
        ("rolling deploy of 3 pricing replicas to 1.2", f"{rolling['seconds']} s (gate windows of {GATE_WINDOW_S} s)"),
        ("failed checkouts during the rolling deploy (must be 0)", str(rolling["failed_checkouts"])),
        ("bad canary (1.1) caught", str(canary["caught"])),
        ("time from deploy to abort", f"{canary['seconds_to_abort']} s (window {CANARY_WINDOW_S} s)"),
        ("calls the canary served / failed", f"{canary['calls_served']} / {canary['calls_failed']}"),
        ("checkouts failed while the canary ran", f"{canary['failed_checkouts']} of {canary['checkouts_meanwhile']}"),
        ("rollback of pricing to 1.0: until traffic switched", f"{rollback['seconds_to_switch']} s"),
        ("rollback: total, old replicas stopped", f"{rollback['seconds']} s"),
        ("failed checkouts during the rollback", str(rollback["failed_checkouts"])),
    ]
    return "| deploys | |\n|---|---|\n" + "".join(f"| {name} | {value} |\n" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    """Run the deploy bench and write its report."""
    parser = argparse.ArgumentParser(prog="python -m bench.deploys", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("artifacts/bench"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    lab = DeployLab(args.out / "logs" / "deploys")
    try:
        lab.wait_healthy()
        result = measure(lab)
    except (RuntimeError, TimeoutError) as error:
        log.error("the deploy bench stopped: %s (logs in %s)", error, args.out / "logs" / "deploys")
        return 1
    finally:
        lab.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "deploys.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / "deploys.md").write_text(markdown(result), encoding="utf-8")
    sys.stdout.write(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
