"""The admin API's flag routes: list flags, take a rollout step, see what a user gets, reset the lab.

They live on the admin blueprint, so every route needs the admin token. Each change is the same
function `purchase flag ...` calls, applied to the live file this gateway evaluates; it answers once
every running process serves the change, saying so in `applied` (see purchase_lab/confirm.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from purchase_lab import flags as lab_flags
from purchase_lab.confirm import wait_for_faults, wait_for_flags
from purchase_lab.flags import (
    CustomTargeting,
    FlagError,
    FlagKilled,
    InvalidFlagsFile,
    InvalidRollout,
    InvalidUser,
    UnknownFlag,
    UserContext,
)
from purchase_lab.lab_data import DataResetError, reset_data
from purchase_lab.lab_reset import reset_lab
from services.gateway import features, inputs
from services.gateway.admin import bp
from services.gateway.errors import (
    BadRequest,
    Conflict,
    InvalidValue,
    NotFound,
    ShopError,
    Unavailable,
    shop_error_response,
)
from services.gateway.resources import gateway

VALUE_EXAMPLE = '{"value": "on"}'
RAMP_EXAMPLE = '{"percent": 10}'
USER_EXAMPLE = '{"user_id": "u-42"}'

# What each flag error means to an admin client, and its error code; a subclass maps like its nearest ancestor.
FLAG_ERRORS: dict[type[FlagError], tuple[type[ShopError], str]] = {
    UnknownFlag: (NotFound, "unknown_flag"),
    InvalidRollout: (InvalidValue, "invalid_rollout"),
    InvalidUser: (InvalidValue, "invalid_user"),
    CustomTargeting: (Conflict, "custom_targeting"),
    FlagKilled: (Conflict, "flag_killed"),
    InvalidFlagsFile: (Conflict, "invalid_flags_file"),
    FlagError: (Conflict, "flag_error"),
}


def flag_error_response(error: FlagError) -> Response:
    """Answer a flag error with its status and the error's own advice."""
    kind, code = next(FLAG_ERRORS[ancestor] for ancestor in type(error).__mro__ if ancestor in FLAG_ERRORS)
    return shop_error_response(kind(str(error), code=code))


def init_app(app: Flask) -> None:
    """Answer every flag error the app raises with its HTTP status (the routes are on admin.bp already)."""
    app.register_error_handler(FlagError, flag_error_response)


def _live() -> Path:
    """The live flags file this gateway evaluates, which the admin API changes."""
    return features.live_flags().path


def _changed(status: lab_flags.FlagStatus) -> dict[str, Any]:
    """The flag's new status, once every running process serves it (`applied` says how that went)."""
    return {**status.to_dict(), "applied": wait_for_flags(_live()).to_dict()}


@bp.get("/flags")
def list_flags() -> dict[str, Any]:
    """Every flag with its rollout in words, its code default and whether clients see it."""
    return {"flags": [status.to_dict() for status in lab_flags.list_flags(_live())]}


@bp.put("/flags/<key>")
def set_flag(key: str) -> dict[str, Any]:
    """Turn a flag on or off for everyone: {"value": "on"} or {"value": "off"}."""
    value = inputs.required(inputs.json_object(VALUE_EXAMPLE), "value", VALUE_EXAMPLE)
    return _changed(lab_flags.set_flag(key, value, _live()))


@bp.put("/flags/<key>/ramp")
def ramp(key: str) -> dict[str, Any]:
    """Turn a flag on for employees plus a sticky percentage of everyone else: {"percent": 10}."""
    percent = inputs.required(inputs.json_object(RAMP_EXAMPLE), "percent", RAMP_EXAMPLE)
    return _changed(lab_flags.ramp(key, percent, _live()))


@bp.put("/flags/<key>/employees")
def employees_only(key: str) -> dict[str, Any]:
    """Turn a flag on for employees only."""
    return _changed(lab_flags.employees_only(key, _live()))


@bp.post("/flags/<key>/users")
def add_user(key: str) -> dict[str, Any]:
    """Turn a flag on for one more named user: {"user_id": "u-42"}."""
    user_id = inputs.required(inputs.json_object(USER_EXAMPLE), "user_id", USER_EXAMPLE)
    return _changed(lab_flags.add_user(key, user_id, _live()))


@bp.post("/flags/<key>/kill")
def kill(key: str) -> dict[str, Any]:
    """The kill switch: every process serves the flag's code default at once."""
    return _changed(lab_flags.kill(key, _live()))


@bp.get("/flags/evaluate")
def evaluate() -> dict[str, Any]:
    """What this gateway process serves a user now, every flag included: ?user_id=u-42[&email=...&app_version=...]."""
    user_id = request.args.get("user_id", "")
    if not user_id:
        raise BadRequest(
            "the user_id query parameter is missing; ask as /api/v1/admin/flags/evaluate?user_id=u-42",
            code="missing_parameter",
        )
    # An empty email= or app_version= is refused like any other invalid one (only a missing one means none).
    user = UserContext(user_id, request.args.get("email"), request.args.get("app_version"))
    values = features.flags().evaluate_all(user, client_visible_only=False)
    return {"user_id": user.user_id, "employee": user.employee, "flags": values}


# ?scope= of POST /reset: the controls (flags and faults, the default), the shop's data, or both.
RESET_SCOPES = ("controls", "data", "all")


@bp.post("/reset")
def reset() -> dict[str, Any]:
    """Put the lab back to its committed defaults: flags as in git, no faults; ?scope=data empties the shop."""
    scope = request.args.get("scope", "controls")
    if scope not in RESET_SCOPES:
        raise BadRequest(
            f"scope={scope[:20]!r} is not a reset; use scope=controls (flags and faults), scope=data (carts, "
            "orders, emails) or scope=all",
            code="invalid_parameter",
        )
    done = reset_lab(_live().parent) if scope != "data" else []
    if scope != "controls":
        try:
            done.append(reset_data(gateway().settings.redis_url).describe())
        except DataResetError as error:
            raise Unavailable(
                "redis", f"{error}; {'nothing' if scope == 'data' else 'only flags and faults'} was reset"
            ) from error
    body: dict[str, Any] = {"reset": done, "flags": [status.to_dict() for status in lab_flags.list_flags(_live())]}
    if scope != "data":
        body["applied"] = {
            "flags": wait_for_flags(_live()).to_dict(),
            "faults": wait_for_faults(_live().parent).to_dict(),
        }
    return body
