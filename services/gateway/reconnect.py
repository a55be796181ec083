"""Reconnect at once to a dependency that has just (re)started, instead of waiting out the channel's backoff.

After a dependency goes down, its gRPC channel waits longer and longer (up to a second) between attempts
to connect, and fails calls at once meanwhile. A dependency that comes back would fail the gateway's first
calls until the next attempt. Every lab process announces itself in the control dir's acks folder (see
purchase_lab/acks.py) before it serves, so a new file there for the dependency means a new process: the
gateway then opens a fresh channel, which connects on the very next call.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from purchase_lab import acks

# A folder changed this recently may change again within the same timestamp tick: look again next time.
SETTLE_NS = 50_000_000


class Restarts:
    """Notices a new process of one service; cheap enough to ask before every call (one stat while nothing changes)."""

    def __init__(self, service: str, directory: Path | None = None) -> None:
        self.folder = acks.folder(directory)
        self._prefix = f"{service}-"
        self._lock = threading.Lock()
        self._seen_mtime: int | None = None
        self._known: set[str] | None = None

    def happened(self) -> bool:
        """True once for each look that finds a process of the service that was not there the look before."""
        try:
            mtime = os.stat(self.folder).st_mtime_ns
        except FileNotFoundError:
            return False
        if mtime == self._seen_mtime:
            return False
        with self._lock:
            names = {
                entry.name
                for entry in os.scandir(self.folder)
                if entry.name.startswith(self._prefix) and entry.name.endswith(".lock")
            }
            appeared = self._known is not None and bool(names - self._known)
            self._known = names
            settled = time.time_ns() - mtime > SETTLE_NS
            self._seen_mtime = mtime if settled else None
        return appeared
