"""One bounded headless load run with its report: what `purchase load` runs, as `python -m loadtest`.

Locust runs in this process through its library API. The shop's users (users.py) follow a load
shape (shapes.py) for a set time, the chaos schedule (chaos.py) injects and clears faults
meanwhile, and every answer a user got is kept in the journal (journal.py). At the end the run
directory holds locust's CSV and HTML, journal.jsonl, and the summary (report.py). Importing this
module imports locust, which patches the standard library for gevent: run it in its own process.
"""

from __future__ import annotations

import argparse
import csv
import logging
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gevent
import locust
from locust.env import Environment
from locust.html import get_html_report
from locust.log import setup_logging
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV, stats_history

from loadtest import chaos as chaos_schedule
from loadtest import report
from loadtest.chaos import Chaos
from loadtest.journal import Journal
from loadtest.shapes import SHAPES
from loadtest.users import Employee, FirstTimeCustomer, LegacyAppClient, PromoCustomer, ReturningCustomer
from purchase_lab.config import control_dir
from purchase_lab.faults import FaultStore

log = logging.getLogger("loadtest")

USERS = [ReturningCustomer, FirstTimeCustomer, PromoCustomer, Employee, LegacyAppClient]
LOCUSTFILE = "loadtest/locustfile.py"
# Users finish the task they are in when the run ends (a checkout with its retries takes at most
# about 3 x 5 s + 2 x 3 s), so that no request is cut off without its answer in the journal.
STOP_TIMEOUT_S = 25.0
# How much longer than its shape a run may take before it is cut short.
GRACE_S = 10.0
PROGRESS_EVERY_S = 5.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options of one run."""
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="the gateway's base URL, such as http://127.0.0.1:8080")
    parser.add_argument("--out", required=True, type=Path, help="the directory to write the report into")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="steady", help="how the user count moves")
    parser.add_argument("--users", type=int, default=20, help="the most users at once (default 20)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--think-time", type=float, default=1.0, help="scale of the pauses between clicks")
    parser.add_argument("--chaos", choices=chaos_schedule.MODES, default="none", help="which faults to inject")
    parser.add_argument("--seed", type=int, default=1, help="the chaos schedule's seed (default 1)")
    parser.add_argument("--control-dir", type=Path, default=None, help="the lab's control dir (default: configured)")
    options = parser.parse_args(argv)
    if options.users < 1 or options.duration <= 0 or options.think_time < 0:
        parser.error("--users must be at least 1, --duration above 0 and --think-time at least 0")
    return options


def locust_options(options: argparse.Namespace) -> argparse.Namespace:
    """What locust and the users read from `environment.parsed_options`."""
    return argparse.Namespace(
        headless=False,  # the shape's end stops the users; this module quits the runner itself
        num_users=options.users,
        run_time=options.duration,
        think_time=options.think_time,
        enable_rebalancing=False,
        tags=None,
        exclude_tags=None,
    )


def progress(environment: Environment, journal: Journal) -> None:
    """Log one line of progress every few seconds."""
    while True:
        gevent.sleep(PROGRESS_EVERY_S)
        total = environment.stats.total
        placed = sum(1 for record in journal.records if record.is_checkout and record.ok)
        log.info(
            "%d users, %d requests, %d failed, %d checkouts placed",
            environment.runner.user_count,
            total.num_requests,
            total.num_failures,
            placed,
        )


def run_load(
    options: argparse.Namespace, environment: Environment, chaos: Chaos, journal: Journal
) -> tuple[bool, float]:
    """Run the shape to its end with chaos alongside; return whether it ran to its end, and for how long."""
    runner = environment.create_local_runner()
    environment.events.init.fire(environment=environment, runner=runner, web_ui=None)
    helpers = [gevent.spawn(stats_history, runner), gevent.spawn(progress, environment, journal)]
    started = time.monotonic()
    journal.started_at = time.time()
    runner.start_shape()
    shape = runner.shape_greenlet
    helpers.append(gevent.spawn(chaos.run, started))
    try:
        shape.join(timeout=options.duration + STOP_TIMEOUT_S + GRACE_S)
        finished = shape.ready()
        if not finished:
            log.error("the run did not end within %.0f s of its shape; stopping it now", STOP_TIMEOUT_S + GRACE_S)
    except KeyboardInterrupt:
        log.warning("interrupted: stopping the users, clearing the faults, writing the report")
        finished = False
    finally:
        elapsed_s = min(time.monotonic() - started, options.duration)
        gevent.killall(helpers, block=True)  # chaos clears the rules of an open window as it ends
        runner.quit()
    return finished, elapsed_s


def write_locust_files(environment: Environment, out: Path) -> None:
    """locust's own report: locust.html, and the CSV files it writes with --csv."""
    (out / "locust.html").write_text(get_html_report(environment, show_download_link=False), encoding="utf-8")
    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for name, write in (("stats", writer.requests_csv), ("failures", writer.failures_csv)):
        with (out / f"locust_{name}.csv").open("w", newline="", encoding="utf-8") as file:
            write(csv.writer(file))
    with (out / "locust_exceptions.csv").open("w", newline="", encoding="utf-8") as file:
        writer.exceptions_csv(csv.writer(file))


