"""Free loopback ports for labs started by tests and benchmarks: below the ephemeral range, never twice."""

from __future__ import annotations

import random
import socket

from purchase_lab.topology import REPLICA_PORT_STEP, replica_port

# Ports the kernel hands out for outgoing connections start at 32768; ours stay below, so they never collide.
PORT_RANGE = (20000, 32000)

_handed_out: set[int] = set()


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port below 32768 that nothing listens on, never handed out twice by this process."""
    while True:
        port = random.randint(*PORT_RANGE)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port


def free_base_port(count: int) -> int:
    """A free port whose replica ports (REPLICA_PORT_STEP apart, `count` in all) are free too."""
    while True:
        base = free_port()
        others = [replica_port(base, replica) for replica in range(2, count + 1)]
        if base + REPLICA_PORT_STEP * count >= 32768 or not all(map(_bindable, others)):
            continue
        _handed_out.update(others)
        return base
