"""`purchase load`: put the running lab under load through locust, then check the invariants.

`purchase load` runs a bounded headless locust run with a report (`python -m loadtest`), then the
invariant check on it (`python -m loadtest.check`); `purchase load --ui` starts locust's web UI
instead; `purchase load-check RUN_DIR` checks a finished run again. Locust runs in processes of its
own because importing it patches the standard library for gevent. See docs/load.md.

Every child stops with `purchase load`: SIGINT (Ctrl-C), SIGTERM and SIGHUP are caught, even when they
were ignored when it started (a background job, nohup), and passed on to the child as one SIGINT, so a
chaos run clears its faults and writes its report; the child gets SIGTERM from the kernel if `purchase
load` itself dies (PR_SET_PDEATHSIG). Catching them also means the child starts with every signal at its
default action: an ignored signal would be inherited across exec, a caught one is not.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from purchase_lab.config import Settings, run_dir
from purchase_lab.health import http_ok, wait_until

# The same names as loadtest.curves.CURVES and loadtest.chaos.MODES (a test keeps them in step), repeated
# here so that `purchase` itself never imports the load tests.
SHAPES = ("steady", "ramp-up", "spike")
CHAOS = ("none", "soft", "all")
# What a run may take beyond its load: starting, letting users finish their task, writing the report.
RUN_OVERHEAD_S = 90.0
# How long a stopped run gets to clear its faults and write its report before it is killed.
STOP_GRACE_S = 40.0
CHECK_TIMEOUT_S = 300.0
LAB_START_TIMEOUT_S = 60.0


# The signals that stop `purchase load` and, through it, its children.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class NoLab(RuntimeError):
    """No lab answers where the load should go, and none could be started."""


class Stopped(Exception):
    """`purchase load` received a stop signal (SIGINT, SIGTERM or SIGHUP)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


@contextmanager
def stop_signals() -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP into Stopped while inside, whatever their inherited disposition."""
    previous = {signum: signal.signal(signum, _raise_stopped) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux for SIGTERM when `purchase load` dies, however it dies.

    A preexec function makes Python fork rather than vfork; `purchase load` runs no threads, so that is safe.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def register(commands: argparse._SubParsersAction) -> None:
    """Add `purchase load` and `purchase load-check`."""
    load = commands.add_parser(
        "load",
        help="put the running lab under load through locust; write a report and check the invariants",
        description="Run locust headless against the running lab for a set time with a load shape and, "
        "optionally, a seeded chaos schedule; write a report (summary.md, summary.json, locust's CSV and HTML) "
        "into --out, then check the invariants. With --ui, start locust's web UI instead.",
    )
    load.add_argument("--shape", choices=SHAPES, default="steady", help="how the user count moves (default steady)")
    load.add_argument("--users", type=int, default=20, help="the most users at once (default 20)")
    load.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    load.add_argument(
        "--think-time", type=float, default=1.0, help="scale the pauses between clicks: 1 a person, 0 a robot"
    )
    load.add_argument("--chaos", choices=CHAOS, default="none", help="inject faults while loading (default none)")
    load.add_argument("--seed", type=int, default=1, help="seed of the chaos schedule: same seed, same faults")
    load.add_argument("--out", type=Path, help="report directory (default: <run dir>/load/<time>)")
    load.add_argument("--host", help="the gateway's URL (default: http://127.0.0.1:$PURCHASE_GATEWAY_PORT)")
    load.add_argument("--no-check", action="store_true", help="skip the invariant check after the run")
    load.add_argument(
        "--start-lab", action="store_true", help="when no lab answers, start one for the run and stop it afterwards"
    )
    load.add_argument("--ui", action="store_true", help="start locust's web UI instead of a headless run")
    load.add_argument("--web-host", default="127.0.0.1", help="the web UI's address (default 127.0.0.1)")
    load.add_argument("--web-port", type=int, default=8089, help="the web UI's port (default 8089)")
    load.set_defaults(run=run_load)
    check = commands.add_parser(
        "load-check",
        help="check the invariants of a finished load run against the running lab",
        description="Check that every order the run's clients were told about exists exactly once, that no cart "
        "holds items of a placed order, and that every email was delivered; add the result to the report.",
    )
    check.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the report directory of a `purchase load`")
    check.add_argument("--host", help="the gateway's URL (default: http://127.0.0.1:$PURCHASE_GATEWAY_PORT)")
    check.set_defaults(run=run_check)


def loadtest_root() -> Path:
    """The directory that holds the `loadtest` package: where it is installed, else this clone of the repo."""
    spec = importlib.util.find_spec("loadtest")
    if spec is not None and spec.origin is not None:
        return Path(spec.origin).resolve().parent.parent
    clone = Path(__file__).resolve().parents[2]
    if (clone / "loadtest" / "locustfile.py").exists():
        return clone
    raise FileNotFoundError(
        "the load tests (loadtest/) are not here; run `purchase load` from a clone of the repository"
    )


def child_env(root: Path) -> dict[str, str]:
    """The environment of a locust process: ours, with the load tests importable."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else str(root)}


