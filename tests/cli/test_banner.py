"""What `purchase up` prints once the lab is healthy: every process in start order, aligned, the console and token."""

from __future__ import annotations

from pathlib import Path

import pytest

from purchase_lab.cli.up import banner

pytestmark = pytest.mark.unit

ADDRESSES = {
    "redis": "redis://127.0.0.1:6379/0",
    "cart": "127.0.0.1:50051",
    "pricing-1": "127.0.0.1:50052",
    "pricing-2": "127.0.0.1:50152",
    "pricing-3": "127.0.0.1:50252",
    "email": "127.0.0.1:50053",
    "gateway": "http://127.0.0.1:8080",
}


def test_the_banner_lists_processes_in_start_order_aligned() -> None:
    lines = banner(1.2, ADDRESSES, Path("/lab/.run")).splitlines()

    listed = [line for line in lines if line.startswith("  ")]
    assert [line.split()[0] for line in listed] == list(ADDRESSES)
    assert {line.index(line.split()[1]) for line in listed} == {len("  pricing-3  ")}


def test_the_banner_says_where_the_console_and_the_token_are() -> None:
    text = banner(1.2, ADDRESSES, Path("/lab/.run"))

    assert "Console:  http://127.0.0.1:8080/console" in text
    assert "Token:    in /lab/.run/admin-token (readable by you only)" in text
