"""A stand-in service for propagation tests: evaluate one flag live and report when it changes.

Run as `python flag_watcher.py FLAGS_PATH FLAG USER_ID on,off,...`. It prints "ready" once it
evaluates the file, then for each expected value in turn waits until the flag has that value for
the user and prints the wall-clock time it saw it.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from purchase_lab.flags import FeatureFlags, UserContext


def main(path: str, key: str, user_id: str, expected: str) -> None:
    """Watch the flag and write one line per expected value reached."""
    flags = FeatureFlags.start(Path(path))
    user = UserContext(user_id)
    changed = threading.Event()
    flags.on_change(lambda _keys: changed.set())
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for value in expected.split(","):
        while flags.is_enabled(key, user) != (value == "on"):
            changed.wait(5)
            changed.clear()
        sys.stdout.write(f"{time.time()}\n")
        sys.stdout.flush()
    flags.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
