"""The footprint of a running lab: its resident memory and CPU time, process by process, and how long it took
to start.

RSS counts every page a process has in RAM, shared ones included, so a sum of RSS over-counts what
several Python processes share (the interpreter's code, shared libraries). USS is what a process alone
holds (freed if it exits) and PSS shares each shared page among the processes that map it: their sums
are the honest totals. psutil reads both from /proc/<pid>/smaps on Linux; elsewhere only RSS is given.
"""

from __future__ import annotations

import psutil

from bench.lab import BenchLab

MIB = 1024 * 1024


def _memory(pid: int) -> dict[str, int]:
    process = psutil.Process(pid)
    try:
        full = process.memory_full_info()
    except (psutil.AccessDenied, AttributeError):
        return {"rss": process.memory_info().rss}
    found = {"rss": full.rss, "uss": full.uss}
    if hasattr(full, "pss"):
        found["pss"] = full.pss
    return found


def memory(lab: BenchLab) -> dict[str, object]:
    """Total and per-service memory of every process of the lab (the gateway's workers included), in MiB."""
    per_service: dict[str, dict[str, float]] = {}
    totals: dict[str, int] = {}
    processes = 0
    for service, pids in lab.pids().items():
        sums: dict[str, int] = {}
        for pid in pids:
            try:
                found = _memory(pid)
            except psutil.NoSuchProcess:
                continue
            processes += 1
            for kind, value in found.items():
                sums[kind] = sums.get(kind, 0) + value
                totals[kind] = totals.get(kind, 0) + value
        per_service[service] = {f"{kind}_mib": round(value / MIB, 1) for kind, value in sums.items()}
    return {
        "processes": processes,
        **{f"total_{kind}_mib": round(value / MIB, 1) for kind, value in totals.items()},
        "kinds": sorted(totals),
        "per_service": per_service,
    }


def cpu_seconds(lab: BenchLab) -> dict[str, float]:
    """CPU seconds (user + system) each service's processes have used so far, the gateway's workers included."""
    used: dict[str, float] = {}
    for service, pids in lab.pids().items():
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            used[service] = used.get(service, 0.0) + times.user + times.system
    return used


def startup(lab: BenchLab, total_s: float) -> dict[str, object]:
    """Seconds from the first process started to the last healthy, and each process's own share."""
    return {
        "start_to_all_healthy_s": round(total_s, 3),
        "per_process_s": {name: round(seconds, 3) for name, seconds in lab.started_in_s.items()},
    }
