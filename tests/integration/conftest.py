"""Fixtures of the integration suite: tests here run against a module's real lab (its `lab` fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest

from purchase_lab.flags import CHECKOUT_FALLBACKS, LIVE_FILE_NAME
from purchase_lab.health import wait_until
from purchase_lab.lab_reset import reset_lab
from tests.conftest import Lab
from tests.integration.faults_lab import settle
from tests.integration.test_shop import call


@pytest.fixture
def flags_path(lab: Lab) -> Path:
    """The live flags file of the running lab, so that flag_variants changes what its processes serve."""
    return Path(lab.env["PURCHASE_CONTROL_DIR"]) / LIVE_FILE_NAME


def restore(lab: Lab) -> None:
    """Put a lab back as committed: flags reset, no fault rules, every process running again.

    It returns once the gateway serves the committed checkout (fallbacks on), so the next test never
    starts while the flag change is still on its way (each process polls the file every 100 ms).
    """
    reset_lab(Path(lab.env["PURCHASE_CONTROL_DIR"]))
    settle(lab)
    stopped = [name for name, process in lab.processes.items() if not process.running]
    if stopped:
        lab.start(*stopped)
    wait_until(lambda: serves_fallbacks(lab), f"the gateway serving the committed {CHECKOUT_FALLBACKS}", 5)


def serves_fallbacks(lab: Lab) -> bool:
    """True when the gateway evaluates checkout.fallbacks on (the committed default) for a user."""
    path = "/api/v1/admin/flags/evaluate?user_id=anyone"
    return call(lab, "GET", path, Authorization=f"Bearer {lab.admin_token}").body["flags"][CHECKOUT_FALLBACKS] is True
