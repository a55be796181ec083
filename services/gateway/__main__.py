"""Serve the gateway under gunicorn: `python -m services.gateway`, configured by PURCHASE_* variables."""

from __future__ import annotations

if __name__ == "__main__":
    # The gateway serves under gevent (see serving.py). Patching before anything else is imported means no
    # module holds a lock, queue or thread pool of the unpatched kind, which would block the whole worker.
    from gevent import monkey

    monkey.patch_all()

import logging
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from purchase_lab.acks import process_acks
from purchase_lab.admin_token import ensure_token_file
from purchase_lab.config import ConfigError, Settings, replica
from purchase_lab.logs import configure_logging
from purchase_lab.processes import exit_with_parent
from purchase_lab.telemetry import JsonFormatter, TelemetrySettings, setup_telemetry
from purchase_lab.telemetry.instrument import instrument_redis, telemetry_of
from purchase_lab.telemetry.workers import remove_workers_directory, start_worker_metrics
from services.gateway.app import create_app
from services.gateway.features import live_flags_of
from services.gateway.resources import EXTENSION
from services.gateway.serving import worker_options

# Seconds in-flight requests get to finish after SIGTERM before workers are killed.
GRACEFUL_TIMEOUT_SECONDS = 5


class StderrAccessLogger(Logger):
    """gunicorn's logger with the access log on stderr, where every other log line goes."""

    def setup(self, cfg: Any) -> None:
        """Set up as gunicorn does, then move the access log from stdout to stderr."""
        super().setup(cfg)
        for handler in self.access_log.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """Log each request, but not the ops console's once-a-second polling (it would bury every other line)."""
        if environ.get("HTTP_X_CONSOLE_POLL") and (resp.status_code or 500) < 400:
            return
        super().access(resp, req, environ, request_time)


class JsonLinesLogger(StderrAccessLogger):
    """The same, writing gunicorn's own lines (access log included) as JSON, like every other line."""

    def setup(self, cfg: Any) -> None:
        """Set up as StderrAccessLogger does, then format every line as JSON."""
        super().setup(cfg)
        for handler in (*self.error_log.handlers, *self.access_log.handlers):
            handler.setFormatter(JsonFormatter("gateway"))


def close_gateway(_arbiter: Any, worker: Any) -> None:
    """gunicorn's worker_exit hook: stop the worker's email relay, close its channels, flush its telemetry."""
    app = getattr(worker, "wsgi", None)
    if not isinstance(app, Flask):
        return
    if EXTENSION in app.extensions:
        app.extensions[EXTENSION].close()
    process_acks().close()
    telemetry_of(app).shutdown()


def forget_workers(arbiter: Any) -> None:
    """gunicorn's on_exit hook: remove the list of the workers' metrics ports (see telemetry/workers.py)."""
    remove_workers_directory(arbiter.pid)


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn's settings for the gateway."""
    return {
        "bind": f"{settings.host}:{settings.ports.gateway}",
        "workers": settings.gateway_workers,
        # One greenlet per connection, and a deadline on each request head (see serving.py).
        **worker_options(),
        # No preload: each worker builds its own app, since gRPC channels must not cross a fork.
        "preload_app": False,
        # Several gateways run at once in tests; a shared control socket path would collide.
        "control_socket_disable": True,
        "accesslog": "-",
        "logger_class": JsonLinesLogger if settings.log_format == "json" else StderrAccessLogger,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
        "proc_name": "purchase-gateway",
        "worker_exit": close_gateway,
        "on_exit": forget_workers,
    }


class GatewayServer(BaseApplication):
    """gunicorn running the gateway app, built anew in each worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        """Apply gunicorn_options instead of reading a command line or a config file."""
        for name, value in gunicorn_options(self.settings).items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        """Build the app; gunicorn calls this in each worker after the fork.

        Telemetry too is per worker: its exporter's threads and channel must not cross a fork. Each
        worker's /metrics answers for every worker (see telemetry/workers.py).
        """
        configure_logging("gateway", self.settings.log_level, self.settings.log_format)
        telemetry = setup_telemetry("gateway")
        instrument_redis(telemetry)
        workers = start_worker_metrics(telemetry)
        app = create_app(self.settings, telemetry=telemetry, metrics=workers.scrape if workers else None)
        # Flags start now rather than on first use, so the worker serves and acknowledges them from the start.
        live_flags_of(app).get()
        process_acks().identify("gateway", replica())
        return app


def main() -> None:
    """Read the settings and serve until SIGTERM or SIGINT."""
    try:
        token_file = ensure_token_file()
        settings = Settings.from_env()
        # Checked here, once: a bad OTEL_* value would otherwise fail every worker's boot in turn.
        TelemetrySettings.from_env("gateway")
    except (ConfigError, OSError, ValueError) as error:
        sys.exit(f"gateway: {error}")
    configure_logging("gateway", settings.log_level, settings.log_format)
    if token_file is not None:
        logging.getLogger("gateway").info(
            "the admin token is in %s; under Docker Compose print it with `docker compose exec gateway cat %s`",
            token_file,
            token_file,
        )
    exit_with_parent()
    GatewayServer(settings).run()


if __name__ == "__main__":
    main()
