"""`python -m loadtest.check RUN_DIR`: check a finished run's invariants and add them to its report.

Reads RUN_DIR/journal.jsonl, compares it with what the running lab stored (see invariants.py), and
writes RUN_DIR/invariants.json and the invariants section of summary.md and summary.json.
Exit status: 0 the invariants hold, 1 one is violated, 2 the check could not be made.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from loadtest import report
from loadtest.invariants import EMAIL_WAIT_S, Shop, ShopUnreachable, check
from loadtest.journal import read_records
from purchase_lab.config import Settings


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    """The run to check and where the lab is."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.check", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="the directory a load run wrote its report into")
    parser.add_argument("--host", default=f"http://127.0.0.1:{settings.ports.gateway}", help="the gateway's URL")
    parser.add_argument("--email-target", default=settings.email_target, help="host:port of the email service")
    parser.add_argument("--redis-url", default=settings.redis_url, help="the lab's Redis, to read its stored records")
    parser.add_argument(
        "--email-wait", type=float, default=EMAIL_WAIT_S, help="seconds to wait for queued emails to be delivered"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Check, write the result beside the report, say what was found."""
    options = parse_args(argv, Settings.from_env())
    run_dir: Path = options.run_dir
    try:
        records = read_records(run_dir / "journal.jsonl")
    except FileNotFoundError:
        hint = "give the directory of a finished `purchase load`"
        print(f"{run_dir}/journal.jsonl does not exist; {hint}", file=sys.stderr)
        return 2
    shop = Shop(options.host, options.email_target, options.redis_url)
    try:
        result = check(records, shop, options.email_wait)
    except ShopUnreachable as error:
        print(f"the invariants could not be checked: {error}", file=sys.stderr)
        return 2
    finally:
        shop.close()
    (run_dir / "invariants.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    summary_path = run_dir / "summary.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        report.write_summary(run_dir, {**summary, "invariants": result.to_dict()})
    counts = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in result.counts.items())
    print(f"invariants {'hold' if result.ok else 'VIOLATED'}: {counts}")
    for violation in result.violations:
        print(f"  {violation.kind} for {violation.user}: {violation.detail}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
