"""Feature flags in the gateway: the live flags of this worker, and GET /api/v1/features for clients.

Each gunicorn worker evaluates the live flags file itself. Its FeatureFlags starts on the first
request that needs a flag, so it always starts after the fork, and an app that never evaluates a
flag (a test's) never watches a file.
"""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Blueprint, Flask, current_app

from purchase_lab.flags import FeatureFlags, FlagSettings
from services.gateway import inputs

EXTENSION = "purchase_flags"

bp = Blueprint("features", __name__, url_prefix="/api/v1")


class LiveFlags:
    """One app's flags: the live file it evaluates, and its FeatureFlags, started on first use."""

    def __init__(self, path: Path, flags: FeatureFlags | None = None) -> None:
        self.path = path
        self._flags = flags
        self._lock = threading.Lock()

    def get(self) -> FeatureFlags:
        """The running FeatureFlags, started now (seeding the live file) when this is the first use."""
        with self._lock:
            if self._flags is None:
                self._flags = FeatureFlags.start(self.path)
            return self._flags


def init_app(app: Flask, flags: FeatureFlags | None = None) -> None:
    """Give app its flags: the given FeatureFlags, or one on the configured live file, started on first use."""
    path = flags.path if flags is not None else FlagSettings.from_env().live_path
    app.extensions[EXTENSION] = LiveFlags(path, flags)


def live_flags() -> LiveFlags:
    """The flags of the app serving the current request."""
    return current_app.extensions[EXTENSION]


def flags() -> FeatureFlags:
    """The running FeatureFlags of the app serving the current request."""
    return live_flags().get()


@bp.get("/features")
def features() -> dict[str, dict[str, bool]]:
    """Each client-visible flag's value for the calling user, so a client can show or hide features."""
    user = inputs.current_user()
    return {"flags": flags().evaluate_all(user.context)}
