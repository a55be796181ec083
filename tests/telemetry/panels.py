"""What each panel of the Grafana dashboard should show for the scripted story (story.py), checked in Prometheus.

`check_dashboard` evaluates every query of every panel as Grafana would (its variables filled in) in
a real Prometheus, and holds each panel to what the counters say happened: a panel with no
expectation here, a query Prometheus refuses, or a reading away from the truth is a problem.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purchase_lab.flags import LOYALTY_DISCOUNT
from tests.telemetry.prometheus import Prometheus, PromQLError, Series
from tests.telemetry.story import Phase, Story

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "observability" / "grafana" / "dashboards" / "purchase-lab.json"
DOCS = ROOT / "docs" / "observability.md"

CHECKOUTS = "purchase_checkouts_total"
FUNNEL = "purchase_feature_funnel_total"
CALLS = "purchase_dependency_calls_total"
FALLBACKS = "purchase_dependency_fallbacks_total"
EVALUATIONS = "purchase_flag_evaluations_total"
SERVICES = {"gateway", "cart", "pricing", "email"}
# A reading is taken this long after its phase ended (a scrape has come in since), over a window that
# starts this long before the phase began (in the quiet gap before it, after the previous phase).
AFTER_SECONDS, BEFORE_SECONDS = 1.5, 2.0
# Ratios computed from the same scrapes as the counters' truth agree up to rounding; rates up to
# where in the window the first and last samples fall (one scrape interval each side).
RATIO_TOLERANCE = 0.02
RATE_TOLERANCE = 0.15


@dataclass(frozen=True)
class Query:
    """One PromQL query: where it comes from (a panel's title, or a docs comment), its legend, its text."""

    source: str
    legend: str
    expr: str


def dashboard_panels(dashboard: dict[str, Any]) -> dict[str, list[Query]]:
    """Every panel with queries, by title, with its queries in order."""
    return {
        panel["title"]: [Query(panel["title"], t.get("legendFormat", ""), t["expr"]) for t in panel["targets"]]
        for panel in dashboard["panels"]
        if panel.get("targets")
    }


def docs_queries(text: str) -> list[Query]:
    """Every query in the ```promql blocks of a Markdown text, named by the comment line above it."""
    queries: list[Query] = []
    for block in re.findall(r"```promql\n(.*?)```", text, flags=re.DOTALL):
        question = ""
        for line in block.splitlines():
            if line.startswith("#"):
                question = line.lstrip("# ").strip()
            elif line.strip():
                queries.append(Query(f"docs: {question}", "", line.strip()))
    return queries


@dataclass
class Readings:
    """The panels' queries evaluated in Prometheus at the end of a phase of the story, next to its truth."""

    prometheus: Prometheus
    story: Story
    # How many label sets of the checkout and funnel counters were at 0 before any traffic.
    before_traffic: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def phase(self, name: str) -> Phase:
        """A phase of the story."""
        return self.story.phases[name]

    def at(self, expr: str, phase: str, window: float | None = None) -> list[Series]:
        """expr as Grafana would show it at the end of the phase ("story": the whole story).

        $__rate_interval is the phase (window seconds instead, when given), $__range the whole story.
        """
        if phase == "story":
            at, span = self.story.ended - 0.5, self.story.ended - self.story.started + BEFORE_SECONDS
        else:
            ran = self.phase(phase)
            at, span = ran.ended + AFTER_SECONDS, ran.seconds + AFTER_SECONDS + BEFORE_SECONDS
        whole = self.story.ended - self.story.started + BEFORE_SECONDS
        filled = (
            expr.replace("$__rate_interval", f"{window or span:.0f}s")
            .replace("$__range", f"{whole:.0f}s")
            .replace("$flag", LOYALTY_DISCOUNT)
        )
        return self.prometheus.query(filled, at)

    def window(self, phase: str) -> float:
        """The seconds a rate() over the phase divides by, about: the span its samples cover."""
        ran = self.phase(phase)
        return ran.seconds + AFTER_SECONDS + BEFORE_SECONDS - 1.0

    def by(self, query: Query, phase: str, *labels: str, window: float | None = None) -> dict[tuple[str, ...], float]:
        """A query's series at the end of a phase, by the values of labels."""
        found = self.at(query.expr, phase, window)
        return {tuple(series.labels.get(label, "") for label in labels): series.value for series in found}

    def one(self, query: Query, phase: str, window: float | None = None) -> float:
        """A query that answers one number."""
        found = self.at(query.expr, phase, window)
        assert len(found) == 1, f"{query.legend or query.expr}: expected one series, got {len(found)}"
        return found[0].value

    def agrees(self, query: Query, what: str, reading: float | None, truth: float, tolerance: float) -> None:
        """Note the reading next to the truth, and fail when they are further apart than tolerance."""
        shown = "missing" if reading is None else f"{reading:.3f}"
        self.notes.append(f"{query.source} | {what} | panel {shown} | counters {truth:.3f}")
        assert reading is not None, f"{what}: the panel shows no such series (the counters say {truth:.3f})"
        assert math.isfinite(reading), f"{what}: the panel reads {reading}, the counters say {truth:.3f}"
        assert abs(reading - truth) <= tolerance, (
            f"{what}: the panel reads {reading:.3f}, the counters say {truth:.3f} (tolerance {tolerance})"
        )

    def agrees_rate(self, query: Query, what: str, reading: float | None, moved: float, phase: str) -> None:
        """A per-second reading against the counter's movement over the phase."""
        truth = moved / self.window(phase)
        self.agrees(query, what, reading, truth, RATE_TOLERANCE * truth + 0.05)


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN for 0/0 as in PromQL."""
    return numerator / denominator if denominator else math.nan


def checked(readings: Readings, phase: str, fraction: Callable[[Phase], tuple[float, float]]) -> float:
    """The truth of a ratio over a phase: fraction(phase) gives its numerator and denominator."""
    return ratio(*fraction(readings.phase(phase)))


# --- what each panel should show -------------------------------------------------------------------

Check = Callable[[list[Query], Readings], None]
EXPECTATIONS: dict[str, Check] = {}


def expects(title: str) -> Callable[[Check], Check]:
    """Register what the panel with this title should show."""

    def register(check: Check) -> Check:
        EXPECTATIONS[title] = check
        return check

    return register


def _served(phase: Phase) -> float:
    return phase.moved("gateway", CHECKOUTS) - phase.moved("gateway", CHECKOUTS, result="rejected")


@expects("Checkouts that placed an order")
def _placed_share(queries: list[Query], r: Readings) -> None:
    for phase in ("steady", "outage"):
        ran = r.phase(phase)
        placed = sum(ran.moved("gateway", CHECKOUTS, result=result) for result in ("placed", "degraded", "replayed"))
        r.agrees(queries[0], f"{phase}: share placed", r.one(queries[0], phase), ratio(placed, _served(ran)), 0.02)
    assert r.one(queries[0], "outage") < r.one(queries[0], "steady") - 0.2, "the outage should cost orders"


@expects("Degraded orders")
def _degraded_share(queries: list[Query], r: Readings) -> None:
    for phase in ("steady", "outage"):
        ran = r.phase(phase)
        orders = ran.moved("gateway", CHECKOUTS, result="placed") + ran.moved("gateway", CHECKOUTS, result="degraded")
        truth = ratio(ran.moved("gateway", CHECKOUTS, result="degraded"), orders)
        r.agrees(queries[0], f"{phase}: share degraded", r.one(queries[0], phase), truth, RATIO_TOLERANCE)
    assert r.one(queries[0], "outage") > 0.3


@expects("Checkout p95 latency")
def _checkout_latency(queries: list[Query], r: Readings) -> None:
    p95 = r.one(queries[0], "steady")
    r.notes.append(f"{queries[0].source} | steady: p95 seconds | panel {p95:.4f} | counters -")
    assert 0 < p95 < 5


@expects("Checkouts per second")
def _checkout_rate(queries: list[Query], r: Readings) -> None:
    for phase in ("steady", "outage"):
        moved = r.phase(phase).moved("gateway", CHECKOUTS)
        r.agrees_rate(queries[0], f"{phase}: checkouts/s", r.one(queries[0], phase), moved, phase)


@expects("Checkouts by result")
def _checkouts_by_result(queries: list[Query], r: Readings) -> None:
    shown = r.by(queries[0], "outage", "result")
    assert set(shown) == {(result,) for result in ("placed", "degraded", "replayed", "failed", "rejected")}
    for (result,), value in shown.items():
        moved = r.phase("outage").moved("gateway", CHECKOUTS, result=result)
        r.agrees_rate(queries[0], f"outage: {result}/s", value, moved, "outage")


@expects("Checkout failures by checkout.fallbacks variant")
def _failures_by_fallbacks(queries: list[Query], r: Readings) -> None:
    shown = r.by(queries[0], "outage", "fallbacks")
    for variant in ("on", "off"):
        ran = r.phase("outage")
        failed = ran.moved("gateway", CHECKOUTS, result="failed", fallbacks=variant)
        served = ran.moved("gateway", CHECKOUTS, fallbacks=variant) - ran.moved(
            "gateway", CHECKOUTS, result="rejected", fallbacks=variant
        )
        r.agrees(
            queries[0],
            f"outage: failed share, fallbacks {variant}",
            shown.get((variant,)),
            ratio(failed, served),
            RATIO_TOLERANCE,
        )
    assert shown[("off",)] > 0.5 > shown[("on",)], "the original checkout should fail while email is down"


@expects("HTTP 5xx share by route")
def _http_errors(queries: list[Query], r: Readings) -> None:
    # The Flask instrumentation's series of a status code is born at its first answer: none yet, no line.
    steady = r.by(queries[0], "steady", "http_route").get(("/api/v1/checkout",))
    assert steady in (None, 0), f"steady: checkout 5xx share {steady}"
    replies = r.phase("outage").replies
    truth = ratio(sum(n for status, n in replies.items() if status >= 500), sum(replies.values()))
    shown = r.by(queries[0], "outage", "http_route").get(("/api/v1/checkout",))
    r.agrees(queries[0], "outage: checkout 5xx share", shown, truth, RATIO_TOLERANCE)


@expects("HTTP p95 latency by route")
def _http_latency(queries: list[Query], r: Readings) -> None:
    p95 = r.by(queries[0], "steady", "http_route")[("/api/v1/checkout",)]
    assert 0 < p95 < 5


@expects("Dependency calls by method and outcome")
def _dependency_calls(queries: list[Query], r: Readings) -> None:
    email = ("email", "SendOrderConfirmation")
    for phase, outcome in (("steady", "ok"), ("outage", "error"), ("recovery", "ok")):
        shown = r.by(queries[0], phase, "dependency", "method", "outcome")
        # Only the checkout's own calls: the relay's deliveries in the recovery would double these.
        moved = r.phase(phase).moved(
            "gateway", CALLS, dependency=email[0], method=email[1], caller="request", outcome=outcome
        )
        r.agrees_rate(queries[0], f"{phase}: {'.'.join(email)} {outcome}/s", shown.get((*email, outcome)), moved, phase)


@expects("Fallback rate per soft call")
def _fallback_rate(queries: list[Query], r: Readings) -> None:
    email = {"dependency": "email", "method": "SendOrderConfirmation"}
    steady = r.by(queries[0], "steady", "dependency", "method")
    assert steady.get(("email", "SendOrderConfirmation")) == 0, f"no fallbacks before the outage: {steady}"
    outage = r.phase("outage")
    truth = ratio(
        outage.moved("gateway", FALLBACKS, **email), outage.moved("gateway", CALLS, **email, caller="request")
    )
    shown = r.by(queries[0], "outage", "dependency", "method").get(("email", "SendOrderConfirmation"))
    r.agrees(queries[0], "outage: email.SendOrderConfirmation fallback rate", shown, truth, RATIO_TOLERANCE)
    assert outage.moved("gateway", FALLBACKS, **email, cause="short_circuited") > 0, "the breaker never opened"
    # The outage's last seconds, when the breaker refuses most calls: still falling back, still counted.
    late = r.by(queries[0], "outage", "dependency", "method", window=8).get(("email", "SendOrderConfirmation"))
    r.notes.append(f"{queries[0].source} | outage, last 8 s: email.SendOrderConfirmation | panel {late} | -")
    assert late is not None, "no fallback rate in the outage's last seconds"
    assert late > 0.2, f"the fallback rate fell to {late} while the breaker was open"


@expects("Short-circuited by the breaker, per method")
def _short_circuited(queries: list[Query], r: Readings) -> None:
    email = {"dependency": "email", "method": "SendOrderConfirmation"}
    outage = r.phase("outage")
    truth = ratio(
        outage.moved("gateway", CALLS, **email, outcome="short_circuited"), outage.moved("gateway", CALLS, **email)
    )
    shown = r.by(queries[0], "outage", "dependency", "method").get(("email", "SendOrderConfirmation"))
    r.agrees(queries[0], "outage: email.SendOrderConfirmation refused share", shown, truth, RATIO_TOLERANCE)
    assert shown is not None
    assert shown > 0
    steady = r.by(queries[0], "steady", "dependency", "method")
    assert {value for value in steady.values() if not math.isnan(value)} == {0}, f"refused before the outage: {steady}"


@expects("Dependency p95 latency per method, as the gateway waits for it")
def _dependency_latency(queries: list[Query], r: Readings) -> None:
    shown = r.by(queries[0], "steady", "dependency", "method")
    for method in (("pricing", "GetAdjustment"), ("cart", "PlaceOrder")):
        assert 0 < shown[method] < 5, f"{method}: {shown.get(method)}"


@expects("Faults injected")
def _faults(queries: list[Query], r: Readings) -> None:
    assert r.by(queries[0], "steady", "service") == {}, "no fault fired before the outage"
    shown = r.by(queries[0], "outage", "service", "side", "error")
    assert shown.get(("email", "server", "UNAVAILABLE"), 0) > 0, shown


@expects("Email relay: deliveries of queued emails")
def _relay(queries: list[Query], r: Readings) -> None:
    outage, recovery = r.phase("outage"), r.phase("recovery")
    failing = r.by(queries[0], "outage", "method", "outcome")
    assert failing.get(("SendOrderConfirmation", "ok")) == 0, f"the relay delivered while email was down: {failing}"
    # The relay drains the backlog as soon as email is back, in the gap before the recovery's load:
    # read it from the outage's end to the recovery's.
    window = recovery.ended + AFTER_SECONDS - (outage.ended - 0.5)
    shown = r.by(queries[0], "recovery", "method", "outcome", window=window).get(("SendOrderConfirmation", "ok"))
    relayed = {"method": "SendOrderConfirmation", "caller": "relay", "outcome": "ok"}
    moved = recovery.after["gateway"].value(CALLS, **relayed) - outage.after["gateway"].value(CALLS, **relayed)
    assert moved > 0, "the relay delivered nothing once email was back"
    delivered = None if shown is None else shown * (window - 1)
    r.agrees(queries[0], "after the outage: relay deliveries", delivered, moved, 0.2 * moved + 2)


@expects("RPCs per second by service")
def _rpc_rate(queries: list[Query], r: Readings) -> None:
    shown = r.by(queries[0], "steady", "service_name")
    assert {name for (name,), value in shown.items() if value > 0} == {"cart", "pricing", "email"}


@expects("Server-side error share by method")
def _rpc_errors(queries: list[Query], r: Readings) -> None:
    # Every method's error series exists from the start: 0 before the outage (NaN for methods not called).
    steady = r.by(queries[0], "steady", "service_name", "rpc_method")
    assert steady[("pricing", "GetAdjustment")] == 0
    assert {value for value in steady.values() if not math.isnan(value)} == {0}
    shown = r.by(queries[0], "outage", "service_name", "rpc_method")
    assert shown[("email", "SendOrderConfirmation")] > 0.9, shown


@expects("p95 latency by method")
def _rpc_latency(queries: list[Query], r: Readings) -> None:
    p95 = r.by(queries[0], "steady", "service_name", "rpc_method")[("pricing", "GetAdjustment")]
    r.notes.append(f"{queries[0].source} | steady: pricing GetAdjustment p95 seconds | panel {p95:.5f} | -")
    assert 0 < p95 < 0.25


@expects("Ramp vs hit rate of the new code")
def _ramp_and_hit_rate(queries: list[Query], r: Readings) -> None:
    ramp, evaluations, exposures = queries
    for phase, percent in (("steady", 0), ("ramp", 50)):
        ran = r.phase(phase)
        assert r.one(ramp, phase) == percent
        on = sum(ran.moved(p, EVALUATIONS, flag=LOYALTY_DISCOUNT, variant="on") for p in SERVICES)
        every = sum(ran.moved(p, EVALUATIONS, flag=LOYALTY_DISCOUNT) for p in SERVICES)
        r.agrees(evaluations, f"{phase}: evaluations served on %", r.one(evaluations, phase), 100 * ratio(on, every), 2)
        exposed = {"feature": LOYALTY_DISCOUNT, "stage": "exposed"}
        truth = 100 * ratio(
            ran.moved("gateway", FUNNEL, **exposed, variant="on"), ran.moved("gateway", FUNNEL, **exposed)
        )
        r.agrees(exposures, f"{phase}: exposures to new code %", r.one(exposures, phase), truth, 2)
    # The ramp is 50%: the share follows it, loosely (users split by a hash; the defect hides some exposures).
    assert 20 <= r.one(evaluations, "ramp") <= 80
    assert 20 <= r.one(exposures, "ramp") <= 80


@expects("Failure rate per variant, against the ramp")
def _failure_rate_per_variant(queries: list[Query], r: Readings) -> None:
    failure, ramp = queries
    shown = r.by(failure, "story", "variant")
    for variant in ("on", "off"):
        funnel = {"feature": LOYALTY_DISCOUNT, "variant": variant}
        failed = r.story.moved("gateway", FUNNEL, **funnel, stage="failed")
        ended = failed + r.story.moved("gateway", FUNNEL, **funnel, stage="succeeded")
        r.agrees(failure, f"story: failed % ({variant})", shown.get((variant,)), 100 * ratio(failed, ended), 2)
    assert r.one(ramp, "story") == 50


@expects("Funnel over the dashboard's time range")
def _funnel_total(queries: list[Query], r: Readings) -> None:
    shown = r.by(queries[0], "story", "variant", "stage")
    assert len(shown) == 8, f"both variants, four stages each: {sorted(shown)}"
    for (variant, stage), value in shown.items():
        moved = r.story.moved("gateway", FUNNEL, feature=LOYALTY_DISCOUNT, variant=variant, stage=stage)
        r.agrees(queries[0], f"story: {variant} {stage}", value, moved, 0.05 * moved + 1)


@expects("Funnel stages per second by variant")
def _funnel_rate(queries: list[Query], r: Readings) -> None:
    for phase in ("steady", "ramp"):
        shown = r.by(queries[0], phase, "variant", "stage")
        assert len(shown) == 8, f"{phase}: both variants, four stages each: {sorted(shown)}"
    moved = r.phase("ramp").moved("gateway", FUNNEL, feature=LOYALTY_DISCOUNT, variant="on", stage="exposed")
    r.agrees_rate(queries[0], "ramp: on exposed/s", shown.get(("on", "exposed")), moved, "ramp")


@expects("Resident memory by service")
def _memory(queries: list[Query], r: Readings) -> None:
    shown = r.by(queries[0], "story", "job")
    assert {job for (job,), value in shown.items() if value > 10e6} == SERVICES


def check_dashboard(dashboard: dict[str, Any], readings: Readings) -> list[str]:
    """Every problem with the dashboard's panels, variable and annotations for the story; [] when none."""
    problems = []
    for title, queries in dashboard_panels(dashboard).items():
        check = EXPECTATIONS.get(title)
        if check is None:
            problems.append(f"{title}: no expectation for this panel; say in tests/telemetry/panels.py what it shows")
            continue
        try:
            check(queries, readings)
        except (AssertionError, PromQLError, KeyError) as error:
            problems.append(f"{title}: {error}")
    for variable in dashboard["templating"]["list"]:
        metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["definition"]).groups()
        if LOYALTY_DISCOUNT not in readings.prometheus.label_values(label, metric):
            problems.append(f"variable {variable['name']}: {variable['definition']} does not offer {LOYALTY_DISCOUNT}")
    for annotation in dashboard["annotations"]["list"]:
        if "expr" in annotation:
            problems += _annotation_problems(annotation, readings)
    for problem in problems:
        log.warning("panel problem: %s", problem)
    for note in readings.notes:
        log.info("reading: %s", note)
    return problems


def _annotation_problems(annotation: dict[str, Any], readings: Readings) -> list[str]:
    ramp = readings.phase("ramp")
    try:
        found = readings.prometheus.query(annotation["expr"], ramp.started)
    except PromQLError as error:
        return [f"annotation {annotation['name']}: {error}"]
    if LOYALTY_DISCOUNT not in {series.labels.get("flag") for series in found}:
        return [f"annotation {annotation['name']}: no mark for the ramp of {LOYALTY_DISCOUNT}"]
    return []


def check_docs(queries: list[Query], readings: Readings) -> list[str]:
    """Every docs query that Prometheus refuses, or that shows nothing at the outage's end nor the story's."""
    problems = []
    for query in queries:
        try:
            found = [
                s for phase in ("outage", "story") for s in readings.at(query.expr, phase) if math.isfinite(s.value)
            ]
        except PromQLError as error:
            problems.append(f"{query.source}: {error}")
            continue
        if not found:
            problems.append(f"{query.source}: {query.expr} shows nothing")
    return problems


def load_dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    """The dashboard JSON."""
    return json.loads(path.read_text(encoding="utf-8"))
