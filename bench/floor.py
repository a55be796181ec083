"""The floor: raw round trips measured here and now, and the sum of those a checkout cannot avoid.

Every per-call variant (the bare floors and the same call through one more layer) is timed in the same
loop, round after round, so a machine that slows down mid-run slows every variant alike.

A checkout's floor is   1 HTTP round trip (client -> gateway)
                      + 1 gRPC round trip per downstream call on its path (hops.PATHS)
                      + 1 Redis round trip per request those calls send (counted in hops.py),
each priced at the p50 of its bare round trip. The ops console's two Redis writes per checkout are
bookkeeping, not part of placing an order: they are reported beside the floor, not in it.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator

import grpc
import redis

from bench.bare import ECHO_METHOD
from bench.client import Shopper
from bench.hops import BOOKKEEPING, PATHS, redis_round_trips
from bench.rig import BareRig
from bench.stats import summary
from purchase_lab.faults import FaultClientInterceptor, StaticRules
from purchase_lab.telemetry import Telemetry, setup_telemetry
from purchase_lab.telemetry.instrument import instrument_channel

PAYLOAD = b"x" * 64
GRPC_TIMEOUT_S = 5.0
# The telemetry of the gateway's side of a gRPC call: a client span, nothing exported.
CLIENT_TELEMETRY_ENV = {
    "OTEL_SDK_DISABLED": "false",
    "OTEL_TRACES_EXPORTER": "none",
    "PURCHASE_BENCH_METRICS_PORT": "0",
}


def _grpc_stubs(rig: BareRig, telemetry: Telemetry) -> tuple[list[grpc.Channel], dict[str, Callable[..., bytes]]]:
    """An echo stub per gRPC variant: the bare call, each server's layer, and each of the gateway's client layers."""
    targets = {
        "grpc": rig.grpc_port,
        "grpc_server_fault_layer": rig.faults_port,
        "grpc_server_telemetry": rig.telemetry_port,
        "grpc_client_fault_layer": rig.grpc_port,
        "grpc_client_telemetry": rig.grpc_port,
    }
    channels = {name: grpc.insecure_channel(rig.target(port)) for name, port in targets.items()}
    layered = {
        **channels,
        "grpc_client_fault_layer": grpc.intercept_channel(
            channels["grpc_client_fault_layer"], FaultClientInterceptor("pricing", StaticRules())
        ),
        "grpc_client_telemetry": instrument_channel(channels["grpc_client_telemetry"], telemetry),
    }
    return list(channels.values()), {name: channel.unary_unary(ECHO_METHOD) for name, channel in layered.items()}


@contextlib.contextmanager
def round_trip_variants(rig: BareRig) -> Iterator[dict[str, Callable[[], object]]]:
    """One call of each kind the bench times per call, against the rig's processes."""
    telemetry = setup_telemetry("bench-client", CLIENT_TELEMETRY_ENV, set_global=False)
    channels, stubs = _grpc_stubs(rig, telemetry)
    store = redis.Redis(port=rig.redis_port, socket_timeout=GRPC_TIMEOUT_S)
    store.set("bench:floor", "x" * 64)
    raw_http, framework = Shopper("127.0.0.1", rig.http_port), Shopper("127.0.0.1", rig.gateway_port)
    try:
        yield {
            "http": functools.partial(raw_http.request, "GET", "/healthz"),
            "http_gunicorn_flask": functools.partial(framework.request, "GET", "/healthz"),
            **{name: functools.partial(stub, PAYLOAD, timeout=GRPC_TIMEOUT_S) for name, stub in stubs.items()},
            "redis_ping": store.ping,
            "redis_get": functools.partial(store.get, "bench:floor"),
        }
    finally:
        raw_http.close()
        framework.close()
        store.close()
        for channel in channels:
            channel.close()
        telemetry.shutdown()


def interleaved(
    variants: dict[str, Callable[[], object]], count: int, rounds: int, warmup: int
) -> dict[str, list[float]]:
    """count timed calls of each variant, taken in `rounds` alternating blocks after warmup untimed calls."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for call in variants.values():
        for _ in range(warmup):
            call()
    per_round = max(1, count // rounds)
    for _ in range(rounds):
        for name, call in variants.items():
            for _ in range(per_round):
                started = time.perf_counter()
                call()
                samples[name].append(time.perf_counter() - started)
    return samples


def measure_round_trips(rig: BareRig, count: int, rounds: int, warmup: int) -> dict[str, list[float]]:
    """Seconds of each timed call of every per-call variant (see round_trip_variants)."""
    with round_trip_variants(rig) as variants:
        return interleaved(variants, count, rounds, warmup)


def floor_report(samples: dict[str, list[float]], redis_port: int) -> dict[str, object]:
    """The measured round trips, the hops of each checkout path, and each path's floor in ms."""
    p50_ms = {name: summary(values, "ms")["p50_ms"] for name, values in samples.items()}
    trips = redis_round_trips(redis_port)
    hops = {name: path_hops(calls, trips) for name, calls in PATHS.items()}
    bookkeeping = sum(trips[call] for call in BOOKKEEPING)
    floors = {name: checkout_floor_ms(path, p50_ms) for name, path in hops.items()}
    return {
        "round_trips_us": {name: summary(samples[name], "us") for name in ("http", "grpc", "redis_ping", "redis_get")},
        "hop_prices_ms": {"http": p50_ms["http"], "grpc": p50_ms["grpc"], "redis": p50_ms["redis_get"]},
        "hops": hops,
        "bookkeeping_redis_round_trips": bookkeeping,
        "checkout_floor_ms": floors,
        "checkout_floor_with_bookkeeping_ms": {
            name: round(floor + bookkeeping * p50_ms["redis_get"], 3) for name, floor in floors.items()
        },
    }


def path_hops(calls: tuple[str, ...], trips: dict[str, int]) -> dict[str, object]:
    """How many round trips of each kind a checkout path makes, with the Redis ones per call."""
    by_call = {call: trips[call] for call in calls}
    return {
        "http": 1,
        "grpc": len(calls),
        "redis": sum(by_call.values()),
        "calls": list(calls),
        "redis_by_call": by_call,
    }


def checkout_floor_ms(hops: dict[str, object], p50_ms: dict[str, float]) -> float:
    """The sum of a path's sequential round trips, each at its bare p50."""
    total = hops["http"] * p50_ms["http"] + hops["grpc"] * p50_ms["grpc"] + hops["redis"] * p50_ms["redis_get"]
    return round(total, 3)