def supervise(command: list[str], env: dict[str, str], timeout_s: float | None) -> int:
    """Run a child to its end; past timeout_s, or on a stop signal, let it stop cleanly (one SIGINT), then kill it.

    The child has a session of its own, so a Ctrl-C in the terminal reaches only this process, which
    passes it on exactly once: a second one could cut short the child's clearing of its faults. A stop
    signal is raised again as Stopped once the child has stopped. Call it inside stop_signals().
    """
    with subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=_die_with_parent) as child:
        try:
            return child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            print(f"purchase: the run is still going after {timeout_s:.0f} s; stopping it", file=sys.stderr)
        except Stopped as stopped:
            print(f"purchase: {stopped}: stopping it cleanly; this takes a few seconds", file=sys.stderr)
            _stop(child)
            raise
        _stop(child)
        return child.returncode if child.returncode is not None else 1


def until_stopped(run: Callable[[], int]) -> int:
    """run() with SIGINT, SIGTERM and SIGHUP caught; a stop signal ends it with 128 + its number, as shells expect."""
    with stop_signals():
        try:
            return run()
        except Stopped as stopped:
            return 128 + stopped.signum


def _stop(child: subprocess.Popen[bytes]) -> None:
    """One SIGINT, STOP_GRACE_S to finish, then SIGKILL; more stop signals meanwhile change nothing."""
    child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_S
    while child.poll() is None:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
        except Stopped:
            continue  # asked again: the child is stopping already, and must be let clear its faults


def gateway_url(options: argparse.Namespace, settings: Settings) -> str:
    """--host, else the local gateway."""
    return options.host or f"http://127.0.0.1:{settings.ports.gateway}"


@contextmanager
def lab_for_the_run(host: str, start: bool, log_path: Path) -> Iterator[None]:
    """A lab answering at host: the one running already, or with `start` one started now and stopped after."""
    if http_ok(f"{host}/healthz", timeout=2):
        yield
        return
    if not start:
        raise NoLab(
            f"no gateway answers at {host}/healthz; start the lab in another terminal (`make run` or `purchase up`), "
            "pass --start-lab to start one for this run, or --host to load another"
        )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"purchase: starting a lab for this run (its log: {log_path})")
    command = [sys.executable, "-m", "purchase_lab.cli", "up"]
    with (
        log_path.open("w") as log,
        subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True, preexec_fn=_die_with_parent) as lab,
    ):
        try:
            try:
                wait_until(
                    lambda: http_ok(f"{host}/healthz"), "the lab", LAB_START_TIMEOUT_S, alive=lambda: lab.poll() is None
                )
            except (TimeoutError, RuntimeError) as error:
                raise NoLab(f"{error}; see {log_path}") from None
            yield
        finally:
            lab.send_signal(signal.SIGINT)  # `purchase up` stops every process on Ctrl-C
            try:
                lab.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                lab.kill()


def run_load(options: argparse.Namespace) -> int:
    """A headless run and its invariant check, or the web UI; a stop signal stops every child first."""
    return until_stopped(lambda: _run_load(options))


def _run_load(options: argparse.Namespace) -> int:
    settings = Settings.from_env()
    host = gateway_url(options, settings)
    try:
        root = loadtest_root()
    except FileNotFoundError as error:
        print(f"purchase: {error}", file=sys.stderr)
        return 1
    if options.ui:
        return run_ui(root, host, options.web_host, options.web_port)
    if options.users < 1 or options.duration <= 0 or options.think_time < 0:
        print("purchase: --users must be at least 1, --duration above 0 and --think-time at least 0", file=sys.stderr)
        return 2
    out = (options.out or run_dir() / "load" / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")).resolve()
    command = [
        *(sys.executable, "-m", "loadtest", "--host", host, "--out", str(out), "--shape", options.shape),
        *("--users", str(options.users), "--duration", str(options.duration)),
        *("--think-time", str(options.think_time), "--chaos", options.chaos, "--seed", str(options.seed)),
    ]
    try:
        with lab_for_the_run(host, options.start_lab, out / "lab.log"):
            status = supervise(command, child_env(root), options.duration + RUN_OVERHEAD_S)
            if status == 0 and not options.no_check:
                status = check_run(root, out, host)
    except NoLab as error:
        print(f"purchase: {error}", file=sys.stderr)
        return 1
    print(f"report: {out / 'summary.md'} (locust's: {out / 'locust.html'})")
    return status


def check_run(root: Path, out: Path, host: str) -> int:
    """Run the invariant check on a finished run."""
    command = [sys.executable, "-m", "loadtest.check", str(out), "--host", host]
    return supervise(command, child_env(root), CHECK_TIMEOUT_S)


def run_check(options: argparse.Namespace) -> int:
    """`purchase load-check RUN_DIR`."""
    try:
        root = loadtest_root()
    except FileNotFoundError as error:
        print(f"purchase: {error}", file=sys.stderr)
        return 1
    host = gateway_url(options, Settings.from_env())
    return until_stopped(lambda: check_run(root, options.run_dir.resolve(), host))


def run_ui(root: Path, host: str, web_host: str, port: int) -> int:
    """locust's web UI, with every user and a choice of shapes; Ctrl-C stops it."""
    locustfiles = f"{root / 'loadtest' / 'locustfile.py'},{root / 'loadtest' / 'shapes.py'}"
    command = [
        *(sys.executable, "-m", "locust", "-f", locustfiles, "--class-picker"),
        *("--host", host, "--web-host", web_host, "--web-port", str(port)),
    ]
    print(f"locust's web UI: http://{web_host}:{port} (Ctrl-C stops it)")
    return supervise(command, child_env(root), None)
