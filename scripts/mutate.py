"""`make mutate`: mutation testing (mutmut) of the code the lab's guarantees rest on, module by module, with a report.

Each module is mutated with only the fast tests that cover it, in a scratch directory of its own
(artifacts/mutate/<module>/), so the runs do not share mutmut's state. Every mutant that survives is
looked up in the committed triage (scripts/mutation-triage.toml): a survivor it explains as equivalent
is triaged; any other is reported as untriaged. The report goes to artifacts/mutate/report.md and
report.json. Exit status: 0 when no module that must be fully triaged has an untriaged survivor, 1 otherwise.

    python scripts/mutate.py                 # every module
    python scripts/mutate.py outbox breaker  # some of them
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "artifacts" / "mutate"
TRIAGE = ROOT / "scripts" / "mutation-triage.toml"
# What the scratch directory must not link to: it holds mutmut's own copies, and these are not code.
NOT_LINKED = {"artifacts", "mutants", "node_modules", "pyproject.toml", "purchase_lab.egg-info"}
# Two shared cores: two mutants at a time.
CHILDREN = "2"
ATTEMPTS = 3


@dataclass(frozen=True)
class Module:
    """A part of the code under mutation, the tests that cover it, and whether every survivor must be triaged."""

    name: str
    sources: tuple[str, ...]
    tests: tuple[str, ...]
    strict: bool = False


# The checkout's timing tests (resilience, breakers, the budget table) are left out: on a loaded machine their
# time windows fail the unmutated run, and would count slowness as kills.
MODULES = [
    Module(
        "checkout",
        ("services/gateway/checkout.py",),
        (
            "tests/gateway/test_checkout.py",
            "tests/gateway/test_checkout_table.py",
            "tests/gateway/test_checkout_errors.py",
            "tests/gateway/test_checkout_cancel.py",
        ),
        strict=True,
    ),
    Module(
        "cart-store",
        ("services/cart/store.py",),
        ("tests/cart/test_store.py", "tests/cart/test_store_races.py", "tests/cart/test_store_cancel.py"),
        True,
    ),
    Module(
        "outbox",
        ("services/email/outbox.py",),
        ("tests/email/test_outbox.py", "tests/email/test_outbox_paging.py", "tests/email/test_server.py"),
        True,
    ),
    Module("email-relay", ("services/gateway/email_queue.py",), ("tests/gateway/test_email_queue.py",)),
    Module(
        "flags-evaluation",
        ("purchase_lab/flags/evaluator.py", "purchase_lab/flags/rollout.py"),
        ("tests/flags/test_evaluator.py", "tests/flags/test_rollout.py"),
    ),
    Module("fault-engine", ("purchase_lab/faults/engine.py",), ("tests/faults/test_engine.py",)),
    Module("breaker", ("purchase_lab/breaker.py",), ("tests/test_breaker.py",)),
]


@dataclass
class Survivor:
    """A mutant no test killed (or that no test runs), its diff, and its triage."""

    mutant: str
    status: str
    diff: str
    why: str = ""

    @property
    def triaged(self) -> bool:
        """True when the triage file explains it."""
        return bool(self.why)


@dataclass
class Result:
    """One module's mutants, by outcome."""

    module: str
    strict: bool
    mutants: int = 0
    killed: int = 0
    timeouts: int = 0  # of the killed: mutants whose tests ran past mutmut's time limit
    seconds: float = 0.0
    survivors: list[Survivor] = field(default_factory=list)
    failure: str = ""  # why the module could not be measured

    @property
    def score(self) -> float:
        """Killed mutants over all mutants, in percent."""
        return 100.0 * self.killed / self.mutants if self.mutants else 0.0

    @property
    def untriaged(self) -> list[Survivor]:
        """The survivors the triage file does not explain."""
        return [survivor for survivor in self.survivors if not survivor.triaged]


def mutation_of(diff: str) -> str:
    """The lines a mutant changed (- and + lines of its diff), which name it across renumbering."""
    lines = [line for line in diff.splitlines() if line[:1] in "-+" and not line.startswith(("---", "+++"))]
    return "\n".join(line.rstrip() for line in lines)


def function_of(mutant: str) -> str:
    """The mutated function's name: the mutant's name without its number."""
    return mutant.rsplit("__mutmut_", 1)[0]


def load_triage(path: Path = TRIAGE) -> dict[tuple[str, str], str]:
    """(function, mutation) -> why the mutant is equivalent, from the committed triage file."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("equivalent", [])
    return {(entry["function"], entry["mutation"].strip()): entry["why"] for entry in entries}


def workdir(module: Module) -> Path:
    """A fresh scratch directory for the module: links to the tree, and a pyproject.toml that configures mutmut."""
    directory = OUT / module.name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    # mutmut runs the tests in its copy of the tree: every package, and the files tests read (flags, docs, ...).
    copied = sorted(entry.name for entry in ROOT.iterdir() if entry.name not in NOT_LINKED and entry.name[0] != ".")
    for name in copied:
        (directory / name).symlink_to(ROOT / name)
    settings = "\n".join(
        [
            "",
            "[tool.mutmut]",
            f"source_paths = {json.dumps(list(module.sources))}",
            f"also_copy = {json.dumps(copied)}",
            f"pytest_add_cli_args_test_selection = {json.dumps(list(module.tests))}",
            'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]',
            # gRPC does not survive a fork of a process that used it: each mutant forks from a clean server.
            'process_isolation = "forkserver"',
            "",
        ]
    )
    (directory / "pyproject.toml").write_text(
        (ROOT / "pyproject.toml").read_text(encoding="utf-8") + settings, encoding="utf-8"
    )
    return directory


def mutmut(directory: Path, *arguments: str, log: Path | None = None) -> str:
    """Run mutmut in directory; return its output (or write it to log)."""
    command = [str(Path(sys.executable).parent / "mutmut"), *arguments]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if log is None:
        return subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, check=True).stdout
    with log.open("w", encoding="utf-8") as output:
        subprocess.run(command, cwd=directory, env=env, stdout=output, stderr=subprocess.STDOUT, check=True)
    return ""


def run_module(module: Module) -> None:
    """Mutate one module in a fresh scratch directory; note how long it took beside its log."""
    directory = workdir(module)
    (OUT / f"{module.name}.failed").unlink(missing_ok=True)
    started = time.monotonic()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            mutmut(directory, "run", "--max-children", CHILDREN, log=OUT / f"{module.name}.log")
            break
        except subprocess.CalledProcessError:
            # mutmut stops when the unmutated tests fail: on a loaded machine a deadline may pass. Try again,
            # resuming where it stopped; after the last attempt the failure stands.
            if attempt == ATTEMPTS:
                reason = f"the unmutated tests failed {ATTEMPTS} times (see {module.name}.log): nothing was measured"
                (OUT / f"{module.name}.failed").write_text(reason + "\n", encoding="utf-8")
                print(f"  {reason}")
                break
            print(f"  the unmutated tests failed (see {module.name}.log); attempt {attempt + 1} of {ATTEMPTS}")
    (OUT / f"{module.name}.seconds").write_text(f"{time.monotonic() - started:.0f}\n", encoding="utf-8")


def collect(module: Module, triage: dict[tuple[str, str], str]) -> Result:
    """Sort a finished module's mutants into killed and survivors, triaged or not."""
    directory = OUT / module.name
    seconds = float((OUT / f"{module.name}.seconds").read_text(encoding="utf-8"))
    result = Result(module.name, module.strict, seconds=seconds)
    failed = OUT / f"{module.name}.failed"
    if failed.exists():
        result.failure = failed.read_text(encoding="utf-8").strip()
        return result
    for line in mutmut(directory, "results", "--all", "true").splitlines():
        mutant, _, status = line.strip().rpartition(": ")
        if not mutant:
            continue
        result.mutants += 1
        # A mutant that hangs the tests is caught too: its timeout fails the run.
        if status in ("killed", "timeout"):
            result.killed += 1
            result.timeouts += status == "timeout"
            continue
        diff = mutmut(directory, "show", mutant)
        why = triage.get((function_of(mutant), mutation_of(diff)), "")
        result.survivors.append(Survivor(mutant, status, diff, why))
    return result


