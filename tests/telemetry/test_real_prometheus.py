"""The dashboard and the docs' queries, run in a real Prometheus scraping a real lab through a scripted story.

Debian's prometheus scrapes the lab every second with a config made from observability/prometheus.yml
while story.py runs steady load, email down, and the loyalty discount ramped to 50%. Then every
panel's queries are held to the counters (panels.py), and so is every query of docs/observability.md.
Without prometheus installed the tests skip, loudly, except under CI=true, where they fail.
"""

from __future__ import annotations

import copy
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Lab
from tests.telemetry import panels
from tests.telemetry.prometheus import SHIPPED_CONFIG, Prometheus, binaries, lab_config
from tests.telemetry.story import PROCESSES, Story, run_story

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


@pytest.fixture(scope="module")
def tools() -> tuple[str, str]:
    """prometheus and promtool; skipped without them, except under CI=true."""
    found = binaries()
    if found is None:
        message = "prometheus and promtool are not installed (apt-get install prometheus): the real-Prometheus tests"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} cannot run, and CI=true skips nothing")
        pytest.skip(f"SKIPPED LOUDLY: {message} did not run")
    return found


@pytest.fixture(scope="module")
def observed(tools: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[panels.Readings]:
    """A lab, a Prometheus scraping it, the story run against it, and the readings ready to take."""
    lab = Lab(tmp_path_factory.mktemp("lab"), env={"PURCHASE_GATEWAY_WORKERS": "2"})
    prometheus = None
    try:
        lab.start()
        targets = {name: lab.metrics_url(name).split("/")[2] for name in PROCESSES}
        prometheus = Prometheus(tools[0], lab_config(targets), tmp_path_factory.mktemp("prometheus"))
        # Every target up, and the gateway's series in, before any traffic.
        prometheus.wait_for('count(up == 1) == 4 and count(purchase_checkouts_total{job="gateway"})', "scrapes")
        before = _series_at_zero(prometheus)
        story = run_story(lab)
        yield panels.Readings(prometheus, story, before_traffic=before)
    finally:
        if prometheus is not None:
            prometheus.stop()
        lab.stop()


def _series_at_zero(prometheus: Prometheus) -> dict[str, int]:
    """How many distinct label sets of the checkout and funnel counters Prometheus holds at 0 right now."""
    now = time.time()
    return {
        "checkouts": len(prometheus.query("count by (result, fallbacks) (purchase_checkouts_total == 0)", now)),
        "funnel": len(prometheus.query("count by (variant, stage) (purchase_feature_funnel_total == 0)", now)),
    }


def test_promtool_accepts_the_shipped_config_and_the_one_made_from_it(tools: tuple[str, str], tmp_path: Path) -> None:
    made = tmp_path / "prometheus.yml"
    made.write_text(yaml.safe_dump(lab_config({name: f"127.0.0.1:{9000 + i}" for i, name in enumerate(PROCESSES)})))

    for config in (SHIPPED_CONFIG, made):
        checked = subprocess.run([tools[1], "check", "config", str(config)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_before_any_traffic_prometheus_sees_every_checkout_and_funnel_series_at_zero(
    observed: panels.Readings,
) -> None:
    # Read by the fixture before the story: 5 results x 2 variants, 4 stages x 2 variants.
    assert observed.before_traffic == {"checkouts": 10, "funnel": 8}


def test_the_story_ran_as_scripted(observed: panels.Readings) -> None:
    story: Story = observed.story
    outage, ramp = story.phases["outage"], story.phases["ramp"]
    # Each shopper's checkouts were counted once, with their result: the counters tell the truth.
    for phase in story.phases.values():
        assert phase.moved("gateway", panels.CHECKOUTS) == sum(phase.replies.values()), phase.name
        assert phase.moved("gateway", panels.CHECKOUTS, result="failed") == sum(
            count for status, count in phase.replies.items() if status >= 500
        ), phase.name
    assert outage.moved("gateway", panels.FALLBACKS, dependency="email") > 0
    assert ramp.moved("gateway", panels.FUNNEL, variant="on", stage="exposed") > 0


def test_every_dashboard_panel_shows_what_the_counters_say(observed: panels.Readings) -> None:
    problems = panels.check_dashboard(panels.load_dashboard(), observed)

    assert problems == []


def test_every_query_of_the_observability_docs_runs_and_shows_data(observed: panels.Readings) -> None:
    queries = panels.docs_queries(panels.DOCS.read_text(encoding="utf-8"))

    assert len(queries) >= 15
    assert panels.check_docs(queries, observed) == []


def _mutated(dashboard: dict[str, Any], title: str, old: str, new: str) -> dict[str, Any]:
    broken = copy.deepcopy(dashboard)
    for panel in broken["panels"]:
        if panel["title"] == title:
            for target in panel["targets"]:
                assert old in target["expr"] or len(panel["targets"]) > 1
                target["expr"] = target["expr"].replace(old, new)
    return broken


@pytest.mark.parametrize(
    ("title", "old", "new"),
    [
        # The meaning this issue replaced: fallbacks counted as an outcome of the call.
        (
            "Fallback rate per soft call",
            "purchase_dependency_fallbacks_total",
            'purchase_dependency_calls_total{outcome="fallback"}',
        ),
        # One variant's failures divided by everyone's: the comparison with the baseline is gone.
        (
            "Failure rate per variant, against the ramp",
            'sum by (variant) (rate(purchase_feature_funnel_total{feature="$flag", stage=~',
            'sum (rate(purchase_feature_funnel_total{feature="$flag", stage=~',
        ),
        # A query Prometheus refuses.
        ("Checkouts by result", "sum by (result)", "sum by result"),
        # The relay's retries mixed into the checkout's own calls.
        ("Dependency calls by method and outcome", '{caller="request"}', ""),
    ],
)
def test_a_broken_panel_query_fails_the_check(observed: panels.Readings, title: str, old: str, new: str) -> None:
    dashboard = panels.load_dashboard()

    problems = panels.check_dashboard(_mutated(dashboard, title, old, new), observed)

    assert [problem for problem in problems if problem.startswith(f"{title}:")], problems
    assert [problem for problem in problems if not problem.startswith(f"{title}:")] == []


def test_a_panel_with_no_expectation_fails_the_check(observed: panels.Readings) -> None:
    dashboard = panels.load_dashboard()
    dashboard["panels"].append({"title": "Something new", "targets": [{"expr": "up", "legendFormat": ""}]})

    problems = panels.check_dashboard(dashboard, observed)

    assert problems == ["Something new: no expectation for this panel; say in tests/telemetry/panels.py what it shows"]
