"""Evaluate flags in-process with OpenFeature and the flagd provider watching the live file.

Each service calls `FeatureFlags.start()` once (in every worker process, after any fork): it seeds
the live file when missing, registers a flagd provider in FILE mode (no daemon) under its own
OpenFeature domain, and waits for the first load. The provider's watcher polls the file's mtime
every POLL_MS and reloads it, so a change reaches every process within about that interval.

When the live file turns invalid, the provider reports an error but keeps its last good flags, and
the OpenFeature SDK keeps evaluating them (it only short-circuits NOT_READY and FATAL providers):
running services go on serving the last good flags. A process that starts while the live file is
invalid loads the lab's last good copy (see last_good.py) instead; with none, it serves the code defaults
and says it cannot serve (`problem`), which the gRPC services report as NOT_SERVING. When a flag cannot
be evaluated at all, the answer is its code default, the safe old behaviour.

Every load is acknowledged with the flags' version in the process's ack file (see purchase_lab/acks.py),
so controls can wait until every process serves a change, and `purchase status` can show who serves what.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.event import EventDetails, ProviderEvent
from openfeature.exception import OpenFeatureError
from openfeature.provider import ProviderStatus

from purchase_lab.acks import NO_FILE, document_version, process_acks
from purchase_lab.flags.context import UserContext
from purchase_lab.flags.definitions import FLAGS, POLL_MS, FlagSettings, known_flag
from purchase_lab.flags.document import read_document, seed_live_file
from purchase_lab.flags.errors import RESET_HINT, InvalidFlagsFile
from purchase_lab.flags.last_good import last_good_path, load_last_good, save_last_good

logger = logging.getLogger(__name__)
ChangeListener = Callable[[Sequence[str]], None]


class _QuietReloadErrors(logging.Filter):
    """Drop the flagd file watcher's own error log, which repeats with a traceback on every poll.

    FeatureFlags logs each outage once instead, with what is wrong and where.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.funcName != "handle_error"


def _quiet_watcher_errors() -> None:
    watcher_logger = logging.getLogger("openfeature.contrib")
    if not any(isinstance(existing, _QuietReloadErrors) for existing in watcher_logger.filters):
        watcher_logger.addFilter(_QuietReloadErrors())


