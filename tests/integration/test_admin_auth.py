"""Every admin route the live /openapi.json lists refuses a request without the token, or with a wrong one."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Lab
from tests.integration.test_shop import call

pytestmark = pytest.mark.integration

# A value for each path parameter that names something real, so a refusal cannot be a 404 in disguise.
PATH_VALUES = {"key": "pricing.loyalty_discount", "rule_id": "r-1", "name": "pricing-slow"}


def admin_operations(lab: Lab) -> list[tuple[str, str]]:
    """(method, path) of every operation under /api/v1/admin/ in the live document."""
    document: dict[str, Any] = call(lab, "GET", "/openapi.json").body
    operations = [
        (method.upper(), re.sub(r"\{(\w+)\}", lambda match: PATH_VALUES[match.group(1)], path))
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/admin/")
        for method in item
        if method in ("get", "post", "put", "delete", "patch")
    ]
    assert len(operations) >= 15, operations
    return operations


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Basic YWRtaW46YWRtaW4=", "Bearer "],
    ids=["none", "wrong", "basic", "empty"],
)
def test_every_admin_route_refuses_a_missing_or_wrong_token(lab: Lab, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in admin_operations(lab):
        reply = call(lab, method, path, {"value": True, "percent": 5, "user_id": "u-1"}, **headers)
        assert (reply.status, reply.body["error"]["code"]) == (401, "unauthorized"), (method, path)
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
