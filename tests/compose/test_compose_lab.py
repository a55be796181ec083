"""The whole lab under Docker Compose, in real containers, checked through the published port.

The tests run in file order on one compose project: healthy, the README's try-it, the admin plane, the
console, the CLI inside a container, Redis-aware health, replicas, load, a crash, and `down -v` last.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from typing import Any

import pytest

from purchase_lab.flags import CHECKOUT_FALLBACKS, LOYALTY_DISCOUNT
from tests.browser import browser, sync_api
from tests.compose.conftest import LAB_SERVICES, NOTES, ROOT, ComposeLab

pytestmark = [pytest.mark.compose, pytest.mark.timeout(900)]

# Fixtures from tests/browser.py, used by the console login test.
__all__ = ["browser", "sync_api"]


def readme_try_it() -> list[str]:
    """The shell commands of the README's "Try it" block, continuation lines joined, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Try it\n.*?```sh\n(.*?)```", text, re.DOTALL)
    assert block, "README.md has no Try it block"
    joined = block[1].replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def checkout_fallbacks(lab: ComposeLab) -> bool:
    """What the gateway serves for checkout.fallbacks now."""
    reply = lab.admin("GET", "/flags/evaluate?user_id=anyone")
    assert reply.status == 200, reply.text
    return reply.body["flags"][CHECKOUT_FALLBACKS]


