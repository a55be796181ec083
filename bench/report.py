"""The bench's outputs: bench.json (every figure), bench.md and stdout (the short table). See docs/benchmarks.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA = "purchase-lab-bench/1"
JSON_NAME = "bench.json"
MARKDOWN_NAME = "bench.md"

# Every section and the figures in it that the table reads; a smoke test checks each is present.
EXPECTED: dict[str, tuple[str, ...]] = {
    "floor": ("round_trips_us", "hop_prices_ms", "hops", "checkout_floor_ms", "checkout_floor_with_bookkeeping_ms"),
    "checkout": ("returning_c1", "first_order_c1", "throughput", "ratio_p50_to_floor"),
    "layers": ("telemetry", "faults", "flags", "http_framework", "per_checkout_ms", "costliest"),
    "degraded": ("happy", "email_down", "pricing_slow"),
    "footprint": ("telemetry_on", "telemetry_unsampled", "telemetry_off"),
    "control_plane": ("flag_change", "fault_rule", "poll_interval_ms"),
}


def missing_keys(result: dict[str, Any]) -> list[str]:
    """The expected sections and figures the result lacks, as `section.figure`."""
    missing = [name for name in ("schema", "mode", "machine", "lab_settings") if name not in result]
    for section, figures in EXPECTED.items():
        found = result.get(section)
        if not isinstance(found, dict):
            missing.append(section)
            continue
        missing.extend(f"{section}.{figure}" for figure in figures if figure not in found)
    return missing


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _latency(figures: dict[str, Any]) -> str:
    return f"{_ms(figures.get('p50_ms'))} / {_ms(figures.get('p99_ms'))} (n={figures.get('n', 0)})"


def _relative(figures: dict[str, Any]) -> str:
    return f"{_x(figures.get('p50_x_happy'))} / {_x(figures.get('p99_x_happy'))} the happy path"


def _per_call(layer: dict[str, Any]) -> str:
    return f"{_x(layer['ratio_p50'])} ({layer['delta_us']:+.0f} us a call, {_ms(layer['per_checkout_ms'])} a checkout)"


def _floor_rows(floor: dict[str, Any], checkout: dict[str, Any]) -> list[tuple[str, str]]:
    trips = floor["round_trips_us"]
    load = checkout["throughput"]
    return [
        (
            "bare round trip p50: HTTP / gRPC / Redis GET",
            " / ".join(f"{trips[k]['p50_us']:.0f} us" for k in ("http", "grpc", "redis_get")),
        ),
        (
            "checkout floor: returning / first order",
            " / ".join(_ms(value) for value in floor["checkout_floor_ms"].values()),
        ),
        ("checkout p50 / p99 at c=1, returning", _latency(checkout["returning_c1"])),
        ("checkout p50 / p99 at c=1, first order", _latency(checkout["first_order_c1"])),
        (
            "checkout p50 / floor: returning / first order",
            " / ".join(_x(value) for value in checkout["ratio_p50_to_floor"].values()),
        ),
        (
            "sustained checkouts",
            f"{load['checkouts_per_s']:.1f}/s with {load['threads']} shoppers; p50 / p99 {_latency(load['latency'])}",
        ),
    ]


def _layer_rows(layers: dict[str, Any]) -> list[tuple[str, str]]:
    telemetry, faults, flags = layers["telemetry"], layers["faults"], layers["flags"]
    p50 = {name: figures["p50_ms"] for name, figures in telemetry["checkout"].items()}
    on, unsampled, off = p50["telemetry_on"], p50["telemetry_unsampled"], p50["telemetry_off"]
    checkouts = telemetry["checkout"]
    cpu = {name: (figures.get("cpu_ms_per_iteration") or {}).get("total") for name, figures in checkouts.items()}
    costliest = layers["costliest"]
    wired = "" if telemetry["per_checkout_source"] == "labs" else "; the lab served no /metrics: not wired yet?"
    return [
        ("telemetry on / off: checkout p50", f"{_x(telemetry['ratio_p50'])} ({_ms(on)} vs {_ms(off)}){wired}"),
        ("telemetry unsampled / off: checkout p50", f"{_x(telemetry['ratio_p50_unsampled'])} ({_ms(unsampled)})"),
        ("lab CPU per add-item + checkout: on / unsampled / off", " / ".join(_ms(value) for value in cpu.values())),
        ("telemetry, gRPC server interceptors", _per_call(telemetry["grpc_server_interceptors"])),
        ("telemetry, gRPC client interceptor", _per_call(telemetry["grpc_client_interceptor"])),
        ("fault layer (no rule), gRPC server", _per_call(faults["grpc_server_interceptor"])),
        ("fault layer (no rule), gRPC client", _per_call(faults["grpc_client_interceptor"])),
        ("flag evaluation", f"{flags['per_call_us']:.1f} us a call, {_ms(flags['per_checkout_ms'])} a checkout"),
        ("gunicorn + Flask vs a raw HTTP responder", _per_call(layers["http_framework"])),
        ("costliest layer per checkout", f"{costliest} ({_ms(layers['per_checkout_ms'].get(costliest))})"),
    ]


def _degraded_rows(degraded: dict[str, Any]) -> list[tuple[str, str]]:
    email, pricing = degraded["email_down"], degraded["pricing_slow"]
    by_reason = [
        (f"email down, answers naming {reason}", _latency(figures))
        for reason, figures in email.get("by_degradation", {}).items()
    ]
    closed, open_ = pricing["breaker_closed"], pricing["breaker_open"]
    return [
        ("email down: p50 / p99", f"{_latency(email)}; {_relative(email)}"),
        *by_reason,
        ("pricing slow, breaker closed", f"{_latency(closed)}; {_relative(pricing['breaker_closed_vs_happy'])}"),
        (
            "pricing slow, breaker open",
            f"{_latency(open_)}; {_relative(pricing['breaker_open_vs_happy'])}"
            if pricing["breaker_opened"]
            else "the breaker never opened",
        ),
    ]


def _footprint_rows(footprint: dict[str, Any], plane: dict[str, Any]) -> list[tuple[str, str]]:
    memory = footprint["memory_after_load"]
    totals = " / ".join(f"{memory.get(f'total_{kind}_mib', 'n/a')} MiB" for kind in ("rss", "pss", "uss"))
    flag, fault = plane["flag_change"], plane["fault_rule"]
    return [
        ("memory after load: RSS / PSS / USS", f"{totals} ({memory['processes']} processes)"),
        ("start to all healthy", f"{footprint['start_to_all_healthy_s']:.2f} s"),
        ("flag change reaches every process: p50 / max", f"{_ms(flag.get('p50_ms'))} / {_ms(flag.get('max_ms'))}"),
        ("fault rule reaches its processes: p50 / max", f"{_ms(fault.get('p50_ms'))} / {_ms(fault.get('max_ms'))}"),
    ]


def rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """The table: one (figure, value) per line, in reading order."""
    return [
        *_floor_rows(result["floor"], result["checkout"]),
        *_layer_rows(result["layers"]),
        *_degraded_rows(result["degraded"]),
        *_footprint_rows(result["footprint"]["telemetry_on"], result["control_plane"]),
    ]


def markdown(result: dict[str, Any]) -> str:
    """The short table in markdown, with the run it came from."""
    machine = result["machine"]
    head = (
        f"# Purchase Lab bench ({result['mode']}, {result['started_at']}, {result['duration_s']:.0f} s)\n\n"
        f"{machine['cpus']} CPUs, load average {machine['load_average_before']} before the run; "
        "one machine, one run: compare ratios, not absolute times (see docs/benchmarks.md).\n\n"
    )
    table = "| figure | value |\n|---|---|\n" + "".join(f"| {name} | {value} |\n" for name, value in rows(result))
    return head + table


def write(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write bench.json and bench.md into out; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = out / JSON_NAME, out / MARKDOWN_NAME
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    markdown_path.write_text(markdown(result), encoding="utf-8")
    return json_path, markdown_path
