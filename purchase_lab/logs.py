"""Logging set-up shared by every process: one line per event, naming the service, as text or JSON."""

from __future__ import annotations

import logging
import sys

from purchase_lab.telemetry.logging import configure_json_logging


def configure_logging(service: str, level: str = "INFO", log_format: str = "text") -> None:
    """Send log records to stderr: `LEVEL service logger: message`, or JSON lines with the trace id.

    log_format is Settings.log_format (PURCHASE_LOG_FORMAT): text or json (see docs/observability.md).
    """
    if log_format == "json":
        configure_json_logging(service, level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(levelname)s {service} %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
