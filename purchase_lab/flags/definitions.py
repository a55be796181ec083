"""The flags the code knows, their safe code defaults, and where the flag files live.

A flag's code default is always the old behaviour: it is what every user gets when the flag is
killed (state DISABLED), missing from the file, or cannot be evaluated. Shipping new code with the
flag's default set to the old behaviour is what makes a dark launch safe.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

from purchase_lab import config
from purchase_lab.flags.errors import UnknownFlag

CHECKOUT_FALLBACKS = "checkout.fallbacks"
LOYALTY_DISCOUNT = "pricing.loyalty_discount"

# The definitions in git, shipped as package data so that an installed copy (a container image, a wheel)
# finds them wherever it lives; a running lab never writes them (it works on a live copy).
COMMITTED_FLAGS: Traversable = files("purchase_lab.flags") / "flags.json"
# Where they are in a clone, for messages and docs.
COMMITTED_FLAGS_SOURCE = "purchase_lab/flags/flags.json"
LIVE_FILE_NAME = "flags.json"
# How often each process looks at the live file's mtime: a change reaches everyone within ~this.
POLL_MS = 100


@dataclass(frozen=True)
class FlagSpec:
    """One flag as the code sees it: its key, its safe default, and whether clients may see it."""

    key: str
    default: bool
    client_visible: bool


FLAGS: Mapping[str, FlagSpec] = MappingProxyType(
    {
        spec.key: spec
        for spec in (
            # Off = the original app, where every dependency of the checkout is hard.
            FlagSpec(CHECKOUT_FALLBACKS, default=False, client_visible=False),
            # Off = no loyalty discount: pricing as it was before the feature.
            FlagSpec(LOYALTY_DISCOUNT, default=False, client_visible=True),
        )
    }
)


def known_flag(key: str) -> FlagSpec:
    """Return the spec of a flag the code defines; raise UnknownFlag naming the known ones."""
    try:
        return FLAGS[key]
    except KeyError:
        raise UnknownFlag(key, FLAGS) from None


@dataclass(frozen=True)
class FlagSettings:
    """Where the live flags file is and who counts as an employee, read from the environment."""

    control_dir: Path
    employee_domain: str

    @property
    def live_path(self) -> Path:
        """The live flags file every process of the lab evaluates."""
        return self.control_dir / LIVE_FILE_NAME

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> FlagSettings:
        """Read PURCHASE_CONTROL_DIR (default: control/ in the run dir) and PURCHASE_EMPLOYEE_DOMAIN."""
        return cls(control_dir=config.control_dir(env), employee_domain=config.employee_domain(env))
