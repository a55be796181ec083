"""The releases catalogue and `purchase releases`."""

from __future__ import annotations

import json

import pytest

from purchase_lab.cli import main
from purchase_lab.releases import UnknownRelease, find_release, running_release

pytestmark = pytest.mark.unit


def test_releases_json_lists_every_service_with_its_current_release(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["releases", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["service"] for row in rows} == {"cart", "pricing", "email", "gateway"}
    current = {row["service"]: row["version"] for row in rows if row["current"]}
    assert current == {"cart": "1.0", "pricing": "1.0", "email": "1.0", "gateway": "1.0"}
    assert {row["version"] for row in rows if row["service"] == "pricing"} == {"1.0", "1.1", "1.2"}
    assert all(row["description"] for row in rows)


def test_releases_of_one_service_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["releases", "pricing"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["SERVICE", "VERSION", "CURRENT", "DESCRIPTION"]
    assert [line.split()[1] for line in lines[1:]] == ["1.0", "1.1", "1.2"]


def test_an_unknown_release_names_the_ones_there_are() -> None:
    with pytest.raises(UnknownRelease, match=r"pricing has no release '2.0'; its releases are 1.0, 1.1, 1.2"):
        find_release("pricing", "2.0")
    with pytest.raises(UnknownRelease, match="unknown service 'tax'"):
        find_release("tax", "1.0")


def test_the_running_release_comes_from_the_environment() -> None:
    assert running_release("pricing", {}) == "1.0"
    assert running_release("pricing", {"PURCHASE_RELEASE": "1.2"}) == "1.2"
    with pytest.raises(UnknownRelease):
        running_release("pricing", {"PURCHASE_RELEASE": "7"})
