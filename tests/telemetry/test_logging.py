"""Log lines are JSON carrying the service, and the trace and span ids of the operation that logged them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from purchase_lab.telemetry import JsonFormatter, configure_json_logging
from purchase_lab.telemetry.logging import TextFormatter
from tests.telemetry.conftest import Recorded

pytestmark = pytest.mark.unit


@pytest.fixture
def lines() -> Iterator[list[str]]:
    """What a logger named 'shop' writes through the JSON formatter, one string per record."""
    written: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            written.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter("gateway"))
    logger = logging.getLogger("shop")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield written
    logger.removeHandler(handler)


def test_a_line_logged_in_a_span_carries_its_trace_and_span_ids(lines: list[str], recorded: Recorded) -> None:
    tracer = recorded.telemetry.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("checkout") as span:
        logging.getLogger("shop").warning("pricing failed for %s", "ada", extra={"order_id": "o-1"})

    entry = json.loads(lines[0])
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert entry["span_id"] == format(span.get_span_context().span_id, "016x")
    assert (entry["service"], entry["level"], entry["logger"]) == ("gateway", "WARNING", "shop")
    assert entry["message"] == "pricing failed for ada"
    assert entry["order_id"] == "o-1"


def test_a_line_outside_any_span_has_no_trace_id_and_an_exception_is_kept(lines: list[str]) -> None:
    try:
        raise ValueError("bad SKU")
    except ValueError:
        logging.getLogger("shop").exception("could not price the cart")

    entry = json.loads(lines[0])
    assert "trace_id" not in entry
    assert "ValueError: bad SKU" in entry["exception"]


def test_configure_json_logging_sends_json_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_json_logging("cart", "INFO")
        logging.getLogger("cart.store").info("order placed")
        logging.getLogger("cart.store").debug("not at INFO")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)

    written = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(entry["service"], entry["message"]) for entry in written] == [("cart", "order placed")]


def test_a_text_line_logged_in_a_span_ends_with_its_trace_and_span_ids(recorded: Recorded) -> None:
    formatter = TextFormatter("cart")
    tracer = recorded.telemetry.tracer_provider.get_tracer("test")
    record = logging.LogRecord("cart.store", logging.INFO, __file__, 1, "order %s placed", ("o-1",), None)
    outside = formatter.format(record)
    with tracer.start_as_current_span("PlaceOrder") as span:
        inside = formatter.format(record)

    context = span.get_span_context()
    assert outside == "INFO cart cart.store: order o-1 placed"
    assert inside == f"{outside} trace_id={context.trace_id:032x} span_id={context.span_id:016x}"
