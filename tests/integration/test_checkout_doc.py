"""docs/checkout.md, row by row: its commands, as written, against a real lab, printing what the doc says."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from purchase_lab.flags import CHECKOUT_FALLBACKS, LIVE_FILE_NAME, list_flags
from purchase_lab.health import wait_until
from tests.conftest import Lab
from tests.docs.commands import ROOT, Step, steps
from tests.integration.faults_lab import settle
from tests.integration.test_shop import call

pytestmark = pytest.mark.integration

DOC = ROOT / "docs" / "checkout.md"
SECTION = "Each row, step by step"
# The doc's address of a lab started by `purchase up`; the test's lab listens elsewhere.
DOC_GATEWAY = "localhost:8080"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A fresh lab, as a student's `purchase up` starts it."""
    system = Lab(tmp_path_factory.mktemp("checkout-doc"))
    try:
        yield system.start()
    finally:
        system.stop()


def shell(lab: Lab, command: str) -> str:
    """Run one doc command in bash, `purchase` on PATH and aimed at this lab; return what it printed."""
    env = {**os.environ, **lab.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = command.replace(DOC_GATEWAY, f"localhost:{lab.settings.ports.gateway}")
    done = subprocess.run(
        ["bash", "-c", command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"{command!r} failed: {done.stderr}"
    return done.stdout


def fallbacks_in_file(lab: Lab) -> bool:
    """Whether the live flags file turns checkout.fallbacks on for an ordinary user."""
    path = Path(lab.env["PURCHASE_CONTROL_DIR"]) / LIVE_FILE_NAME
    status = next(status for status in list_flags(path) if status.key == CHECKOUT_FALLBACKS)
    return status.state == "ENABLED" and status.summary == "on for everyone"


def follows_controls(lab: Lab) -> None:
    """Wait until every process applies the flags and faults now in the files (a change takes ~0.1 s)."""
    settle(lab)
    wanted = fallbacks_in_file(lab)
    path = "/api/v1/admin/flags/evaluate?user_id=anyone"

    def served() -> bool:
        reply = call(lab, "GET", path, Authorization=f"Bearer {lab.admin_token}")
        return reply.body["flags"][CHECKOUT_FALLBACKS] is wanted

    wait_until(served, f"the gateway serving {CHECKOUT_FALLBACKS}={wanted}", 5)


def test_the_doc_has_a_step_for_every_row_of_the_table() -> None:
    titles = [step.title for step in steps(DOC, SECTION)]

    assert titles == [
        "Start clean",
        "Nothing fails",
        "Cart down (steps 1, 3, 4)",
        "Pricing down while you shop (step 0)",
        "Pricing down, fallbacks on, not eligible (step 2)",
        "Pricing down, fallbacks on, eligible (step 2)",
        "Pricing down, fallbacks off (step 2)",
        "Email down, fallbacks on (step 5)",
        "Email down, fallbacks off (step 5)",
        "Clean up",
    ]


def test_each_row_prints_what_the_doc_says(lab: Lab) -> None:
    for step in steps(DOC, SECTION):
        run_step(lab, step)


def run_step(lab: Lab, step: Step) -> None:
    """Run a step's commands in order; each documented output must match (one shown without output is not checked)."""
    assert step.commands, f"step {step.title!r} has no commands"
    for command in step.commands:
        printed = shell(lab, command.line)
        if command.line.startswith("purchase "):
            follows_controls(lab)
        documented = "\n".join(command.output)
        assert not command.output or command.matches(printed), (
            f"{step.title}: {command.line}\nprinted:\n{printed}\ndoc says:\n{documented}"
        )
