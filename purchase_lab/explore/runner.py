"""Run cases against the lab and check each against the oracle: set users up, fault them, check out, compare."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from purchase_lab.explore.lab import ExploreLab
from purchase_lab.explore.oracle import Expected, expect
from purchase_lab.explore.shop import Answer, Shop, ShopError, State
from purchase_lab.explore.space import DOWN, LATENCY, Case, Site, sites_of
from purchase_lab.explore.traces import TraceReceiver
from purchase_lab.health import wait_until

WORKERS = 12
# How long the relay may take to deliver the emails a run queued (it retries every second or so).
EMAIL_WAIT_S = 20.0
EMAIL_POLL_S = 0.5
# Latency past the deadline: this much longer than the deadline of the service it delays.
LATENCY_PAST_DEADLINE_MS = 300
RESTART_WAIT_S = 20.0

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class Run:
    """One case as run: its user, the answer, the calls the checkout made, and what the oracle found wrong."""

    case: Case
    user: str = ""
    before: State | None = None
    answer: Answer | None = None
    calls: list[Site] = field(default_factory=list)
    expected: Expected | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    checked: bool = False

    @property
    def passed(self) -> bool:
        """True when the answer and the state are what the table says."""
        return self.checked and self.answer is not None and not self.problems

    def to_dict(self) -> dict[str, Any]:
        """As JSON, the way a report or a replay file holds it."""
        return {
            "case": self.case.to_dict(),
            "label": self.case.label,
            "user": self.user,
            "passed": self.passed,
            "problems": self.problems,
            "status": self.answer.status if self.answer else None,
            "body": self.answer.body if self.answer else None,
            "calls": [site.label for site in self.calls],
            "expected": self.expected.to_dict() if self.expected else None,
            "seconds": round(self.seconds, 3),
        }


def parallel(work: Callable[[Item], Result], items: Iterable[Item], workers: int = WORKERS) -> list[Result]:
    """Do work on every item, `workers` at a time, and return the results in order; the first error is raised."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [future.result() for future in [pool.submit(work, item) for item in items]]


class Explorer:
    """Runs batches of cases against one lab."""

    def __init__(
        self, lab: ExploreLab, receiver: TraceReceiver, shop: Shop, progress: Callable[[str], None] = lambda _: None
    ) -> None:
        self.lab = lab
        self.receiver = receiver
        self.shop = shop
        self.progress = progress

    def rules(self, run: Run) -> list[dict[str, object]]:
        """The fault rules of one run: each fault but DOWN, at its site, for the run's user alone."""
        rules = []
        for injection in run.case.faults:
            if injection.fault == DOWN:
                continue
            site = injection.site
            rule: dict[str, object] = {
                "service": site.service,
                "method": site.method,
                "occurrence": site.occurrence,
                "user": run.user,
                "description": f"explore {injection.label}",
            }
            if injection.fault == LATENCY:
                deadline = getattr(self.lab.settings, f"{site.service}_deadline_ms")
                rule["latency_ms"] = deadline + LATENCY_PAST_DEADLINE_MS
            else:
                rule["error"] = injection.fault
            rules.append(rule)
        return rules

    def run(self, cases: list[Case]) -> list[Run]:
        """Run cases: set every user up, then each group of cases with the same processes down, then check all."""
        runs = [Run(case) for case in cases]
        started = time.monotonic()
        parallel(self._set_up, runs)
        self.progress(f"{len(runs)} users set up in {time.monotonic() - started:.1f} s")
        groups: dict[frozenset[str], list[Run]] = {}
        for run in runs:
            groups.setdefault(run.case.down, []).append(run)
        for down, group in sorted(groups.items(), key=lambda item: sorted(item[0])):
            self.lab.set_rules([rule for run in group for rule in self.rules(run)], f"sync-{secrets.token_hex(4)}")
            for service in sorted(down):
                self.lab.kill(service)
            started = time.monotonic()
            try:
                parallel(self._check_out, group)
            finally:
                for service in sorted(down):
                    self.restart(service)
            down_text = f" with {', '.join(sorted(down))} down" if down else ""
            self.progress(f"{len(group)} checkouts{down_text} in {time.monotonic() - started:.1f} s")
        self.lab.clear_rules()
        started = time.monotonic()
        self.check(runs)
        self.progress(f"{len(runs)} runs checked in {time.monotonic() - started:.1f} s")
        return runs

    def restart(self, service: str) -> None:
        """Start a killed service again and wait until the gateway reaches it (its channel reconnects)."""
        self.lab.start(service)
        paths = {"cart": "/api/v1/cart", "pricing": "/api/v1/products", "email": "/api/v1/admin/outbox?limit=1"}
        headers = {"X-User-Id": "explore-probe", "Authorization": f"Bearer {self.lab.env['PURCHASE_ADMIN_TOKEN']}"}
        wait_until(
            lambda: self.shop.request("GET", paths[service], headers).status == 200,
            f"the gateway reaching {service} again",
            RESTART_WAIT_S,
        )

    def _set_up(self, run: Run) -> None:
        run.user = run.case.new_user()
        run.expected = expect(run.case)
        self.shop.set_up(run.user, run.case.kind)
        run.before = self.shop.state(run.user, run.case.kind)

    def _check_out(self, run: Run) -> None:
        trace_id = secrets.token_hex(16)
        started = time.monotonic()
        run.answer = self.shop.checkout(run.user, run.case.kind, trace_id)
        run.seconds = time.monotonic() - started
        run.calls = sites_of([(call.service, call.method) for call in self.receiver.calls(trace_id)])

    def check(self, runs: list[Run]) -> None:
        """Compare each run's answer and state with the table, once the emails it queued have had time to arrive.

        The runs still owed an email are read again together, so a slow relay costs the batch one wait.
        """
        pending = list(runs)
        deadline = time.monotonic() + EMAIL_WAIT_S
        while pending:
            late = time.monotonic() > deadline
            for run, state in zip(pending, parallel(self._read, pending), strict=True):
                if isinstance(state, str):
                    run.problems = [state]
                elif late or not _emails_missing(run, state):
                    run.problems = compare(run, state)
                else:
                    continue
                run.checked = True
            pending = [run for run in pending if not run.checked]
            if pending:
                time.sleep(EMAIL_POLL_S)

    def _read(self, run: Run) -> State | str:
        """The run's state, or what kept it from being read."""
        try:
            return self.shop.state(run.user, run.case.kind)
        except ShopError as error:
            return f"the state could not be read: {error}"


