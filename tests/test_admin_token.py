"""The admin token under Docker Compose: from PURCHASE_ADMIN_TOKEN, else made once in a shared file."""

from __future__ import annotations

from pathlib import Path

import pytest

from purchase_lab.admin_token import ensure_token_file

pytestmark = pytest.mark.unit


def test_the_first_start_makes_a_private_token_that_later_starts_reuse(tmp_path: Path) -> None:
    path = tmp_path / "run" / "admin-token"
    first: dict[str, str] = {"PURCHASE_ADMIN_TOKEN_FILE": str(path)}
    second = dict(first)

    assert ensure_token_file(first) == path
    assert ensure_token_file(second) == path

    assert len(first["PURCHASE_ADMIN_TOKEN"]) >= 20
    assert second["PURCHASE_ADMIN_TOKEN"] == first["PURCHASE_ADMIN_TOKEN"]
    assert path.read_text(encoding="utf-8") == first["PURCHASE_ADMIN_TOKEN"] + "\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [entry.name for entry in path.parent.iterdir()] == ["admin-token"]


def test_a_token_set_in_the_environment_wins_and_no_file_is_written(tmp_path: Path) -> None:
    path = tmp_path / "admin-token"
    env = {"PURCHASE_ADMIN_TOKEN": "from-dotenv", "PURCHASE_ADMIN_TOKEN_FILE": str(path)}

    assert ensure_token_file(env) is None

    assert env["PURCHASE_ADMIN_TOKEN"] == "from-dotenv"
    assert not path.exists()


def test_without_a_token_file_setting_the_admin_api_stays_as_configured() -> None:
    env: dict[str, str] = {}

    assert ensure_token_file(env) is None
    assert env == {}


def test_an_empty_token_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "admin-token"
    path.write_text("\n", encoding="utf-8")

    with pytest.raises(ValueError, match="is empty; delete it and a new token is made at start"):
        ensure_token_file({"PURCHASE_ADMIN_TOKEN_FILE": str(path)})
