"""The ops console in a real headless Chromium, driving a real lab: log in, break email, ramp a flag, fix it.

Screenshots of each test are kept in artifacts/console/ (open them to see what the browser saw).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from purchase_lab.faults import FaultStore
from purchase_lab.flags import LOYALTY_DISCOUNT
from purchase_lab.flags import ramp as ramp_flag
from purchase_lab.lab_reset import reset_lab
from tests.browser import browser, sync_api
from tests.conftest import Lab

pytestmark = pytest.mark.e2e

# Fixtures from tests/browser.py, used by this module's tests.
__all__ = ["browser", "sync_api"]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "console"
LAPTOP = {"width": 1366, "height": 768}
TOKEN = f"e2e-{secrets.token_hex(12)}"
# True once the newest segment of the flag chart's ramp line is drawn differently than `before`.
RAMP_LINE_CHANGED = """before => {
    const lines = document.querySelectorAll('#chart-flag-ramp polyline[data-series=ramp]');
    return lines.length > 0 && lines[lines.length - 1].getAttribute('points') !== before;
}"""
# The page polls every second; a change must show within a second or two.
SOON_MS = 3000


@pytest.fixture(scope="module")
def console_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The whole system with an admin token, pricing as two replicas, and two gateway workers that must agree."""
    env = {"PURCHASE_ADMIN_TOKEN": TOKEN, "PURCHASE_GATEWAY_WORKERS": "2"}
    lab = Lab(tmp_path_factory.mktemp("console-lab"), env=env, replicas={"pricing": 2})
    try:
        yield lab.start()
    finally:
        lab.stop()


@pytest.fixture
def control(console_lab: Lab) -> Path:
    """The lab's control dir (live flags and faults), put back to the defaults before each test."""
    directory = Path(console_lab.env["PURCHASE_CONTROL_DIR"])
    reset_lab(directory)
    return directory


