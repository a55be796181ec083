"""The last good flags of a lab: a copy of the newest valid live file, kept beside it by whoever read it.

A process that starts while the live file is broken loads this copy instead of pretending with code
defaults, so it serves the same flags as the processes that kept running. Each process that loads a valid
live file writes the copy when it differs, so it is never older than what any running process serves.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from purchase_lab.acks import document_version
from purchase_lab.flags.document import read_document
from purchase_lab.flags.errors import InvalidFlagsFile

log = logging.getLogger(__name__)

SUFFIX = ".last-good"


def last_good_path(live: Path) -> Path:
    """Where the last good copy of the live file at `live` is kept: flags.last-good.json beside it."""
    return live.with_name(f"{live.stem}{SUFFIX}{live.suffix}")


def load_last_good(live: Path) -> dict[str, Any] | None:
    """The last good flags, checked; None when there is no usable copy."""
    path = last_good_path(live)
    if not path.exists():
        return None
    try:
        return read_document(path)
    except InvalidFlagsFile as error:
        log.warning("the last good copy of the flags is unusable: %s", error)
        return None


def save_last_good(live: Path, document: dict[str, Any]) -> None:
    """Keep document as the last good flags, unless the copy already holds these flags."""
    path = last_good_path(live)
    with contextlib.suppress(FileNotFoundError, ValueError, OSError):
        if document_version(json.loads(path.read_text(encoding="utf-8"))) == document_version(document):
            return
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o644)
            file.write(json.dumps(document, indent=2) + "\n")
        os.replace(temporary, path)
    except OSError as error:
        log.warning("cannot keep the last good flags in %s (%s)", path, error)
