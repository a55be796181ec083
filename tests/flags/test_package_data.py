"""The committed flag definitions ship inside the package, so an installed copy resets a lab from anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from purchase_lab.flags import COMMITTED_FLAGS, LIVE_FILE_NAME

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# What the Dockerfile copies to install the package; built from a copy, so no build/ lands in the clone.
SOURCES = ("pyproject.toml", "README.md", "gen", "purchase_lab", "services", "loadtest")


def test_an_installed_copy_outside_the_clone_resets_the_flags(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)]
    subprocess.run(build, capture_output=True, text=True, timeout=300, check=True, cwd=tmp_path)
    wheel = next(wheels.glob("purchase_lab-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        assert "purchase_lab/flags/flags.json" in archive.namelist()
        archive.extractall(tmp_path / "installed")
    control = tmp_path / "control"
    control.mkdir()
    (control / LIVE_FILE_NAME).write_text("{broken", encoding="utf-8")

    # The installed copy comes first on the path, and the command runs away from the clone.
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "installed"), "PURCHASE_CONTROL_DIR": str(control)}
    code = "import purchase_lab.cli as cli, sys; print(cli.__file__); sys.exit(cli.main(['reset']))"
    reset = [sys.executable, "-c", code]
    result = subprocess.run(reset, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(str(tmp_path / "installed"))
    assert (control / LIVE_FILE_NAME).read_bytes() == COMMITTED_FLAGS.read_bytes()