def markdown(results: list[Result], seconds: float) -> str:
    """The report for people: a score table, then every survivor with its diff and triage."""
    lines = [
        "# Mutation report (mutmut)",
        "",
        f"Run time: {seconds / 60:.1f} min of mutation on {os.cpu_count()} cores (the modules' runs added up).",
        "",
        "| module | mutants | killed (of which timed out) | survived | triaged equivalent | untriaged | score |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        if result.failure:
            lines.append(f"| {result.module} | not measured: {result.failure} | | | | | |")
            continue
        triaged = len(result.survivors) - len(result.untriaged)
        lines.append(
            f"| {result.module} | {result.mutants} | {result.killed} ({result.timeouts}) | {len(result.survivors)} | "
            f"{triaged} | {len(result.untriaged)} | {result.score:.1f}% |"
        )
    for result in results:
        lines += ["", f"## {result.module}", ""]
        for survivor in result.survivors:
            verdict = f"equivalent: {survivor.why}" if survivor.triaged else "UNTRIAGED"
            lines += [f"### {survivor.mutant} ({survivor.status})", "", verdict, "", "```diff", survivor.diff, "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Mutate the modules named (every one when none is), write the report, say whether it is fully triaged."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [module.name for module in MODULES]
    parser.add_argument("modules", nargs="*", help=f"modules to mutate, of: {', '.join(names)} (default: all)")
    parser.add_argument(
        "--report-only", action="store_true", help="mutate nothing: report the last runs again (after triage)"
    )
    options = parser.parse_args(argv)
    unknown = sorted(set(options.modules) - set(names))
    if unknown:
        parser.error(f"no module named {', '.join(unknown)}; choose from {', '.join(names)}")
    chosen = [module for module in MODULES if not options.modules or module.name in options.modules]
    OUT.mkdir(parents=True, exist_ok=True)
    for module in [] if options.report_only else chosen:
        print(f"mutating {module.name} ({', '.join(module.sources)}) ...", flush=True)
        run_module(module)
    # Every module mutated so far is reported, so modules may be run one at a time and reported together.
    done = [module for module in MODULES if (OUT / f"{module.name}.seconds").exists()]
    triage = load_triage()
    results = [collect(module, triage) for module in done]
    seconds = sum(result.seconds for result in results)
    for result in results:
        if result.failure:
            print(f"{result.module}: {result.failure}")
            continue
        print(
            f"{result.module}: {result.mutants} mutants, {result.killed} killed, {len(result.survivors)} survived "
            f"({len(result.untriaged)} untriaged), score {result.score:.1f}%, {result.seconds / 60:.1f} min"
        )
    (OUT / "report.md").write_text(markdown(results, seconds), encoding="utf-8")
    (OUT / "report.json").write_text(
        json.dumps({"seconds": round(seconds), "modules": [asdict(r) | {"score": r.score} for r in results]}, indent=2),
        encoding="utf-8",
    )
    print(f"report: {OUT / 'report.md'} (mutation took {seconds / 60:.1f} min)")
    unmeasured = [r.module for r in results if r.strict and r.failure]
    if unmeasured:
        print(f"not measured: {', '.join(unmeasured)}; run make mutate again on a quieter machine", file=sys.stderr)
        return 1
    unexplained = [s.mutant for r in results if r.strict for s in r.untriaged]
    if unexplained:
        print(
            f"{len(unexplained)} survivors in checkout, cart store or outbox are untriaged: kill them with a test, "
            f"or explain them in {TRIAGE.relative_to(ROOT)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
