"""Released code is frozen: the freeze manifest matches the tree, and a change to a released file is caught."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from purchase_lab.releases import RELEASES
from purchase_lab.releases.freeze import MANIFEST, ROOT, changes, freeze, load_manifest

pytestmark = pytest.mark.unit


def test_no_released_file_has_changed() -> None:
    found = changes()
    assert found == [], "\n".join(map(str, found))


def test_every_pricing_release_is_frozen() -> None:
    frozen = load_manifest().get("pricing", {})
    assert sorted(frozen) == [release.version for release in RELEASES["pricing"]]
    for version, files in frozen.items():
        assert f"services/pricing/releases/v{version.replace('.', '_')}/__init__.py" in files


def test_every_frozen_release_is_listed() -> None:
    for service, versions in load_manifest().items():
        listed = {release.version for release in RELEASES[service]}
        assert set(versions) <= listed, f"{service}: frozen but not listed by `purchase releases`"


def test_a_changed_release_fails_with_make_a_new_release(tmp_path: Path) -> None:
    release = tmp_path / "services/pricing/releases/v1_0"
    shutil.copytree(ROOT / "services/pricing/releases/v1_0", release)
    manifest = tmp_path / "frozen.json"
    freeze("pricing", "1.0", ["services/pricing/releases/v1_0"], root=tmp_path, path=manifest)
    assert changes(tmp_path, manifest) == []

    code = release / "__init__.py"
    code.write_text(code.read_text(encoding="utf-8").replace("largest", "smallest"), encoding="utf-8")
    found = changes(tmp_path, manifest)
    assert [change.path for change in found] == ["services/pricing/releases/v1_0/__init__.py"]
    assert "make a new release instead" in str(found[0])
    assert "pricing 1.0 is released and frozen" in str(found[0])

    code.unlink()
    assert "is gone" in str(changes(tmp_path, manifest)[0])


def test_freezing_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    manifest = tmp_path / "frozen.json"
    freeze("cart", "1.0", ["a.py"], root=tmp_path, path=manifest)
    with pytest.raises(ValueError, match="already frozen; make a new release"):
        freeze("cart", "1.0", ["a.py"], root=tmp_path, path=manifest)


def test_the_freeze_script_refuses_an_unknown_release() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/freeze_release.py", "pricing", "9.9", "services/pricing/releases"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "pricing has no release '9.9'" in result.stderr
    assert MANIFEST.exists()
