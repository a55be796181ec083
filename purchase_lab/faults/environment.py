"""Where this process finds the live fault rules, and which replica it is, read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from purchase_lab.config import env_int

CONTROL_DIR_ENV = "PURCHASE_CONTROL_DIR"
REPLICA_ENV = "PURCHASE_REPLICA"


def control_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Where live lab state lives: $PURCHASE_CONTROL_DIR, else .run/control under the current directory."""
    return Path(env.get(CONTROL_DIR_ENV) or Path.cwd() / ".run" / "control")


def replica_from_env(env: Mapping[str, str] = os.environ) -> int:
    """This process's replica number, from $PURCHASE_REPLICA: 1 (the only one) when unset."""
    return env_int(env, REPLICA_ENV, 1, 1, 99)
