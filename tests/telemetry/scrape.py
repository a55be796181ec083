"""Read a real /metrics endpoint as Prometheus does, with prometheus_client's own parser."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

# Never through a proxy: every endpoint of a test lab is on this host's loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Scrape:
    """Every sample one endpoint exposed at one moment."""

    samples: list[Sample]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called name whose labels include these (0 when there is none)."""
        return sum(
            sample.value
            for sample in self.samples
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items())
        )

    def names(self) -> set[str]:
        """Every sample name exposed."""
        return {sample.name for sample in self.samples}


def scrape(url: str) -> Scrape:
    """GET url and parse the Prometheus text it answers; ValueError when it is not valid exposition text."""
    with _OPENER.open(url, timeout=5) as answer:
        text = answer.read().decode()
    return Scrape([sample for family in text_string_to_metric_families(text) for sample in family.samples])
