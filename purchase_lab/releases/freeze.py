"""The freeze manifest: a hash of every file of each released version, so released code never changes.

A released version's code is what a replica of it runs; changing it would make two replicas that report
the same release behave differently. scripts/freeze_release.py records a release's files; the test
tests/releases/test_frozen.py fails when one of them changes: make a new release instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = Path(__file__).with_name("frozen.json")


@dataclass(frozen=True)
class FrozenChange:
    """A file of a frozen release whose content is no longer what was recorded."""

    service: str
    version: str
    path: str
    problem: str

    def __str__(self) -> str:
        return (
            f"{self.service} {self.version} is released and frozen, but {self.path} {self.problem}; "
            f"do not change released code: make a new release instead (see docs/releases.md)"
        )


def file_hash(path: Path) -> str:
    """The sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest(path: Path = MANIFEST) -> dict[str, dict[str, dict[str, str]]]:
    """{service: {version: {relative path: sha256}}}; empty when nothing is frozen yet."""
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def freeze(service: str, version: str, files: Iterable[str], root: Path = ROOT, path: Path = MANIFEST) -> list[str]:
    """Record the hashes of a release's files (relative to root) in the manifest; return the paths recorded.

    A release already frozen is refused: its recorded hashes are the point.
    """
    manifest = load_manifest(path)
    if version in manifest.get(service, {}):
        raise ValueError(f"{service} {version} is already frozen; make a new release instead")
    recorded: dict[str, str] = {}
    for name in sorted(set(files)):
        target = root / name
        if target.is_dir():
            for child in sorted(target.rglob("*.py")):
                recorded[child.relative_to(root).as_posix()] = file_hash(child)
        elif target.is_file():
            recorded[Path(name).as_posix()] = file_hash(target)
        else:
            raise ValueError(f"{name} does not exist under {root}")
    manifest.setdefault(service, {})[version] = recorded
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return list(recorded)


def changes(root: Path = ROOT, path: Path = MANIFEST) -> list[FrozenChange]:
    """Every file of a frozen release that changed or vanished since it was frozen."""
    found = []
    for service, versions in load_manifest(path).items():
        for version, files in versions.items():
            for name, digest in files.items():
                target = root / name
                if not target.is_file():
                    found.append(FrozenChange(service, version, name, "is gone"))
                elif file_hash(target) != digest:
                    found.append(FrozenChange(service, version, name, "has changed"))
    return found
