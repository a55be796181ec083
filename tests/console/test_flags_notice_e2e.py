"""The ops console in a real headless Chromium says so while the lab's processes serve different flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from purchase_lab.acks import ProcessAcks
from tests.browser import browser, sync_api
from tests.console.test_console_e2e import SOON_MS, console_lab, control, log_in, page

pytestmark = pytest.mark.e2e

# The fixtures this module shares with the console's other browser tests (a lab of its own, one browser).
__all__ = ["browser", "console_lab", "control", "page", "sync_api"]


def test_the_console_warns_while_a_process_serves_other_flags_and_not_after(
    page: Any, control: Path, sync_api: Any
) -> None:
    expect = sync_api.expect
    log_in(page, expect)
    notice = page.locator("#flags-disagree")
    expect(notice).to_be_hidden()
    # A process of the lab with no valid flags, as a pricing restarted on a broken file with no good copy is.
    stray = ProcessAcks(control)
    stray.record(flags="none", flags_source="none", problem="no valid flags to serve (a broken live file)")
    stray.identify("pricing", 7)
    try:
        expect(notice).to_be_visible(timeout=SOON_MS)
        expect(notice).to_contain_text("the lab's processes disagree on the flags")
        expect(notice).to_contain_text("none by pricing-7")
    finally:
        stray.close()

    expect(notice).to_be_hidden(timeout=SOON_MS)
