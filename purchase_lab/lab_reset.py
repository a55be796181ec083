"""One reset for the whole lab: every live control file back to its committed default.

`purchase reset` and the admin API's POST /api/v1/admin/reset both call `reset_lab`. Each control
the lab has (flags, faults, ...) adds one function to RESETS; each takes the control directory and
returns what it did, in words.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from purchase_lab import flags
from purchase_lab.config import control_dir
from purchase_lab.faults import FaultStore

LabReset = Callable[[Path], str]


def reset_flags(directory: Path) -> str:
    """Put the live flags file back to the committed definitions (repairing a broken one)."""
    flags.reset(directory / flags.LIVE_FILE_NAME)
    return f"flags: back to the committed defaults in {flags.COMMITTED_FLAGS_SOURCE}"


def reset_faults(directory: Path) -> str:
    """Remove every fault rule."""
    FaultStore(directory).reset()
    return "faults: every fault rule removed"


RESETS: tuple[LabReset, ...] = (reset_flags, reset_faults)


def reset_lab(directory: Path | None = None) -> list[str]:
    """Run every reset on the control directory (the configured one when none is given); return what each did."""
    target = directory if directory is not None else control_dir()
    return [reset(target) for reset in RESETS]
