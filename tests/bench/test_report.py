"""The bench's arithmetic and its check of the result's shape."""

from __future__ import annotations

import pytest

from bench.report import EXPECTED, missing_keys
from bench.stats import percentile, ratio, summary

pytestmark = pytest.mark.unit


def test_percentiles_are_nearest_rank_values_that_were_measured() -> None:
    samples = [float(value) for value in range(1, 101)]
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile([3.0, 1.0, 2.0], 100) == 3.0


def test_no_samples_is_an_error_that_says_so() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


def test_a_summary_names_its_unit_in_every_key() -> None:
    assert summary([0.001, 0.002], "us") == {
        "n": 2,
        "p50_us": 1000.0,
        "p99_us": 2000.0,
        "mean_us": 1500.0,
        "min_us": 1000.0,
        "max_us": 2000.0,
    }
    assert summary([], "ms") == {"n": 0}


def test_a_ratio_is_missing_rather_than_made_up() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None
    assert ratio(1.0, 0.0) is None


def test_missing_sections_and_figures_are_named() -> None:
    complete = {name: {} for name in ("schema", "mode", "machine", "lab_settings")}
    complete.update({section: dict.fromkeys(figures) for section, figures in EXPECTED.items()})
    assert missing_keys(complete) == []
    del complete["floor"]["hops"]
    del complete["control_plane"]
    assert missing_keys(complete) == ["floor.hops", "control_plane"]
