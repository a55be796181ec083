"""What the compose suite needs before any container runs: the base image tags, and a clear refusal without Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compose.conftest import ROOT
from tests.compose.engine import Engine, EngineUnavailable
from tests.compose.standins import LABEL, PYTHON, REDIS, base_images, stand_in_dockerfile

pytestmark = pytest.mark.unit


def test_the_stand_ins_cover_exactly_the_base_images_the_build_and_the_lab_name() -> None:
    images = base_images(ROOT)

    assert images == ["python:3.11-slim", "redis:7.4-alpine"]
    assert [stand_in_dockerfile(tag) for tag in images] == [PYTHON, REDIS]
    assert LABEL in PYTHON
    assert LABEL in REDIS


def test_an_image_without_a_stand_in_is_refused_by_name() -> None:
    with pytest.raises(EngineUnavailable, match=r"grafana/grafana:11\.3\.1 cannot be pulled and there is no stand-in"):
        stand_in_dockerfile("grafana/grafana:11.3.1")


def test_without_docker_the_engine_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(EngineUnavailable, match=r"the docker CLI is missing \(apt-get install docker.io\)"):
        Engine().start()
