"""Give each process of a service a replica number that no other live process of it holds.

Rules can target one replica (`replica=2`), so every process needs its own number. `purchase up
--replicas pricing=3` hands them out in PURCHASE_REPLICA; `docker compose up --scale pricing=3` cannot, since
every container of a service gets the same environment. So a process claims its number: it locks
`<control dir>/replicas/<service>-<n>.lock` (fcntl, held for the process's life, released by the kernel when
it exits or is killed) for the number it was given if that one is free, else for the lowest free one.
Containers sharing the control dir's volume therefore number themselves 1, 2, 3.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from purchase_lab.config import control_dir

log = logging.getLogger(__name__)

FOLDER = "replicas"
MAX_REPLICA = 99


@dataclass(frozen=True)
class ReplicaClaim:
    """A replica number and the locked file that holds it; the claim lasts until the file is closed."""

    service: str
    number: int
    lock: TextIO | None

    def release(self) -> None:
        """Give the number back (the process exiting does the same)."""
        if self.lock is not None:
            self.lock.close()


def claim_replica(service: str, wanted: int, directory: Path | None = None) -> ReplicaClaim:
    """Claim `wanted` for this process if no live process of the service holds it, else the lowest free number.

    When the control dir cannot be written, the process keeps `wanted` and says so: fault rules for one
    replica may then hit several processes, but the service itself runs.
    """
    folder = (directory or control_dir()) / FOLDER
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for number in dict.fromkeys((wanted, *range(1, MAX_REPLICA + 1))):
            lock = _try_lock(folder / f"{service}-{number}.lock")
            if lock is not None:
                if number != wanted:
                    log.info(
                        "%s replica %d is taken by a live process; this one is replica %d", service, wanted, number
                    )
                return ReplicaClaim(service, number, lock)
    except OSError as error:
        log.warning(
            "could not claim a replica number in %s (%s); using %d, which another process may share: make the "
            "control dir (PURCHASE_CONTROL_DIR) writable",
            folder,
            error,
            wanted,
        )
        return ReplicaClaim(service, wanted, None)
    raise RuntimeError(f"all {MAX_REPLICA} replica numbers of {service} are taken; run fewer replicas")


def _try_lock(path: Path) -> TextIO | None:
    """The file, locked for this process, or None when another process holds it."""
    lock = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock
