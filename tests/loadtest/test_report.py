"""The journal reads what each answer told the client; the summary turns the journal into the run's numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.journal import CHECKOUT, Record, read_records, record_from_answer, write_records
from loadtest.report import percentiles, render_markdown, summarise

pytestmark = pytest.mark.unit

CONTEXT = {"user": "load-first-1", "cohort": "first"}
PLACED = {
    "order_id": "o-1",
    "status": "placed",
    "lines": [{"sku": "TEA-SEN-100", "quantity": 1}],
    "adjustment_cents": 120,
    "email": "queued",
    "degraded": [{"dependency": "email", "fallback": "queued", "error": "UNAVAILABLE"}],
    "replayed": False,
}


def answer(name: str, status: int, body: object = None, **context: object) -> Record:
    """The record of one answer, as the journal makes it."""
    return record_from_answer(
        t=1.0, method="POST", name=name, status=status, ms=12.0, body=body, context={**CONTEXT, **context}, failure=""
    )


def checkout(t: float, key: str, status: int, ms: float, degraded: tuple[str, ...] = (), attempt: int = 1) -> Record:
    """A checkout attempt's record."""
    error = "" if status < 300 else "dependency_unavailable"
    return Record(
        t,
        "u",
        "returning",
        "POST",
        CHECKOUT,
        status,
        ms,
        error,
        "cart" if error else "",
        key,
        attempt,
        order_id="o" if status < 300 else "",
        email="sent" if status < 300 else "",
        degraded=list(degraded),
    )


def test_a_checkout_answer_tells_the_order_its_emails_and_degradations():
    record = answer(CHECKOUT, 201, PLACED, key="k-1", attempt=2)

    assert (record.order_id, record.order_status, record.adjustment_cents, record.email) == (
        "o-1",
        "placed",
        120,
        "queued",
    )
    assert record.degraded == ["email:queued"]
    assert (record.key, record.attempt, record.user, record.cohort) == ("k-1", 2, "load-first-1", "first")


def test_an_error_answer_tells_its_kind_and_a_missing_answer_its_exception():
    cancelled = answer(
        CHECKOUT,
        503,
        {
            "error": {
                "code": "order_cancelled",
                "dependency": "email",
                "order_id": "o-2",
                "order_status": "cancelled",
                "retryable": True,
            }
        },
    )
    timeout = record_from_answer(
        t=0, method="GET", name="/api/v1/cart", status=0, ms=5000, body=None, context=CONTEXT, failure="ReadTimeout"
    )

    assert cancelled.kind == "503 order_cancelled (email)"
    assert (cancelled.order_id, cancelled.order_status) == ("o-2", "cancelled")
    assert timeout.kind == "0 ReadTimeout"


def test_a_cart_answer_tells_the_lines_and_the_journal_reads_back_what_it_wrote(tmp_path: Path):
    record = answer("/api/v1/cart/items", 200, {"lines": [{"sku": "COF-ETH-250", "quantity": 2}]})
    write_records(tmp_path / "journal.jsonl", [record, answer(CHECKOUT, 201, PLACED)])

    assert record.cart == {"COF-ETH-250": 2}
    assert read_records(tmp_path / "journal.jsonl") == [record, answer(CHECKOUT, 201, PLACED)]


def test_percentiles_are_by_nearest_rank():
    assert percentiles(range(1, 101)) == {"p50": 50, "p90": 90, "p99": 99, "max": 100}
    assert percentiles([]) == {}


def test_the_summary_counts_checkouts_by_key_degradations_and_errors_by_kind():
    records = [
        checkout(1, "a", 503, 30),
        checkout(2, "a", 201, 10, attempt=2),  # retried with the same key: one checkout
        checkout(3, "b", 201, 20, ("email:queued",)),
        checkout(4, "c", 503, 40),
    ]
    summary = summarise(records, [], {"elapsed_s": 2.0})

    numbers = summary["checkouts"]
    assert (numbers["attempts"], numbers["checkouts"], numbers["placed"], numbers["failed"]) == (4, 3, 2, 1)
    assert numbers["retried"] == 1
    assert numbers["per_second"] == 1.0
    assert numbers["degraded_share"] == 0.5
    assert numbers["degraded"] == {"email:queued": 1}
    assert numbers["latency_ms"] == {"p50": 20, "p90": 40, "p99": 40, "max": 40}
    assert summary["errors"] == [
        {"method": "POST", "endpoint": CHECKOUT, "kind": "503 dependency_unavailable (cart)", "count": 2}
    ]


def test_each_stretch_between_chaos_events_has_its_own_rates():
    records = [checkout(1, "a", 201, 10), checkout(11, "b", 503, 10), checkout(12, "c", 201, 10, ("email:queued",))]
    events = [
        {"t": 10.0, "action": "inject", "scenario": "email-down", "rules": ["f-1"], "problem": ""},
        {"t": 15.0, "action": "clear", "scenario": "email-down", "rules": ["f-1"], "problem": ""},
    ]
    windows = summarise(records, events, {"elapsed_s": 20.0})["chaos"]["windows"]

    assert [(w["start_s"], w["end_s"], w["faults"]) for w in windows] == [
        (0.0, 10.0, []),
        (10.0, 15.0, ["email-down"]),
        (15.0, 20.0, []),
    ]
    assert (windows[1]["checkout_error_rate"], windows[1]["degraded_share"]) == (0.5, 1.0)
    assert windows[1]["top_errors"] == [f"POST {CHECKOUT} 503 dependency_unavailable (cart) x1"]
    assert windows[2]["requests"] == 0


def test_the_markdown_summary_shows_the_headline_numbers_chaos_and_invariants():
    run = {
        "started_at": "now",
        "host": "http://127.0.0.1:8080",
        "shape": "spike",
        "users": 9,
        "elapsed_s": 2.0,
        "chaos": "soft",
        "seed": 4,
    }
    events = [{"t": 0.5, "action": "inject", "scenario": "pricing-slow", "rules": ["f-9"], "problem": ""}]
    summary = summarise([checkout(1, "a", 201, 10)], events, run)
    summary["invariants"] = {
        "ok": False,
        "counts": {"users": 1},
        "violations": [{"kind": "lost_order", "user": "u", "detail": "told o was placed"}],
    }

    page = render_markdown(summary)

    assert "| checkouts placed per second | 0.5 |" in page
    assert "- 0.5 s: inject pricing-slow f-9" in page
    assert "| 0.5 | 2.0 | pricing-slow |" in page
    assert "The invariants are VIOLATED." in page
    assert "VIOLATION lost_order for u: told o was placed" in page
