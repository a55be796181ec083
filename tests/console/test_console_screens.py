"""The console in a real headless Chromium on a laptop and on a phone, and every row of the checkout table from Try it.

On both screens nothing scrolls sideways and every control can be seen and clicked; on desktop sizes the
page itself never scrolls (each column does). The screenshots go to artifacts/console/screen-WxH.png;
docs/images/console-1366x768.png and console-390x844.png are copies of them.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from purchase_lab.faults import FaultStore
from purchase_lab.flags import CHECKOUT_FALLBACKS, LIVE_FILE_NAME, set_flag
from purchase_lab.health import wait_until
from purchase_lab.lab_reset import reset_lab
from tests.browser import browser, sync_api
from tests.conftest import Lab
from tests.console.test_console_e2e import ARTIFACTS
from tests.integration.faults_lab import settle
from tests.integration.test_shop import call

pytestmark = pytest.mark.e2e

# Fixtures from tests/browser.py, used by this module's tests.
__all__ = ["browser", "sync_api"]

TOKEN = f"screens-{secrets.token_hex(12)}"
LAPTOP = (1366, 768)
PHONE = (390, 844)
DESKTOPS = [(1280, 720), LAPTOP, (1920, 1080)]
SOON_MS = 5000

# Every control of the page that a person can use, and whether each one sits inside the window's width and
# is the element a click at its centre reaches (nothing covers it), once scrolled into view.
CONTROLS = """(selector) => {
  const found = [];
  for (const control of document.querySelectorAll(selector)) {
    const folded = control.tagName !== "SUMMARY" && control.closest("details:not([open])");
    if (folded || control.closest("[hidden]") || control.getClientRects().length === 0) continue;
    control.scrollIntoView({ block: "center", inline: "nearest" });
    const box = control.getBoundingClientRect();
    const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
    const y = Math.min(Math.max(box.top + box.height / 2, 0), innerHeight - 1);
    const hit = document.elementFromPoint(x, y);
    const name = control.id || control.name || control.textContent.trim().slice(0, 30) || control.type;
    found.push({
      name: `${control.tagName.toLowerCase()} ${name}`,
      inside: box.left >= 0 && box.right <= innerWidth + 0.5 && box.width > 0 && box.height > 0,
      reachable: hit !== null && (hit === control || control.contains(hit) || (control.labels || [])[0] === hit
        || hit.closest("label") === control.closest("label") && hit.closest("label") !== null),
    });
  }
  return found;
}"""
PAGE_CONTROLS = "header button, #console button, #console input, #console select, #console summary"
DIALOG_CONTROLS = "dialog[open] button, dialog[open] input"
OVERFLOW = "() => ({ width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight })"
# How far the page and its containers (not the columns, which scroll on their own) are scrolled.
PAGE_SCROLLED = (
    """() => ["html", "body", "main", "#console"].map((selector) => document.querySelector(selector).scrollTop)"""
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system with an admin token and two gateway workers."""
    env = {"PURCHASE_ADMIN_TOKEN": TOKEN, "PURCHASE_GATEWAY_WORKERS": "2"}
    system = Lab(tmp_path_factory.mktemp("console-screens"), env=env)
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture
def control(lab: Lab) -> Iterator[Path]:
    """The lab's control dir, back to its defaults before and after each test."""
    directory = Path(lab.env["PURCHASE_CONTROL_DIR"])
    reset_lab(directory)
    yield directory
    reset_lab(directory)
    settle(lab)