@pytest.fixture
def page(browser: Any, console_lab: Lab, control: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab on a laptop-sized screen at /console; JavaScript errors fail the test."""
    context = browser.new_context(viewport=LAPTOP)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    tab.on("console", lambda message: problems.extend(re.findall(".*Content Security Policy.*", message.text)))
    tab.goto(f"{console_lab.gateway_url}/console")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield tab
    finally:
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
        context.close()
    assert problems == []


def log_in(page: Any, expect: Any, token: str = TOKEN) -> None:
    """Type the token into the login form and wait for the console."""
    page.get_by_label("Admin token", exact=True).fill(token)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#console")).to_be_visible()
    expect(page.locator("#node-list li")).to_have_count(5)


def place_checkout(page: Any, expect: Any, role: str = "customer") -> dict[str, Any]:
    """Use Try it as a new user; return the response body the page shows."""
    page.get_by_role("button", name="New user").click()
    user_id = page.get_by_label("User id", exact=True).input_value()
    page.get_by_label(role, exact=True).check()
    page.get_by_role("button", name="Add to cart and check out").click()
    expect(page.locator("#try-result p")).to_contain_text(f"Checkout as {user_id}")
    return json.loads(page.locator("#try-result pre").text_content())


def place_healthy_checkout(page: Any, expect: Any, role: str) -> dict[str, Any]:
    """Place checkouts until one is not degraded: a cleared fault reaches every service within about 0.1 s."""
    deadline = time.monotonic() + SOON_MS / 1000
    while True:
        body = place_checkout(page, expect, role)
        if not body.get("degraded") or time.monotonic() > deadline:
            return body


def test_without_the_token_nothing_is_shown_or_changed(page: Any, sync_api: Any, control: Path) -> None:
    expect = sync_api.expect
    FaultStore(control).add_rule(service="email", error="UNAVAILABLE")
    expect(page.get_by_label("Admin token", exact=True)).to_be_visible()
    expect(page.locator("#console")).to_be_hidden()
    assert page.locator("#node-list li").count() == 0
    # The admin API itself refuses the page's calls without the token: nothing is read or cleared.
    status = page.evaluate("fetch('/api/v1/admin/faults', {method: 'DELETE'}).then(reply => reply.status)")
    assert status == 401
    assert len(FaultStore(control).list_rules()) == 1

    page.get_by_label("Admin token", exact=True).fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_contain_text("the admin token is wrong")
    expect(page.locator("#console")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0
    assert len(FaultStore(control).list_rules()) == 1


def test_log_in_and_see_the_live_topology(page: Any, sync_api: Any, console_lab: Lab) -> None:
    expect = sync_api.expect
    sent: list[tuple[str, str | None]] = []
    page.on("request", lambda call: sent.append((call.url, call.headers.get("authorization"))))
    log_in(page, expect)
    for name in ("cart", "pricing", "email", "redis"):
        expect(page.locator(f"#node-list li[data-node={name}]")).to_have_attribute("data-status", "up")
    expect(page.locator("#node-list li[data-node=cart]")).to_contain_text("cart (hard)")
    expect(page.locator("#node-list li[data-node=email]")).to_contain_text("email (soft)")
    expect(page.locator("#edge-list li[data-edge=email]")).to_contain_text("queued")
    expect(page.locator("#topology-map .node")).to_have_count(5)
    expect(page.locator("#topology-map [data-node=pricing] .dot-up")).to_have_count(2)
    expect(page.locator("#node-list li[data-node=pricing]")).to_contain_text("Replicas: 1 up, 2 up")
    admin_calls = [(url, auth) for url, auth in sent if "/api/v1/admin/" in url]
    assert admin_calls, "the console asked the admin API nothing"
    assert all(auth == f"Bearer {TOKEN}" for _url, auth in admin_calls)
    assert not any(TOKEN in url for url, _auth in sent), "the token must never travel in a URL"

    # A replica that stops is seen within a second or two, and so is its return.
    console_lab.processes["pricing-2"].stop()
    pricing = page.locator("#node-list li[data-node=pricing]")
    expect(pricing).to_have_attribute("data-status", "degraded", timeout=SOON_MS)
    expect(pricing).to_contain_text("1 of 2 replicas")
    console_lab.start("pricing-2")
    expect(pricing).to_have_attribute("data-status", "up", timeout=SOON_MS)

    # Logging out forgets the token and leaves nothing of the lab on the page.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Admin token", exact=True)).to_be_visible()
    assert page.locator("#node-list li").count() == 0
    assert page.evaluate("sessionStorage.length") == 0


def test_email_down_degrades_a_checkout_placed_from_the_page_and_clearing_fixes_it(
    page: Any, sync_api: Any, control: Path
) -> None:
    expect = sync_api.expect
    log_in(page, expect)
    page.get_by_text("Add a fault rule").click()
    page.get_by_label("Service", exact=True).select_option("email")
    page.get_by_label("Error", exact=True).fill("UNAVAILABLE")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rules tbody tr[data-rule]")).to_have_count(1, timeout=SOON_MS)
    # The page edits the same live file as the CLI.
    assert [(rule.service, rule.error) for rule in FaultStore(control).list_rules()] == [("email", "UNAVAILABLE")]

    broken = place_checkout(page, expect)
    assert (broken["email"], broken["degraded"][0]["dependency"]) == ("queued", "email")
    expect(page.locator("#try-result")).to_have_attribute("data-result", "degraded")
    first_row = page.locator("#checkouts tbody tr").first
    expect(first_row).to_contain_text("degraded", timeout=SOON_MS)
    expect(first_row).to_contain_text("email → queued")
    expect(page.locator("#node-list li[data-node=email]")).to_have_attribute("data-status", "degraded", timeout=SOON_MS)
    page.screenshot(path=str(ARTIFACTS / "email-down.png"))

    page.get_by_role("button", name="Clear all faults").click()
    expect(page.locator("#rules tbody")).to_contain_text("No faults", timeout=SOON_MS)
    healthy = place_healthy_checkout(page, expect, role="employee")
    assert (healthy["email"], healthy["degraded"]) == ("sent", [])
    expect(page.locator("#try-result")).to_have_attribute("data-result", "ok")
    # The email queued while email was down is delivered once it is back, and shows in the outbox.
    expect(page.locator(f"#outbox li[data-order='{broken['order_id']}']").first).to_be_visible(timeout=10_000)


def test_ramping_a_flag_moves_its_chart_and_the_cli_shows_in_the_page(page: Any, sync_api: Any, control: Path) -> None:
    expect = sync_api.expect
    log_in(page, expect)
    page.get_by_label("Flag", exact=True).select_option(LOYALTY_DISCOUNT)
    chart = page.locator("#chart-flag-ramp")
    expect(chart).to_have_attribute("data-ramp", "0", timeout=SOON_MS)
    ramp_line = chart.locator("polyline[data-series=ramp]").last
    before = ramp_line.get_attribute("points")

    page.locator(f"fieldset[data-flag='{LOYALTY_DISCOUNT}'] input[type=range]").fill("50")
    expect(page.locator(f"fieldset[data-flag='{LOYALTY_DISCOUNT}'] .flag-summary")).to_contain_text(
        "50% of everyone else", timeout=SOON_MS
    )
    expect(chart).to_have_attribute("data-ramp", "50", timeout=SOON_MS)
    expect(chart.locator(".legend-list")).to_contain_text("ramp 50%")
    page.wait_for_function(RAMP_LINE_CHANGED, arg=before)
    place_checkout(page, expect)
    evaluated = re.compile(r"[1-9]\d* checkouts evaluated the flag")
    expect(chart.locator("caption")).to_contain_text(evaluated, timeout=SOON_MS)

    # `purchase flag ramp` edits the same live file: the page follows within a second.
    ramp_flag(LOYALTY_DISCOUNT, 20, control / "flags.json")
    expect(chart).to_have_attribute("data-ramp", "20", timeout=SOON_MS)
    expect(page.locator(f"fieldset[data-flag='{LOYALTY_DISCOUNT}'] output")).to_have_text("20%")


def test_killing_the_fallbacks_makes_email_hard_and_reset_restores_the_lab(page: Any, sync_api: Any) -> None:
    expect = sync_api.expect
    log_in(page, expect)
    page.get_by_label("Scenario", exact=True).select_option("email-down")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#rules tbody tr[data-rule]")).to_have_count(1, timeout=SOON_MS)
    page.locator("fieldset[data-flag='checkout.fallbacks']").get_by_role("button", name="Kill").click()
    expect(page.locator("fieldset[data-flag='checkout.fallbacks'] .flag-summary")).to_contain_text("Killed")
    expect(page.locator("#topology-map .edge-hard")).to_have_count(3, timeout=SOON_MS)

    cancelled = place_checkout(page, expect)
    assert cancelled["error"]["code"] == "order_cancelled"
    expect(page.locator("#try-result")).to_have_attribute("data-result", "failed")
    expect(page.locator("#checkouts tbody tr").first).to_contain_text("failed 503", timeout=SOON_MS)

    page.get_by_role("button", name="Reset lab").click()
    expect(page.get_by_role("dialog", name="Reset the lab?")).to_be_visible()
    page.get_by_role("button", name="Reset", exact=True).click()
    expect(page.get_by_role("dialog", name="Reset the lab?")).to_be_hidden()
    expect(page.locator("#rules tbody")).to_contain_text("No faults", timeout=SOON_MS)
    expect(page.locator("fieldset[data-flag='checkout.fallbacks'] .flag-summary")).to_contain_text("on for everyone")
    expect(page.locator("#topology-map .edge-hard")).to_have_count(1)
