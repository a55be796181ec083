"""Logging set-up shared by every process: one line per event, naming the service, as text or JSON."""

from __future__ import annotations

import logging
import sys

from purchase_lab.telemetry.logging import TextFormatter, configure_json_logging


def configure_logging(service: str, level: str = "INFO", log_format: str = "text") -> None:
    """Send log records to stderr: `LEVEL service logger: message [trace_id=... span_id=...]`, or JSON lines.

    log_format is Settings.log_format (PURCHASE_LOG_FORMAT): text or json (see docs/observability.md).
    """
    if log_format == "json":
        configure_json_logging(service, level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