class FeatureFlags:
    """One process's view of the lab's flags: `is_enabled(key, user)` for a user, live from the file."""

    def __init__(self, path: Path, provider: FlagdProvider, domain: str) -> None:
        self.path = path
        self.domain = domain
        self._provider = provider
        self._client = api.get_client(domain)
        self._lock = threading.Lock()
        self._reported_healthy = True
        self._reported_flags: set[str] = set()
        self._listeners: list[ChangeListener] = []
        self.version: str | None = None  # of the flags served; None before any valid load
        self.source = NO_FILE  # live, last-good, or none
        self.problem = ""  # why this process cannot serve flags ('' when it can)
        self._load = self._follow_loads()

    @classmethod
    def start(cls, path: Path | None = None, poll_ms: int = POLL_MS) -> FeatureFlags:
        """Seed the live file if needed, start watching it, and return once the first load is done.

        A live file that is invalid at start is reported and the code defaults are served until it
        is fixed; the process still starts.
        """
        live = path if path is not None else FlagSettings.from_env().live_path
        seed_live_file(live)
        _quiet_watcher_errors()
        provider = FlagdProvider(
            resolver_type=ResolverType.FILE, offline_flag_source_path=str(live), deadline_ms=poll_ms
        )
        flags = cls(live, provider, f"purchase-lab-flags-{uuid.uuid4().hex[:12]}")
        # A failed first load leaves the provider in ERROR: the handler added below reports it once.
        with contextlib.suppress(OpenFeatureError):
            api.set_provider_and_wait(provider, flags.domain)
        if flags.version is None:
            flags._fall_back()
        flags._client.add_handler(ProviderEvent.PROVIDER_ERROR, flags._on_status)
        flags._client.add_handler(ProviderEvent.PROVIDER_READY, flags._on_status)
        flags._client.add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, flags._on_changed)
        logger.info("evaluating flags from %s (checked every %d ms)", live, poll_ms)
        return flags

    @property
    def client(self) -> OpenFeatureClient:
        """The OpenFeature client bound to this instance's provider (for hooks such as telemetry)."""
        return self._client

    @property
    def healthy(self) -> bool:
        """False while the live file is invalid and the last good flags (or code defaults) are served."""
        return self._client.get_provider_status() == ProviderStatus.READY

    def _follow_loads(self) -> Callable[[dict[str, Any]], None]:
        """Note every document the provider's file watcher loads; return the provider's own load.

        The flagd provider has no event that says which document it loaded, so its flag store's update
        (called with each parsed document) is wrapped. openfeature-provider-flagd is pinned exactly for this.
        """
        store = self._provider.resolver.connector.flag_store
        load = store.update

        def update(document: dict[str, Any]) -> None:
            load(document)
            self._serving(document, "live")
            save_last_good(self.path, document)

        store.update = update
        return load

    def _serving(self, document: dict[str, Any], source: str) -> None:
        with self._lock:
            self.version, self.source, self.problem = document_version(document), source, ""
        process_acks().record(flags=self.version, flags_source=source, problem="")

    def _fall_back(self) -> None:
        """At start, with the live file invalid: serve the lab's last good flags, or say we cannot serve."""
        problem = self._file_problem()
        document = load_last_good(self.path)
        if document is not None:
            self._load(document)
            self._serving(document, "last-good")
            copy = last_good_path(self.path)
            logger.error("%s; serving the last good flags from %s (%s)", problem, copy, self.version)
            self._reported_healthy = False
            return
        with self._lock:
            self.problem = f"no valid flags to serve ({problem})"
        process_acks().record(flags=NO_FILE, flags_source=NO_FILE, problem=self.problem)
        logger.error("%s; no last good copy either, so every flag gets its code default: NOT_SERVING", problem)
        self._reported_healthy = False

    def _file_problem(self) -> str:
        try:
            read_document(self.path)
        except InvalidFlagsFile as error:
            return str(error)
        return f"{self.path} could not be loaded; {RESET_HINT}"

    def is_enabled(self, key: str, user: UserContext | None) -> bool:
        """The flag's value for this user (None: a caller with no user); the code default on any error."""
        spec = known_flag(key)
        context = user.to_evaluation_context() if user is not None else None
        details = self.client.get_boolean_details(key, spec.default, context)
        if details.error_code is not None:
            self._report_once(key, f"{details.error_code}: {details.error_message}")
        return details.value

    def evaluate_all(self, user: UserContext | None, client_visible_only: bool = True) -> dict[str, bool]:
        """Every flag's value for this user, by key; only client-visible ones unless told otherwise."""
        return {
            key: self.is_enabled(key, user)
            for key, spec in FLAGS.items()
            if spec.client_visible or not client_visible_only
        }

    def on_change(self, listener: ChangeListener) -> None:
        """Call listener(changed_keys) after each reload that changed flags (on an SDK event thread)."""
        self._listeners.append(listener)

    def stop(self) -> None:
        """Stop watching the file; evaluations keep answering from the flags last loaded."""
        self._provider.shutdown()

    def _report_once(self, key: str, problem: str) -> None:
        with self._lock:
            if key in self._reported_flags:
                return
            self._reported_flags.add(key)
        logger.warning("flag %s cannot be evaluated (%s); serving its code default", key, problem)

    def _on_status(self, _details: EventDetails) -> None:
        """Log each change between a valid and an invalid live file once (events repeat on every poll)."""
        healthy = self.healthy
        with self._lock:
            changed, self._reported_healthy = healthy != self._reported_healthy, healthy
        if not changed:
            return
        if healthy:
            logger.info("%s is valid again; serving it (%s)", self.path, self.version)
            return
        if self.version is None:
            return  # _fall_back said so at start
        logger.error("%s; meanwhile serving the last good flags (%s)", self._file_problem(), self.version)

    def _on_changed(self, details: EventDetails) -> None:
        with self._lock:
            self._reported_flags.clear()
        for listener in list(self._listeners):
            listener(details.flags_changed or [])
