"""The Docker Compose commands that do what `purchase status|start|stop|kill|restart` do for a local lab.

Under Compose there is no `purchase up` supervisor: Compose starts, stops and kills the containers. The
compose file sets PURCHASE_COMPOSE_PROJECT in every container, so a `purchase` command run inside one knows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

PROJECT_VARIABLE = "PURCHASE_COMPOSE_PROJECT"
DEFAULT_PROJECT = "purchase-lab"
REPLICA = re.compile(r"(?P<service>[a-z]+)-(?P<number>[0-9]+)")


def compose_project(env: Mapping[str, str] = os.environ) -> str | None:
    """The compose project this process runs in, or None when it does not run under Compose."""
    return env.get(PROJECT_VARIABLE) or None


def compose_command(action: str, service: str | None = None, project: str = DEFAULT_PROJECT) -> str:
    """The command to run on the host for `purchase ACTION [SERVICE]`, for Compose v2 and v1.

    A whole service maps onto `docker compose ACTION SERVICE`; one replica (`pricing-2`) is one container,
    which Compose v2 names PROJECT-pricing-2 and v1 PROJECT_pricing_2.
    """
    if action == "status":
        return "`docker compose ps` (Compose v1: `docker-compose ps`)"
    replica = REPLICA.fullmatch(service or "")
    if replica is None:
        return f"`docker compose {action} {service}` (Compose v1: `docker-compose {action} {service}`)"
    name, number = replica["service"], replica["number"]
    return f"`docker {action} {project}-{name}-{number}` (Compose v1 names it {project}_{name}_{number})"
