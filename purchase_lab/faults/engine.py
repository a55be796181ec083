"""Decide whether a fault fires on one call: find the rules for it, match its arguments, roll for the rate."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from purchase_lab.faults.rules import CallFacts, Rule
from purchase_lab.faults.watcher import RuleSource

log = logging.getLogger(__name__)

MAX_CACHED_METHODS = 256


@dataclass(frozen=True)
class Injection:
    """A rule firing on one call, and the delay it adds (latency plus a draw of jitter)."""

    rule: Rule
    service: str
    side: str
    method: str
    replica: int | None
    delay_s: float


Listener = Callable[[Injection], None]


class FaultInjector:
    """Picks the rule, if any, that fires on a call to one service, seen from one side, on one replica.

    Append to `listeners` to hear about every injection (telemetry counts them there).
    """

    def __init__(
        self,
        service: str,
        side: str,
        source: RuleSource,
        replica: int | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.side = side
        self.replica = replica
        self.source = source
        self.listeners: list[Listener] = []
        self._rng = rng or random.Random()
        self._clock = clock
        # (the source's rules, those for this service/side/replica, those by method): one tuple, so that
        # threads swapping it never see parts of two versions.
        self._cache: tuple[tuple[Rule, ...], tuple[Rule, ...], dict[str, tuple[Rule, ...]]] = ((), (), {})

    def rules_for(self, method: str) -> tuple[Rule, ...]:
        """The rules that may fire on this method (a gRPC method name, or an HTTP path at the gateway)."""
        rules = self.source.rules
        cache = self._cache
        if cache[0] is not rules:
            mine = tuple(rule for rule in rules if rule.applies_to(self.service, self.side, self.replica))
            cache = self._cache = (rules, mine, {})
        if not cache[1]:
            return ()
        by_method = cache[2]
        found = by_method.get(method)
        if found is None:
            if len(by_method) >= MAX_CACHED_METHODS:
                by_method.clear()  # HTTP paths carry SKUs; do not grow without bound
            found = by_method[method] = tuple(rule for rule in cache[1] if rule.covers(method))
        return found

    def choose(self, rules: Sequence[Rule], method: str, facts: Callable[[], CallFacts]) -> Injection | None:
        """The first rule that matches the call's arguments and wins its roll; facts are read only if needed."""
        now = self._clock()
        known: CallFacts | None = None
        for rule in rules:
            if not rule.active(now):
                continue
            if rule.needs_facts:
                known = known or facts()
                if not rule.matches(known):
                    continue
            if self._rng.random() < rule.rate:
                delay_ms = rule.latency_ms + (self._rng.uniform(0, rule.jitter_ms) if rule.jitter_ms else 0)
                injection = Injection(rule, self.service, self.side, method, self.replica, delay_ms / 1000)
                self._announce(injection)
                return injection
        return None

    def _announce(self, injection: Injection) -> None:
        rule = injection.rule
        log.info(
            "fault %s fired on %s %s (%s side, replica %s): error=%s delay=%.0f ms",
            rule.id,
            injection.service,
            injection.method,
            injection.side,
            injection.replica or "-",
            rule.error or "none",
            injection.delay_s * 1000,
        )
        for listener in self.listeners:
            try:
                listener(injection)
            except Exception:
                # An observer's bug must not turn into a failure of the call it observes.
                log.exception("fault listener %r failed", listener)
