"""Feature flags in the gateway: the live flags of this worker, and GET /api/v1/features for clients.

Each gunicorn worker evaluates the live flags file itself. Its FeatureFlags starts on the first
request that needs a flag, so it always starts after the fork, and an app that never evaluates a
flag (a test's) never watches a file.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from flask import Blueprint, Flask, current_app
from openfeature.hook import Hook

from purchase_lab.flags import FeatureFlags, FlagSettings
from purchase_lab.telemetry.hooks import flag_hooks
from purchase_lab.telemetry.instrument import telemetry_of
from services.gateway import inputs

EXTENSION = "purchase_flags"

bp = Blueprint("features", __name__, url_prefix="/api/v1")


class LiveFlags:
    """One app's flags: the live file it evaluates, and its FeatureFlags, started on first use.

    hooks (telemetry's) are added to the FeatureFlags' OpenFeature client, so every evaluation runs them.
    """

    def __init__(self, path: Path, flags: FeatureFlags | None = None, hooks: Sequence[Hook] = ()) -> None:
        self.path = path
        self._flags = flags
        self._hooks = list(hooks)
        self._lock = threading.Lock()
        if flags is not None and self._hooks:
            flags.client.add_hooks(self._hooks)

    def started(self) -> FeatureFlags | None:
        """The FeatureFlags if it has started, else None (nothing is started by asking)."""
        with self._lock:
            return self._flags

    def get(self) -> FeatureFlags:
        """The running FeatureFlags, started now (seeding the live file) when this is the first use."""
        with self._lock:
            if self._flags is None:
                self._flags = FeatureFlags.start(self.path)
                if self._hooks:
                    self._flags.client.add_hooks(self._hooks)
            return self._flags


def init_app(app: Flask, flags: FeatureFlags | None = None) -> None:
    """Give app its flags: the given FeatureFlags, or one on the configured live file, started on first use.

    With the app's telemetry on, each evaluation is counted by variant and recorded on the request's span.
    """
    path = flags.path if flags is not None else FlagSettings.from_env().live_path
    telemetry = telemetry_of(app)
    hooks = flag_hooks(telemetry.metrics) if telemetry.enabled else []
    app.extensions[EXTENSION] = LiveFlags(path, flags, hooks)


def live_flags_of(app: Flask) -> LiveFlags:
    """The flags of app."""
    return app.extensions[EXTENSION]


def live_flags() -> LiveFlags:
    """The flags of the app serving the current request."""
    return live_flags_of(current_app)


def flags() -> FeatureFlags:
    """The running FeatureFlags of the app serving the current request."""
    return live_flags().get()


@bp.get("/features")
def features() -> dict[str, dict[str, bool]]:
    """Each client-visible flag's value for the calling user, so a client can show or hide features."""
    user = inputs.current_user()
    return {"flags": flags().evaluate_all(user.context)}