def _new_order(run: Run, state: State) -> tuple[str, str] | None:
    assert run.before is not None
    new = [(order_id, status) for order_id, status in state.orders.items() if order_id not in run.before.orders]
    return new[0] if len(new) == 1 else None


def _emails_missing(run: Run, state: State) -> bool:
    """True while an email the table expects (sent or queued) is not in the outbox yet."""
    assert run.expected is not None
    order = _new_order(run, state)
    wanted = [kind for kind, fate in run.expected.emails.items() if fate in ("sent", "queued")]
    return bool(wanted) and (order is None or any((order[0], kind) not in state.emails for kind in wanted))


def compare(run: Run, state: State) -> list[str]:
    """Everything in the answer and the state that differs from what the table says."""
    expected, answer, before = run.expected, run.answer, run.before
    assert expected is not None
    assert answer is not None
    assert before is not None
    problems = []
    error = answer.body.get("error") if isinstance(answer.body.get("error"), dict) else {}
    if answer.status != expected.status:
        problems.append(f"answered {answer.status}, the table says {expected.status} ({_said(answer)})")
    elif expected.code is not None and (error.get("code"), error.get("dependency")) != (
        expected.code,
        expected.dependency,
    ):
        problems.append(
            f"error code {error.get('code')!r} naming {error.get('dependency')!r}; "
            f"the table says {expected.code!r} naming {expected.dependency!r}"
        )
    if answer.status == 201:
        problems += _placed_answer(expected, answer)
    observed = [site.label for site in run.calls]
    if observed != expected.calls:
        problems.append(f"called {observed}; the table calls {expected.calls}")
    problems += _state_problems(run, state)
    return problems


def _said(answer: Answer) -> str:
    error = answer.body.get("error")
    return (
        f"{error.get('code')}: {error.get('message')}"
        if isinstance(error, dict)
        else f"order {answer.body.get('order_id')}"
    )


def _placed_answer(expected: Expected, answer: Answer) -> list[str]:
    problems = []
    body = answer.body
    if body.get("email") != expected.email:
        problems.append(f"the answer says email {body.get('email')!r}; the table says {expected.email!r}")
    degraded = sorted(
        (entry.get("dependency"), entry.get("fallback"), entry.get("error")) for entry in body.get("degraded", [])
    )
    wanted = sorted((entry["dependency"], entry["fallback"], entry["error"]) for entry in expected.degraded)
    if degraded != wanted:
        problems.append(f"degraded {degraded}; the table says {wanted}")
    if expected.discount is not None and (body.get("adjustment_cents", 0) > 0) != expected.discount:
        problems.append(
            f"the order's discount is {body.get('adjustment_cents')} cents; the table says "
            + ("a discount" if expected.discount else "none")
        )
    return problems


def _state_problems(run: Run, state: State) -> list[str]:
    expected, before, answer = run.expected, run.before, run.answer
    assert expected is not None
    assert before is not None
    assert answer is not None
    problems = []
    new = {order_id: status for order_id, status in state.orders.items() if order_id not in before.orders}
    if expected.order == "none" and new:
        problems.append(f"orders {new} were left; the table says no order")
    elif expected.order != "none":
        if list(new.values()) != [expected.order]:
            problems.append(f"the checkout left orders {new}; the table says one order, {expected.order}")
        elif answer.status == 201 and answer.body.get("order_id") not in new:
            problems.append(f"the answer names order {answer.body.get('order_id')}, not the one stored: {list(new)}")
    if expected.cart == "unchanged" and state.cart != before.cart:
        problems.append(f"the cart holds {state.cart}; the table says it is unchanged ({before.cart})")
    if expected.cart == "emptied" and state.cart:
        problems.append(f"the cart still holds {state.cart}; the table says it was ordered")
    emails = state.emails - before.emails
    order_id = next(iter(new), None)
    for kind, fate in expected.emails.items():
        arrived = order_id is not None and (order_id, kind) in emails
        if fate in ("sent", "queued") and not arrived:
            problems.append(f"the {kind} email never reached the outbox; the table says {fate}")
        if fate == "none" and arrived:
            problems.append(f"a {kind} email was sent; the table says none")
    strays = {email for email in emails if email[0] != order_id}
    if strays:
        problems.append(f"emails for other orders were sent: {sorted(strays)}")
    return problems
