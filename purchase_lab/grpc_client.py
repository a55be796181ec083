"""Client channels with retries declared in the gRPC service config, never in loops of our own."""

from __future__ import annotations

import json
from collections.abc import Sequence

import grpc

# Retry only what is safe to repeat, and only when the server never saw the call or said
# UNAVAILABLE: a second attempt of a read, or of a write that is idempotent by design.
RETRY_POLICY = {
    "maxAttempts": 3,
    "initialBackoff": "0.02s",
    "maxBackoff": "0.2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def service_config(service: str, safe_methods: Sequence[str]) -> str:
    """Return the JSON service config: round-robin balancing, retries for safe methods only."""
    config: dict[str, object] = {
        "loadBalancingConfig": [{"round_robin": {}}],
        # Watch each replica's health service, so a replica that is stopping leaves the rotation first.
        "healthCheckConfig": {"serviceName": ""},
    }
    if safe_methods:
        config["methodConfig"] = [
            {
                "name": [{"service": service, "method": method} for method in safe_methods],
                "retryPolicy": RETRY_POLICY,
            }
        ]
    return json.dumps(config)


def create_channel(target: str, service: str, safe_methods: Sequence[str] = ()) -> grpc.Channel:
    """Open an insecure channel to target (host:port, or dns:///name:port for replicas)."""
    return grpc.insecure_channel(
        target,
        options=[
            ("grpc.service_config", service_config(service, safe_methods)),
            ("grpc.enable_retries", 1),
            # Reconnect quickly after a restart so a recovered service is used within a second.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
            # Subchannels of our own, not shared with other channels to the same target: a fresh channel opened
            # after a dependency restarts (services/gateway/reconnect.py) then connects at once, with no backoff.
            ("grpc.use_local_subchannel_pool", 1),
        ],
    )
