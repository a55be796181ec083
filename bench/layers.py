"""What each teaching layer costs: telemetry, the fault layer, flag evaluation, and the web framework.

Each cost is a ratio of two measurements taken in the same run (the layer on against the layer off), plus
the absolute difference, and an estimate of what the layer adds to one checkout:

- telemetry: whole labs side by side, timed in alternating blocks: as shipped, with every trace sampled
  away (OTEL_TRACES_SAMPLER=always_off: metrics and instrumentation still run), and OTEL_SDK_DISABLED=true;
  and per gRPC call, the telemetry interceptors of a server and of a client against a bare call.
- faults: a bare gRPC server with the fault interceptor (no rule active) against one without it, and a
  client channel with the gateway's fault interceptor (no rule) against a bare channel.
- flags: FeatureFlags.is_enabled in this process, on a live file as the lab's, per call.
- http_framework: gunicorn + Flask exactly as the gateway runs them, serving a route that does nothing,
  against a minimal HTTP responder: the cost of the web stack itself.
"""

from __future__ import annotations

from pathlib import Path

from bench.hops import PATHS
from bench.stats import ratio, summary, time_batch
from purchase_lab.flags import CHECKOUT_FALLBACKS, LIVE_FILE_NAME, FeatureFlags, UserContext

# Flag evaluations in one returning customer's checkout, from the code: the gateway evaluates
# checkout.fallbacks for the checkout, then every flag plus checkout.fallbacks again for the ops
# console's record (ops_checkouts._variants); pricing evaluates pricing.loyalty_discount once.
FLAG_EVALUATIONS_PER_CHECKOUT = 5
# The gRPC calls of a returning customer's checkout: each one passes the per-call layers once on each side.
GRPC_CALLS = len(PATHS["returning"])
HTTP_OK = 200


def flag_evaluation(control_dir: Path, count: int) -> dict[str, float]:
    """Microseconds per FeatureFlags.is_enabled call for one user, on a live flags file in control_dir.

    The directory is left in place: the provider's file watcher may look once more after it is stopped.
    """
    flags = FeatureFlags.start(control_dir / LIVE_FILE_NAME)
    try:
        user = UserContext("bench-user", email="bench@example.com")
        flags.is_enabled(CHECKOUT_FALLBACKS, user)
        seconds = time_batch(lambda: flags.is_enabled(CHECKOUT_FALLBACKS, user), count)
    finally:
        flags.stop()
    per_call_us = seconds * 1e6
    return {
        "calls": count,
        "per_call_us": round(per_call_us, 2),
        "evaluations_per_checkout": FLAG_EVALUATIONS_PER_CHECKOUT,
        "per_checkout_ms": round(per_call_us * FLAG_EVALUATIONS_PER_CHECKOUT / 1000, 3),
    }


def _per_call(on: list[float], off: list[float], calls: int) -> dict[str, float | None]:
    """p50 of a call with and without a layer, their ratio, the difference, and `calls` times it in ms."""
    with_us, without_us = summary(on, "us")["p50_us"], summary(off, "us")["p50_us"]
    delta = with_us - without_us
    return {
        "with_p50_us": with_us,
        "without_p50_us": without_us,
        "ratio_p50": ratio(with_us, without_us),
        "delta_us": round(delta, 1),
        "per_checkout_ms": round(delta * calls / 1000, 3),
    }


def _difference(high: float | None, low: float | None) -> float | None:
    return round(high - low, 3) if high is not None and low is not None else None


def telemetry_layer(
    samples: dict[str, list[float]], returning: dict[str, dict[str, object]], endpoints: dict[str, int]
) -> dict[str, object]:
    """Telemetry's cost: the whole checkout with it on, with traces unsampled and off; each gRPC call's interceptors.

    Its cost per checkout is the labs' difference when the telemetry-on lab really ran telemetry (its
    gateway serves /metrics); otherwise only the per-call interceptors can tell, and their sum is given.
    """
    p50 = {name: figures.get("p50_ms") for name, figures in returning.items()}
    on, off = returning["telemetry_on"], returning["telemetry_off"]
    server = _per_call(samples["grpc_server_telemetry"], samples["grpc"], GRPC_CALLS)
    client = _per_call(samples["grpc_client_telemetry"], samples["grpc"], GRPC_CALLS)
    if endpoints.get("telemetry_on") == HTTP_OK and _difference(p50["telemetry_on"], p50["telemetry_off"]) is not None:
        source, cost = "labs", _difference(p50["telemetry_on"], p50["telemetry_off"])
    else:
        source, cost = "grpc_interceptors_only", round(server["per_checkout_ms"] + client["per_checkout_ms"], 3)
    return {
        "checkout": {
            name: {key: figures.get(key) for key in ("n", "p50_ms", "p99_ms", "cpu_ms_per_iteration")}
            for name, figures in returning.items()
        },
        "ratio_p50": ratio(p50["telemetry_on"], p50["telemetry_off"]),
        "ratio_p99": ratio(on.get("p99_ms"), off.get("p99_ms")),
        "ratio_p50_unsampled": ratio(p50["telemetry_unsampled"], p50["telemetry_off"]),
        "per_checkout_ms": cost,
        "per_checkout_source": source,
        # Split of the labs' difference: making spans (on - unsampled), the rest of the layer (unsampled - off).
        "traces_per_checkout_ms": _difference(p50["telemetry_on"], p50["telemetry_unsampled"]),
        "untraced_per_checkout_ms": _difference(p50["telemetry_unsampled"], p50["telemetry_off"]),
        # The gateway's GET /metrics status in each lab: 200 shows telemetry really is on in that lab.
        "metrics_endpoint_status": endpoints,
        "grpc_server_interceptors": server,
        "grpc_client_interceptor": client,
    }


def layer_report(
    samples: dict[str, list[float]],
    returning: dict[str, dict[str, object]],
    telemetry_endpoints: dict[str, int],
    flags: dict[str, float],
) -> dict[str, object]:
    """Every layer's cost, and which one adds the most to a checkout."""
    faults = {
        "grpc_server_interceptor": _per_call(samples["grpc_server_fault_layer"], samples["grpc"], GRPC_CALLS),
        "grpc_client_interceptor": _per_call(samples["grpc_client_fault_layer"], samples["grpc"], GRPC_CALLS),
    }
    layers = {
        "telemetry": telemetry_layer(samples, returning, telemetry_endpoints),
        "faults": faults,
        "flags": flags,
        "http_framework": _per_call(samples["http_gunicorn_flask"], samples["http"], 1),
    }
    costs = {
        "telemetry": layers["telemetry"]["per_checkout_ms"],
        "faults": round(sum(side["per_checkout_ms"] for side in faults.values()), 3),
        "flags": flags["per_checkout_ms"],
        "http_framework": layers["http_framework"]["per_checkout_ms"],
    }
    known = {name: cost for name, cost in costs.items() if cost is not None}
    costliest = max(known, key=lambda name: known[name]) if known else None
    return {**layers, "per_checkout_ms": costs, "costliest": costliest}