def run_info(
    options: argparse.Namespace, started_at: datetime, finished: bool, elapsed_s: float, exceptions: int
) -> dict[str, Any]:
    """What the summary says about the run itself."""
    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "host": options.host,
        "shape": options.shape,
        "users": options.users,
        "duration_s": options.duration,
        "elapsed_s": round(elapsed_s, 1),
        "think_time": options.think_time,
        "chaos": options.chaos,
        "seed": options.seed,
        "cut_short": not finished,
        "user_exceptions": exceptions,
    }


def build_environment(options: argparse.Namespace) -> Environment:
    """locust's environment for the run: every cohort of users, the chosen shape, our options."""
    return Environment(
        user_classes=USERS,
        shape_class=SHAPES[options.shape](options.users, options.duration),
        events=locust.events,
        host=options.host,
        stop_timeout=STOP_TIMEOUT_S,
        parsed_options=locust_options(options),
        locustfile=LOCUSTFILE,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the load, write the report; exit 0 when the run completed without errors in the users' code."""
    options = parse_args(argv)
    # Stop cleanly on SIGINT even when started with it ignored (as a background job is): `purchase load`
    # passes its Ctrl-C, SIGTERM or SIGHUP on as one SIGINT. SIGTERM (sent by the kernel when `purchase load`
    # dies) and SIGHUP stop it the same way, so the chaos schedule clears its faults whatever ends the run.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.default_int_handler)
    setup_logging("INFO")
    options.out.mkdir(parents=True, exist_ok=True)
    store = FaultStore(options.control_dir or control_dir())
    chaos = Chaos(chaos_schedule.build_schedule(options.chaos, options.seed, options.duration), store)
    environment = build_environment(options)
    journal = Journal()
    environment.events.request.add_listener(journal.on_request)
    started_at = datetime.now(UTC)
    log.info("%s load on %s for %.0f s, %d users at most", options.shape, options.host, options.duration, options.users)
    finished, elapsed_s = run_load(options, environment, chaos, journal)
    exceptions = sum(row["count"] for row in environment.runner.exceptions.values())
    write_locust_files(environment, options.out)
    journal.write(options.out / "journal.jsonl")
    info = run_info(options, started_at, finished, elapsed_s, exceptions)
    summary = report.summarise(journal.records, [event.to_dict() for event in chaos.events], info)
    report.write_summary(options.out, summary)
    log.info("%s checkouts placed per second; report in %s", summary["checkouts"]["per_second"], options.out)
    if exceptions:
        log.error("the users' code raised %d exceptions; see locust_exceptions.csv", exceptions)
    return 0 if finished and not exceptions else 1
