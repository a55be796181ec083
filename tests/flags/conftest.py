"""Fixtures for flag tests: a live flags file per test, a test run with a flag off and on, the flagd schema."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from purchase_lab.flags import FeatureFlags, UserContext, seed_live_file, set_flag

SCHEMA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "flagd"


@pytest.fixture
def flags_path(tmp_path: Path) -> Path:
    """A live flags file of this test's own, seeded from the committed defaults."""
    path = tmp_path / "control" / "flags.json"
    seed_live_file(path)
    return path


@pytest.fixture
def evaluator(flags_path: Path) -> Iterator[FeatureFlags]:
    """A FeatureFlags watching this test's live file, as a service would."""
    flags = FeatureFlags.start(flags_path)
    yield flags
    flags.stop()


@dataclass(frozen=True)
class FlagVariant:
    """One run of a test: every flag it applies is on, or every one is off, for everyone."""

    on: bool
    path: Path

    def apply(self, *keys: str) -> bool:
        """Set each flag to this run's value in the live file; return the value."""
        for key in keys:
            set_flag(key, self.on, self.path)
        return self.on


@pytest.fixture(params=[False, True], ids=["flag-off", "flag-on"])
def flag_variants(request: pytest.FixtureRequest, flags_path: Path) -> FlagVariant:
    """Run the test twice, with the flags it applies off and then on: existing features must pass both ways."""
    return FlagVariant(request.param, flags_path)


def flag_reached(
    flags: FeatureFlags, key: str, user: UserContext | None, expected: bool, timeout: float = 2.0
) -> float:
    """Wait until the flag evaluates to expected for the user; return the seconds it took."""
    changed = threading.Event()
    flags.on_change(lambda _keys: changed.set())
    started = time.monotonic()
    while flags.is_enabled(key, user) != expected:
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            raise TimeoutError(f"{key} did not become {expected} for {user} within {timeout} s")
        changed.wait(remaining)
        changed.clear()
    return time.monotonic() - started


@pytest.fixture(scope="session")
def flagd_schema(in_ci: bool) -> Draft7Validator:
    """A validator for the flagd v0 flag-definition schema, resolved offline from ../shared/reference."""
    if not (SCHEMA_DIR / "flags.json").exists():
        if in_ci:
            pytest.fail(f"the flagd schema is missing from {SCHEMA_DIR}; CI must provide it")
        pytest.skip(f"the flagd schema is not in {SCHEMA_DIR} (it is checked out next to the repo in CI)")
    flags = json.loads((SCHEMA_DIR / "flags.json").read_text(encoding="utf-8"))
    targeting = json.loads((SCHEMA_DIR / "targeting.json").read_text(encoding="utf-8"))
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in (flags, targeting)
    )
    # Enter the schema through its $id: draft-07 ignores keywords beside a root "$ref", its own "$id"
    # included, so only then does "./targeting.json" resolve against the flagd URL.
    return Draft7Validator({"$ref": flags["$id"]}, registry=registry)
