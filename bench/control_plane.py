"""How long a flag change and a fault rule take to reach every process, seen from the outside.

The bench changes the live file through the public API (flags.set_flag, FaultStore) and then polls each
process's behaviour until it shows the change. Every gunicorn worker of the gateway has its own copy of
the flags and rules, so the bench holds one connection per worker (client.pin_shoppers) and waits for all.

- flag: `pricing.loyalty_discount` on for everyone, then off. Pricing shows it in GetAdjustment (a
  returning customer gets the loyalty discount); each gateway worker in GET /api/v1/features.
- fault: a rule for one probe user only (so nothing else is disturbed), in turn on cart, pricing, email and
  the gateway; each answers that user's call with the rule's error. Then the rule is removed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
from purchase.cart.v1 import cart_pb2, cart_pb2_grpc
from purchase.email.v1 import email_pb2, email_pb2_grpc
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from bench.client import BENCH_SKU, Shopper, pin_shoppers
from bench.lab import BenchLab
from bench.stats import summary
from purchase_lab.faults import FaultStore
from purchase_lab.faults.watcher import POLL_SECONDS
from purchase_lab.flags import LIVE_FILE_NAME, LOYALTY_DISCOUNT, set_flag
from purchase_lab.flags.context import USER_ID_KEY
from purchase_lab.flags.definitions import POLL_MS

WAIT_S = 5.0
CALL_TIMEOUT_S = 1.0
PROBE_ERROR = grpc.StatusCode.DATA_LOSS  # a status nothing else in the lab answers with
PROBE_HTTP_STATUS = 418
Probe = Callable[[], bool]


def _grpc_fails(call: Callable[[], object]) -> bool:
    try:
        call()
    except grpc.RpcError as error:
        return error.code() == PROBE_ERROR
    return False


def wait_for(probes: dict[str, Probe], change: Callable[[], object]) -> dict[str, float]:
    """Make the change, then poll every probe until each is true; return each probe's seconds."""
    started = time.perf_counter()
    change()
    seen: dict[str, float] = {}
    while len(seen) < len(probes):
        if time.perf_counter() - started > WAIT_S:
            missing = ", ".join(sorted(set(probes) - set(seen)))
            raise TimeoutError(f"{missing} did not show the change within {WAIT_S} s; see the lab's logs")
        for name, probe in probes.items():
            if name not in seen and probe():
                seen[name] = time.perf_counter() - started
    return seen


class Probes:
    """Direct calls to each process of a lab, made for one probe user."""

    def __init__(self, lab: BenchLab) -> None:
        self.lab = lab
        self.user = f"bench-probe-{uuid.uuid4().hex[:8]}"
        self.metadata = ((USER_ID_KEY, self.user),)
        self.channels = {
            service: grpc.insecure_channel(lab.target(service)) for service in ("cart", "pricing", "email")
        }
        self.cart = cart_pb2_grpc.CartServiceStub(self.channels["cart"])
        self.pricing = pricing_pb2_grpc.PricingServiceStub(self.channels["pricing"])
        self.email = email_pb2_grpc.EmailServiceStub(self.channels["email"])
        host, port = lab.gateway_address
        self.workers: dict[int, Shopper] = pin_shoppers(host, port, lab.gateway_workers(), self.user)

    def loyalty_in_pricing(self, expected: bool) -> Probe:
        """Pricing gives a returning customer the loyalty discount (or not, as expected)."""
        request = pricing_pb2.GetAdjustmentRequest(
            user_id=self.user, items=[pricing_pb2.LineItem(sku=BENCH_SKU, quantity=1)], previous_orders=1
        )
        return lambda: (
            (self.pricing.GetAdjustment(request, timeout=CALL_TIMEOUT_S, metadata=self.metadata).amount.minor_units > 0)
            == expected
        )

    def loyalty_in_worker(self, shopper: Shopper, expected: bool) -> Probe:
        """A gateway worker tells this user the loyalty discount is on (or off)."""
        return lambda: shopper.request("GET", "/api/v1/features").body["flags"][LOYALTY_DISCOUNT] == expected

    def fault_probes(self, service: str, expected: bool) -> dict[str, Probe]:
        """The processes of one service, each answering (or no longer answering) the probe user with the fault."""
        calls = {
            "cart": lambda: self.cart.GetCart(
                cart_pb2.GetCartRequest(user_id=self.user), timeout=CALL_TIMEOUT_S, metadata=self.metadata
            ),
            "pricing": lambda: self.pricing.ListProducts(
                pricing_pb2.ListProductsRequest(), timeout=CALL_TIMEOUT_S, metadata=self.metadata
            ),
            # The newest email only (a user filter would scan the outbox); the rule finds the user in the metadata.
            "email": lambda: self.email.ListOutbox(
                email_pb2.ListOutboxRequest(limit=1), timeout=CALL_TIMEOUT_S, metadata=self.metadata
            ),
        }
        if service in calls:
            return {service: lambda: _grpc_fails(calls[service]) == expected}
        return {
            f"gateway-worker-{index}": lambda shopper=shopper: (
                (shopper.request("GET", "/api/v1/products").status == PROBE_HTTP_STATUS) == expected
            )
            for index, shopper in enumerate(self.workers.values(), start=1)
        }

    def close(self) -> None:
        """Close every connection."""
        for shopper in self.workers.values():
            shopper.close()
        for channel in self.channels.values():
            channel.close()


