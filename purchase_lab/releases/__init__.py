"""Every service's releases: a version and a one-line description each, and which one a process runs.

A process runs one release for its whole life, the one PURCHASE_RELEASE names when it starts (the
service's current release when unset). Deploying replaces processes; it never changes a running one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from purchase_lab.config import ConfigError

RELEASE_ENV = "PURCHASE_RELEASE"


@dataclass(frozen=True)
class Release:
    """One release of one service."""

    service: str
    version: str
    description: str

    def to_dict(self, current: str) -> dict[str, Any]:
        """The release as JSON-ready data; `current` says whether replicas start at it."""
        return {**asdict(self), "current": self.version == current}


# The release every replica starts at, per service: today's code is 1.0 of every service.
CURRENT = {"cart": "1.0", "pricing": "1.0", "email": "1.0", "gateway": "1.0"}

RELEASES: Mapping[str, tuple[Release, ...]] = {
    "cart": (Release("cart", "1.0", "carts and orders in Redis, idempotent order placement"),),
    "pricing": (
        Release("pricing", "1.0", "catalogue, prices and the largest single discount"),
        Release("pricing", "1.1", "faster discount rounding cache (defect: every 4th GetAdjustment fails UNKNOWN)"),
        Release("pricing", "1.2", "first-order discount says 'Welcome! 10% off your first order'"),
    ),
    "email": (Release("email", "1.0", "confirmation and discount emails kept in a Redis outbox"),),
    "gateway": (Release("gateway", "1.0", "shop API, checkout, admin API and ops console"),),
}


class UnknownRelease(ConfigError):
    """A service or release that does not exist; the message lists what does."""


def releases_of(service: str) -> tuple[Release, ...]:
    """Every release of a service, oldest first."""
    try:
        return RELEASES[service]
    except KeyError:
        raise UnknownRelease(f"unknown service {service!r}; choose one of {', '.join(RELEASES)}") from None


def find_release(service: str, version: str) -> Release:
    """The release `version` of `service`, or UnknownRelease naming the versions there are."""
    for release in releases_of(service):
        if release.version == version:
            return release
    versions = ", ".join(release.version for release in releases_of(service))
    raise UnknownRelease(f"{service} has no release {version!r}; its releases are {versions} (`purchase releases`)")


def running_release(service: str, env: Mapping[str, str] = os.environ) -> str:
    """The release this process runs: PURCHASE_RELEASE, else the service's current one; checked to exist."""
    version = env.get(RELEASE_ENV, "").strip() or CURRENT[service]
    return find_release(service, version).version


def process_release(env: Mapping[str, str] = os.environ) -> str:
    """The release label of this process for telemetry: PURCHASE_RELEASE, else 1.0 (today's code)."""
    return env.get(RELEASE_ENV, "").strip() or "1.0"
