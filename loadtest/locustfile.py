"""Locust's entry point: the shop's users on an ordinary day (see users.py).

Run headless with a report: `purchase load`. The web UI: `purchase load --ui`, or by hand from the
repository root: `locust -f loadtest/locustfile.py,loadtest/shapes.py --class-picker -H http://127.0.0.1:8080`.
"""

from __future__ import annotations

from typing import Any

from locust import events

from loadtest.users import Employee, FirstTimeCustomer, LegacyAppClient, PromoCustomer, ReturningCustomer

__all__ = ["Employee", "FirstTimeCustomer", "LegacyAppClient", "PromoCustomer", "ReturningCustomer"]


@events.init_command_line_parser.add_listener
def add_think_time(parser: Any) -> None:
    """`--think-time`: scale the pauses between a user's clicks (1 is a person's pace, 0 is a robot's)."""
    parser.add_argument(
        "--think-time",
        type=float,
        default=1.0,
        env_var="LOCUST_THINK_TIME",
        include_in_web_ui=True,
        help="scale the pauses between clicks: 1 is a person's pace, 0.1 ten times faster, 0 no pause",
    )