def _fault_rule(service: str, user: str) -> dict[str, object]:
    if service == "gateway":
        return {"service": service, "method": "/api/v1/products", "error": PROBE_HTTP_STATUS, "user": user}
    return {"service": service, "error": PROBE_ERROR.name, "user": user}


def measure(lab: BenchLab, repeats: int) -> dict[str, object]:
    """Flag changes and fault rules, `repeats` times each, timed until every process shows them."""
    flags_path = Path(lab.control_dir) / LIVE_FILE_NAME
    store = FaultStore(lab.control_dir)
    flag_times: dict[str, list[float]] = {}
    fault_times: dict[str, list[float]] = {}
    flag_all, fault_all = [], []
    for _ in range(repeats):
        probes = Probes(lab)  # pinned afresh: gunicorn drops a keep-alive connection idle for 2 s
        try:
            for value in (True, False):
                found = wait_for(
                    {
                        "pricing": probes.loyalty_in_pricing(value),
                        **{
                            f"gateway-worker-{index}": probes.loyalty_in_worker(shopper, value)
                            for index, shopper in enumerate(probes.workers.values(), start=1)
                        },
                    },
                    lambda value=value: set_flag(LOYALTY_DISCOUNT, value, flags_path),
                )
                _collect(found, flag_times, flag_all)
            for service in ("cart", "pricing", "email", "gateway"):
                rule = _fault_rule(service, probes.user)
                added: list[str] = []
                found = wait_for(
                    probes.fault_probes(service, True),
                    lambda rule=rule, added=added: added.append(store.add_rule(**rule, ttl_s=60).id),
                )
                _collect(found, fault_times, fault_all)
                wait_for(probes.fault_probes(service, False), lambda added=added: store.remove_rule(added[0]))
        finally:
            probes.close()
    return {
        "flag_change": {**summary(flag_all, "ms"), "per_process": _per_process(flag_times)},
        "fault_rule": {**summary(fault_all, "ms"), "per_process": _per_process(fault_times)},
        "poll_interval_ms": {"flags": POLL_MS, "faults": round(POLL_SECONDS * 1000)},
    }


def _collect(found: dict[str, float], per_process: dict[str, list[float]], every: list[float]) -> None:
    """Keep each process's time, and the time until the last of them saw the change."""
    for name, seconds in found.items():
        per_process.setdefault(name, []).append(seconds)
    every.append(max(found.values()))


def _per_process(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Each process's p50 and max, in ms."""
    return {
        name: {key: value for key, value in summary(values, "ms").items() if key in ("n", "p50_ms", "max_ms")}
        for name, values in sorted(times.items())
    }