def mebibytes(usage: str) -> float:
    """The memory in use from a `docker stats` MemUsage such as `75.6MiB / 128MiB`, in MiB."""
    used = usage.split("/")[0].strip()
    number, unit = re.fullmatch(r"([0-9.]+)\s*([KMG]i?B|B)", used).groups()
    return float(number) * {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[unit]


def eventually(check: Any, what: str, timeout: float = 30) -> None:
    """Poll check() until it is true; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.2)


def test_every_service_is_healthy_through_its_own_healthcheck(compose_lab: ComposeLab) -> None:
    health = compose_lab.health()

    services = {c["Config"]["Labels"]["com.docker.compose.service"] for c in compose_lab.containers()}
    assert services == set(LAB_SERVICES)
    assert set(health.values()) == {"healthy"}, health


def test_the_gateway_is_published_on_loopback_only(compose_lab: ComposeLab) -> None:
    (gateway,) = compose_lab.containers("gateway")
    bindings = [binding for ports in gateway["NetworkSettings"]["Ports"].values() for binding in ports or []]
    assert {(b["HostIp"], b["HostPort"]) for b in bindings} == {("127.0.0.1", str(compose_lab.port))}

    assert compose_lab.call("GET", "/healthz").status == 200
    # From another address of this machine (the compose network's gateway), nothing answers on the port.
    network = next(iter(gateway["NetworkSettings"]["Networks"].values()))
    elsewhere = (network["Gateway"], compose_lab.port)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(elsewhere, timeout=3):
        pass


def test_the_readme_try_it_sequence_works(compose_lab: ComposeLab) -> None:
    replies = []
    for command in readme_try_it():
        local = command.replace("localhost:8080", f"127.0.0.1:{compose_lab.port}")
        assert local != command, f"a Try it command does not go to localhost:8080: {command}"
        for _attempt in range(5):  # as a student would: again, when the reply says the error is retryable
            result = subprocess.run(["sh", "-c", local], capture_output=True, text=True, timeout=30, check=True)
            reply = json.loads(result.stdout)
            if not reply.get("error", {}).get("retryable"):
                break
        replies.append(reply)
    products, added, promo, cart, order, orders, refused = replies

    assert any(product["sku"] == "COF-ETH-250" for product in products["products"])
    assert [(line["sku"], line["quantity"]) for line in added["lines"]] == [("COF-ETH-250", 2)]
    assert promo["promo_code"] == cart["promo_code"] == "SPRING15"
    assert [(line["sku"], line["quantity"]) for line in cart["lines"]] == [("COF-ETH-250", 2)]
    assert (order["status"], order["promo_code"]) == ("placed", "SPRING15")
    assert order["total_cents"] < order["subtotal_cents"]
    assert [placed["order_id"] for placed in orders["orders"]] == [order["order_id"]]
    assert refused["error"]["code"] == "invalid_value"


def test_the_admin_api_takes_the_token_made_on_first_start(compose_lab: ComposeLab) -> None:
    token = compose_lab.token()
    assert len(token) >= 20
    logs = compose_lab.compose("logs", "gateway")
    assert "docker compose exec gateway cat /app/.run/admin-token" in logs
    assert token not in logs

    refused = compose_lab.call("GET", "/api/v1/admin/faults")
    wrong = compose_lab.call("GET", "/api/v1/admin/faults", headers={"Authorization": "Bearer wrong"})
    assert (refused.status, wrong.status) == (401, 401)
    assert "admin API is off" not in refused.text

    flag = compose_lab.admin("PUT", f"/flags/{LOYALTY_DISCOUNT}", {"value": "on"})
    assert flag.status == 200, flag.text
    eventually(
        lambda: (
            compose_lab.call("GET", "/api/v1/features", headers={"X-User-Id": "u-flag"}).body["flags"][LOYALTY_DISCOUNT]
            is True
        ),
        "the loyalty discount switched on for users",
    )

    fault = compose_lab.admin("POST", "/faults", {"service": "cart", "error": "UNAVAILABLE", "rate": 1, "ttl_s": 120})
    assert fault.status == 201, fault.text
    eventually(
        lambda: compose_lab.call("GET", "/api/v1/cart", headers={"X-User-Id": "u-fault"}).status == 503,
        "the cart fault reached the cart container",
    )
    assert compose_lab.admin("DELETE", "/faults").status == 200
    eventually(
        lambda: compose_lab.call("GET", "/api/v1/cart", headers={"X-User-Id": "u-fault"}).status == 200,
        "the cart answered again once the fault was removed",
    )


def test_the_console_logs_in_with_the_compose_token(compose_lab: ComposeLab, browser: Any, sync_api: Any) -> None:
    expect = sync_api.expect
    page = browser.new_page()
    try:
        page.set_default_timeout(15_000)
        page.goto(f"{compose_lab.url}/console")
        expect(page.locator("#login")).to_contain_text("docker compose exec gateway cat .run/admin-token")
        page.get_by_label("Admin token", exact=True).fill("not-the-token")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#login-error")).not_to_be_empty()
        page.get_by_label("Admin token", exact=True).fill(compose_lab.token())
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#console")).to_be_visible()
    finally:
        page.close()


def test_purchase_reset_inside_a_container_restores_the_committed_flags(compose_lab: ComposeLab) -> None:
    assert compose_lab.admin("PUT", f"/flags/{CHECKOUT_FALLBACKS}", {"value": "off"}).status == 200
    eventually(lambda: checkout_fallbacks(compose_lab) is False, "checkout.fallbacks switched off")

    code, out, err = compose_lab.exec("gateway", "purchase", "reset")

    assert code == 0, err
    assert "flags: back to the committed defaults in purchase_lab/flags/flags.json" in out
    eventually(lambda: checkout_fallbacks(compose_lab) is True, "checkout.fallbacks back on after the reset")


def test_control_verbs_inside_a_container_name_the_compose_command(compose_lab: ComposeLab) -> None:
    code, _out, err = compose_lab.exec("gateway", "purchase", "kill", "pricing")

    assert code == 1
    assert "this lab runs under Docker Compose" in err
    assert "`docker compose kill pricing`" in err
    assert compose_lab.health()  # nothing was killed
    compose_lab.wait_healthy(timeout=10)


def test_cart_and_email_are_unhealthy_while_redis_is_down(compose_lab: ComposeLab) -> None:
    checks = {name: compose_lab.containers(name)[0]["Config"]["Healthcheck"]["Test"][1:] for name in ("cart", "email")}
    for name, check in checks.items():
        assert compose_lab.exec(name, *check)[0] == 0, name

    compose_lab.compose("stop", "redis")
    try:
        for name, check in checks.items():
            code, _out, err = compose_lab.exec(name, *check)
            assert code == 1, name
            assert "does not answer" in err
    finally:
        compose_lab.compose("start", "redis")
    for name, check in checks.items():
        eventually(lambda check=check, name=name: compose_lab.exec(name, *check)[0] == 0, f"{name} healthy again")
    compose_lab.wait_healthy()


def test_three_pricing_replicas_and_a_fault_on_one_of_them(compose_lab: ComposeLab) -> None:
    compose_lab.compose("up", "-d", "--no-recreate", "--scale", "pricing=3")
    compose_lab.wait_healthy(("pricing",))
    assert len(compose_lab.containers("pricing")) == 3
    compose_lab.compose("restart", "gateway")  # it resolves pricing:50052 to every replica when it starts
    compose_lab.wait_healthy()
    numbers = sorted(re.findall(r"pricing replica (\d) listening", compose_lab.compose("logs", "pricing")))
    assert numbers == ["1", "2", "3"]

    rule = {"service": "pricing", "replica": 2, "error": "INTERNAL", "rate": 1, "ttl_s": 120}
    assert compose_lab.admin("POST", "/faults", rule).status == 201
    try:
        statuses = [compose_lab.call("GET", "/api/v1/products").status for _ in range(30)]
    finally:
        compose_lab.admin("DELETE", "/faults")

    # Round robin over three replicas: about one listing in three meets replica 2; the others are served.
    assert statuses.count(200) >= 10, statuses
    assert 5 <= len([status for status in statuses if status != 200]) <= 20, statuses
    compose_lab.compose("up", "-d", "--no-recreate", "--scale", "pricing=1")
    compose_lab.wait_healthy()


def test_the_load_profiles_short_run_keeps_its_invariants(compose_lab: ComposeLab, docker_stats: Any) -> None:
    idle = docker_stats()
    compose_lab.compose("--profile", "load", "build", "load", timeout=900)
    command = ["--profile", "load", "run", "--rm", "-T", "load", "purchase", "load"]
    options = ["--host", "http://gateway:8080", "--users", "5", "--duration", "20", "--out", "/app/.run/load/run"]
    run = subprocess.Popen(
        [*compose_lab.command, *command, *options],
        env=compose_lab.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peaks: dict[str, float] = {}
    deadline = time.monotonic() + 400
    try:
        while run.poll() is None and time.monotonic() < deadline:  # `docker stats` itself takes about 2 s a sample
            for name, used in docker_stats().items():
                peaks[name] = max(peaks.get(name, 0.0), mebibytes(used))
    finally:
        if run.poll() is None and time.monotonic() >= deadline:
            run.kill()
        output, _ = run.communicate(timeout=60)

    assert run.returncode == 0, output
    assert "invariants hold" in output, output
    code, report, err = compose_lab.exec("gateway", "cat", "/app/.run/load/run/invariants.json")
    assert code == 0, err
    invariants = json.loads(report)
    assert invariants["ok"] is True
    assert invariants["violations"] == []
    assert invariants["counts"]["orders_told_placed"] > 0
    NOTES.append(f"memory idle (MiB): { {name: round(mebibytes(used), 1) for name, used in idle.items()} }")
    NOTES.append(f"memory at its peak under the load profile (MiB): { {k: round(v, 1) for k, v in peaks.items()} }")


def test_a_killed_cart_stays_down_until_started_again(compose_lab: ComposeLab) -> None:
    compose_lab.compose("kill", "cart")
    (cart,) = compose_lab.containers("cart")
    assert cart["State"]["Status"] == "exited"

    down = compose_lab.call("GET", "/api/v1/cart", headers={"X-User-Id": "u-crash"})
    assert down.status == 503, down.text
    assert down.body["error"]["retryable"] is True

    compose_lab.compose("start", "cart")
    compose_lab.wait_healthy()
    eventually(
        lambda: compose_lab.call("GET", "/api/v1/cart", headers={"X-User-Id": "u-crash"}).status == 200,
        "the gateway reached the restarted cart",
    )


def test_down_v_leaves_no_container_volume_or_network(compose_lab: ComposeLab) -> None:
    assert all(compose_lab.leftovers().values())

    compose_lab.compose("--profile", "load", "down", "-v", "--remove-orphans")

    assert compose_lab.leftovers() == {"containers": [], "volumes": [], "networks": []}
