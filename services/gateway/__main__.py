"""Serve the gateway under gunicorn: `python -m services.gateway`, configured by PURCHASE_* variables."""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from purchase_lab.config import ConfigError, Settings
from purchase_lab.logs import configure_logging
from purchase_lab.processes import exit_with_parent
from services.gateway.app import create_app
from services.gateway.resources import EXTENSION

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


def close_gateway(_arbiter: Any, worker: Any) -> None:
    """gunicorn's worker_exit hook: stop the worker's email relay and close its channels."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask) and EXTENSION in app.extensions:
        app.extensions[EXTENSION].close()


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn's settings for the gateway."""
    return {
        "bind": f"{settings.host}:{settings.ports.gateway}",
        "worker_class": "gthread",
        "workers": settings.gateway_workers,
        "threads": settings.gateway_threads,
        # No preload: each worker builds its own app, since gRPC channels must not cross a fork.
        "preload_app": False,
        # Several gateways run at once in tests; a shared control socket path would collide.
        "control_socket_disable": True,
        "accesslog": "-",
        "logger_class": StderrAccessLogger,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
        "proc_name": "purchase-gateway",
        "worker_exit": close_gateway,
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
        """Build the app; gunicorn calls this in each worker after the fork."""
        configure_logging("gateway", self.settings.log_level)
        return create_app(self.settings)


def main() -> None:
    """Read the settings and serve until SIGTERM or SIGINT."""
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        sys.exit(f"gateway: {error}")
    configure_logging("gateway", settings.log_level)
    exit_with_parent()
    GatewayServer(settings).run()


if __name__ == "__main__":
    main()