def open_console(browser: Any, lab: Lab, size: tuple[int, int]) -> tuple[Any, Any, list[str]]:
    """A logged-in console tab at this window size; also the list its JavaScript errors go to."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on("console", lambda message: problems.extend(re.findall(".*(?:Content Security|404).*", message.text)))
    page.goto(f"{lab.gateway_url}/console")
    page.get_by_label("Admin token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.locator("#node-list li").nth(4).wait_for()
    page.locator("#try-sku option").first.wait_for(state="attached")
    return context, page, problems


def unusable(page: Any, selector: str = PAGE_CONTROLS) -> list[str]:
    """The controls (of selector) that stick out sideways or that a click cannot reach."""
    return [
        f"{c['name']} (inside: {c['inside']}, reachable: {c['reachable']})"
        for c in page.evaluate(CONTROLS, selector)
        if not (c["inside"] and c["reachable"])
    ]


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=lambda size: f"{size[0]}x{size[1]}")
def test_nothing_overflows_sideways_and_every_control_is_usable(
    browser: Any, lab: Lab, control: Path, size: tuple[int, int]
) -> None:
    context, page, problems = open_console(browser, lab, size)
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"screen-{size[0]}x{size[1]}.png"))
        for details in page.locator("#console details").all():
            details.evaluate("element => { element.open = true; }")

        assert page.evaluate(OVERFLOW)["width"] <= size[0]
        assert unusable(page) == []

        page.get_by_role("button", name="Reset lab").click()
        assert unusable(page, DIALOG_CONTROLS) == []
        page.get_by_role("button", name="Cancel").click()
        assert page.evaluate(OVERFLOW)["width"] <= size[0]
    finally:
        context.close()
    assert problems == []


@pytest.mark.parametrize("size", DESKTOPS, ids=lambda size: f"{size[0]}x{size[1]}")
def test_on_a_desktop_the_page_never_scrolls_into_blank_space(
    browser: Any, lab: Lab, control: Path, size: tuple[int, int]
) -> None:
    context, page, _problems = open_console(browser, lab, size)
    try:
        page.mouse.move(size[0] // 3, 10)  # over the header, where a wheel used to scroll the page
        page.mouse.wheel(0, 2000)

        assert page.evaluate(OVERFLOW) == {"width": size[0], "height": size[1]}
        assert page.evaluate("scrollY") == 0
        # Bringing every control into view scrolls only the columns, never the page around them.
        assert unusable(page) == []
        assert page.evaluate(PAGE_SCROLLED) == [0, 0, 0, 0]
    finally:
        context.close()


def fallbacks(lab: Lab, control: Path, on: bool) -> None:
    """Turn checkout.fallbacks on or off for everyone and wait until the gateway serves it."""
    set_flag(CHECKOUT_FALLBACKS, on, control / LIVE_FILE_NAME)
    path = "/api/v1/admin/flags/evaluate?user_id=anyone"
    wait_until(
        lambda: call(lab, "GET", path, Authorization=f"Bearer {TOKEN}").body["flags"][CHECKOUT_FALLBACKS] is on,
        f"the gateway serving {CHECKOUT_FALLBACKS}={on}",
        5,
    )


def fault(lab: Lab, control: Path, service: str | None) -> None:
    """Make every call to service fail with UNAVAILABLE (no fault at all for None), once every process follows."""
    store = FaultStore(control)
    store.reset()
    if service:
        store.add_rule(service=service, error="UNAVAILABLE")
    settle(lab)


def try_it(page: Any, user: str | None = None) -> tuple[str, dict[str, Any]]:
    """Place a checkout with Try it, as a new user or as this one; return the words and the JSON it shows."""
    if user is None:
        page.get_by_role("button", name="New user").click()
    else:
        page.get_by_label("User id", exact=True).fill(user)
    user_id = page.get_by_label("User id", exact=True).input_value()
    page.locator("#try-result").evaluate("element => element.replaceChildren()")
    page.get_by_role("button", name="Add to cart and check out").click()
    words = page.locator("#try-result p")
    words.wait_for()
    text = words.text_content() or ""
    assert user_id in text or "/cart/items" in text
    return text, json.loads(page.locator("#try-result pre").text_content() or "{}")


def test_every_row_of_the_checkout_table_shows_in_try_it(browser: Any, sync_api: Any, lab: Lab, control: Path) -> None:
    expect = sync_api.expect
    context, page, problems = open_console(browser, lab, LAPTOP)
    try:
        text, body = try_it(page)
        assert text.startswith("Checkout as")
        assert "201 placed" in text
        assert "not degraded" in text
        returning = page.get_by_label("User id", exact=True).input_value()

        fault(lab, control, "cart")
        text, body = try_it(page)
        assert "POST /cart/items: 503 dependency_unavailable (cart)" in text

        fault(lab, control, "pricing")
        text, body = try_it(page, returning)
        assert "201 placed" in text
        assert "pricing → no_adjustment (UNAVAILABLE)" in text
        assert "last good catalogue" in text
        assert body["adjustment_cents"] == 0

        text, body = try_it(page)
        assert "503 dependency_unavailable (pricing): pricing is unavailable and you are eligible" in text

        fallbacks(lab, control, False)
        text, body = try_it(page)
        assert "503 dependency_unavailable (pricing): the pricing service is unavailable" in text

        fault(lab, control, "email")
        text, body = try_it(page)
        assert "503 order_cancelled (email)" in text
        assert body["error"]["order_status"] == "cancelled"
        page.locator("#edge-list").evaluate("element => { element.closest('details').open = true; }")
        email = page.locator("#edge-list li[data-edge=email]")
        expect(email).to_contain_text("the order is cancelled", timeout=SOON_MS)
        expect(email).not_to_contain_text("queued")

        fallbacks(lab, control, True)
        text, body = try_it(page)
        assert "201 placed" in text
        assert "email queued" in text
        assert "email → queued (" in text
        expect(email).to_contain_text("queued", timeout=SOON_MS)
        expect(email).not_to_contain_text("cancelled")
    finally:
        context.close()
    assert problems == []
