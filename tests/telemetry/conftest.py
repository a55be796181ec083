"""Fixtures for telemetry tests: telemetry set up as a service would, with in-memory exporters to look into."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from purchase_lab.telemetry import Telemetry, setup_telemetry


@dataclass
class Recorded:
    """A Telemetry and what it recorded: finished spans, and metric points on demand."""

    telemetry: Telemetry
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def spans(self) -> list[ReadableSpan]:
        """Every span finished so far, oldest first."""
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        """The one finished span with this name."""
        found = [span for span in self.spans() if span.name == name]
        assert len(found) == 1, f"expected one span {name!r}, got {[span.name for span in self.spans()]}"
        return found[0]

    def points(self, metric: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, point) of every data point of the named metric, as the reader collects them now."""
        data = self.reader.get_metrics_data()
        return [
            (dict(point.attributes), point)
            for resource in (data.resource_metrics if data else [])
            for scope in resource.scope_metrics
            for recorded in scope.metrics
            if recorded.name == metric
            for point in recorded.data.data_points
        ]

    def count(self, metric: str, **attributes: Any) -> float:
        """The value of a counter (or count of a histogram) for the points carrying these attributes."""
        total = 0.0
        for labels, point in self.points(metric):
            if all(labels.get(key) == value for key, value in attributes.items()):
                total += getattr(point, "count", None) or getattr(point, "value", 0)
        return total


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    """Telemetry for a service named "test", exporting to memory, not installed as the global one."""
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    telemetry = setup_telemetry("test", {}, span_exporter=exporter, metric_readers=[reader], set_global=False)
    yield Recorded(telemetry, exporter, reader)
    telemetry.shutdown()
