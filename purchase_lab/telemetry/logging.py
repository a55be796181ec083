"""Structured logs: one JSON object per line, carrying the trace and span ids of the operation that logged.

With the trace id in every line, a log line leads to its trace in Jaeger (search by trace id) and a
trace to its log lines (`grep <trace id>`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from purchase_lab.releases import process_release

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged too.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON: time, level, service, logger, message, trace_id, span_id, and extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self.release = process_release()

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON; trace_id and span_id when logged inside a span."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "release": self.release,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = trace.format_trace_id(span_context.trace_id)
            entry["span_id"] = trace.format_span_id(span_context.span_id)
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`LEVEL service logger: message`, then `trace_id=... span_id=...` when logged inside a span."""

    def __init__(self, service: str) -> None:
        super().__init__(f"%(levelname)s {service} %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as text, ending with its trace and span ids when there are any."""
        line = super().format(record)
        span_context = trace.get_current_span().get_span_context()
        if not span_context.is_valid:
            return line
        trace_id, span_id = trace.format_trace_id(span_context.trace_id), trace.format_span_id(span_context.span_id)
        ids = f"trace_id={trace_id} span_id={span_id}"
        # After the first line, so a traceback below it stays intact.
        first, newline, rest = line.partition("\n")
        return f"{first} {ids}{newline}{rest}"


def configure_json_logging(service: str, level: str = "INFO") -> None:
    """Send every log record to stderr as a line of JSON tagged with the service name."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
