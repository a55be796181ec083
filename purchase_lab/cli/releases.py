"""`purchase releases [SERVICE]`: every release of every service, and which one replicas start at."""

from __future__ import annotations

import argparse
import json

from purchase_lab.releases import CURRENT, RELEASES, releases_of


def register(commands: argparse._SubParsersAction) -> None:
    """Add `purchase releases`."""
    parser = commands.add_parser(
        "releases",
        help="list every service's releases (version, description, current)",
        description="List the releases of each service. CURRENT marks the release replicas start at; "
        "`purchase deploy SERVICE VERSION` moves running replicas to another one.",
    )
    parser.add_argument("service", nargs="?", choices=list(RELEASES), help="only this service's releases")
    parser.add_argument("--json", action="store_true", help="a JSON list of {service, version, description, current}")
    parser.set_defaults(run=show_releases)


def show_releases(options: argparse.Namespace) -> int:
    """Print the releases as a table, or as JSON with --json."""
    services = [options.service] if options.service else list(RELEASES)
    rows = [release.to_dict(CURRENT[service]) for service in services for release in releases_of(service)]
    if options.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'SERVICE':<9}{'VERSION':<9}{'CURRENT':<9}DESCRIPTION")
    for row in rows:
        current = "yes" if row["current"] else ""
        print(f"{row['service']:<9}{row['version']:<9}{current:<9}{row['description']}")
    return 0
