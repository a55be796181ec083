"""`purchase status|start|stop|kill|restart` name the Docker Compose command where Compose runs the lab."""

from __future__ import annotations

import pytest

from purchase_lab.cli import main
from purchase_lab.compose import PROJECT_VARIABLE, compose_command

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["kill", "pricing"], "`docker compose kill pricing` (Compose v1: `docker-compose kill pricing`)"),
        (["stop", "cart"], "`docker compose stop cart`"),
        (["start", "cart"], "`docker compose start cart`"),
        (["restart", "email"], "`docker compose restart email`"),
        (["status"], "`docker compose ps` (Compose v1: `docker-compose ps`)"),
        (["kill", "pricing-2"], "`docker kill shop-pricing-2` (Compose v1 names it shop_pricing_2)"),
    ],
)
def test_inside_a_compose_container_each_verb_names_the_compose_command(
    argv: list[str], expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PROJECT_VARIABLE, "shop")

    assert main(argv) == 1

    error = capsys.readouterr().err
    assert "this lab runs under Docker Compose" in error
    assert expected in error


def test_without_a_lab_the_verb_also_names_the_compose_command(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(PROJECT_VARIABLE, raising=False)
    monkeypatch.setenv("PURCHASE_RUN_DIR", str(tmp_path))

    assert main(["kill", "pricing"]) == 1

    error = capsys.readouterr().err
    assert "no lab is running" in error
    assert "purchase up" in error
    assert "if the lab runs under Docker Compose, run `docker compose kill pricing`" in error


def test_one_replica_outside_compose_uses_the_default_project_name() -> None:
    assert compose_command("stop", "email-3").startswith("`docker stop purchase-lab-email-3`")
