"""Debian's Chromium driven by Playwright: where it is, how it starts, and the fixtures every browser test shares.

Never `playwright install`: the browser is Debian's package. On a laptop without it the tests skip loudly;
under CI (CI=true) a missing part fails them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require(present: bool, what: str, in_ci: bool) -> None:
    """Skip loudly on a developer's machine when a browser part is missing; fail under CI."""
    if present:
        return
    if in_ci:
        pytest.fail(f"{what} is missing under CI, where the browser tests must run")
    pytest.skip(f"NOT TESTED: the browser tests need {what}")


@pytest.fixture(scope="module")
def sync_api(in_ci: bool) -> Any:
    """Playwright's sync API, or a loud skip."""
    try:
        from playwright import sync_api
    except ImportError:
        require(False, "Playwright for Python (pip install playwright, in .venv)", in_ci)
    require(CHROMIUM.exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)", in_ci)
    return sync_api


@pytest.fixture(scope="module")
def browser(sync_api: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, started once for the module."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
