"""What can go wrong in the gateway, and the one place where every failure becomes an HTTP answer.

Handlers and the checkout raise domain errors (ShopError and its kinds) or let a DependencyError
from a downstream call through; `init_app` turns each into the same JSON body:
{"error": {"code": ..., "message": ..., "retryable": ...}}, with "dependency" on a 503.
"""

from __future__ import annotations

import logging

import grpc
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from services.gateway.serving import describe_parse_error

log = logging.getLogger(__name__)

# Seconds a client should wait before retrying after a 503.
RETRY_AFTER_SECONDS = 1


class ShopError(Exception):
    """A request the shop could not serve; the message says what was wrong and what to do."""

    code = "error"
    retryable = False

    def __init__(self, message: str, *, code: str | None = None, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.extra = extra


class BadRequest(ShopError):
    """The request is malformed: a missing or invalid header, a body that is not a JSON object."""

    code = "bad_request"


class NotFound(ShopError):
    """The thing the request names does not exist."""

    code = "not_found"


class Conflict(ShopError):
    """The request is valid but the state of the cart or order does not allow it."""

    code = "conflict"


class InvalidValue(ShopError):
    """A field holds a value the shop does not accept."""

    code = "invalid_value"


class Unauthorized(ShopError):
    """The request needs the admin token and did not carry a valid one."""

    code = "unauthorized"


class Unavailable(ShopError):
    """A dependency failed, so the request could not be served now; trying again may work."""

    code = "dependency_unavailable"
    retryable = True

    def __init__(self, dependency: str, message: str, **extra: object) -> None:
        super().__init__(message, dependency=dependency, **extra)


class DependencyError(Exception):
    """A call to a downstream service failed with this gRPC status."""

    def __init__(self, dependency: str, status: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{dependency}: {status.name}: {details}")
        self.dependency = dependency
        self.status = status
        self.details = details


# A dependency's answer about the request itself: the client sent something wrong, and repeating
# it will not help. Every other status means the dependency could not serve us right now.
CONTRACT_ERRORS: dict[grpc.StatusCode, type[ShopError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidValue,
    grpc.StatusCode.FAILED_PRECONDITION: Conflict,
    # cart.PlaceOrder: the idempotency key already placed an order for other items.
    grpc.StatusCode.ALREADY_EXISTS: InvalidValue,
}

HTTP_STATUS: dict[type[ShopError], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    NotFound: 404,
    Conflict: 409,
    InvalidValue: 422,
    Unavailable: 503,
}


def as_shop_error(error: DependencyError) -> ShopError:
    """What a failed downstream call means to the client of the gateway."""
    kind = CONTRACT_ERRORS.get(error.status)
    if kind is not None:
        return kind(error.details)
    return Unavailable(
        error.dependency,
        f"the {error.dependency} service is unavailable ({error.status.name}); please try again in a few seconds",
    )


def error_response(status: int, code: str, message: str, retryable: bool = False, **extra: object) -> Response:
    """The JSON error body every failure is answered with."""
    response = jsonify({"error": {"code": code, "message": message, "retryable": retryable, **extra}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="purchase-lab-admin"'
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def shop_error_response(error: ShopError) -> Response:
    """Answer a domain error with its status."""
    status = next(HTTP_STATUS[kind] for kind in type(error).__mro__ if kind in HTTP_STATUS)
    return error_response(status, error.code, error.message, error.retryable, **error.extra)


def dependency_error_response(error: DependencyError) -> Response:
    """Answer a failed downstream call, logging the failures that are not the client's fault."""
    if error.status not in CONTRACT_ERRORS:
        log.warning("%s %s failed: %s", request.method, request.path, error)
    return shop_error_response(as_shop_error(error))


# What Flask itself rejects, before any handler of ours runs: code and advice per status.
HTTP_ERRORS = {
    400: ("bad_request", "the request is malformed ({description}); see GET /openapi.json for the API"),
    404: ("not_found", "there is no {method} {path}; see GET /openapi.json for the API"),
    405: ("method_not_allowed", "{method} is not allowed on {path}; use {allowed}"),
    413: ("body_too_large", "the request body is larger than {limit} bytes; send a smaller body"),
}


def http_error_response(error: HTTPException) -> Response:
    """Answer an error Flask raised (unknown route, wrong method, body too large) in our JSON form."""
    status = error.code or 500
    code, template = HTTP_ERRORS.get(status, ("http_error", "{description}"))
    allowed = ", ".join(sorted(error.valid_methods or ())) if isinstance(error, MethodNotAllowed) else ""
    message = template.format(
        description=error.description,
        method=request.method,
        path=request.path,
        allowed=allowed,
        limit=request.max_content_length,
    )
    response = error_response(status, code, message)
    if allowed:
        response.headers["Allow"] = allowed
    return response


def unexpected_error_response(error: Exception) -> Response:
    """Answer a bug with a 500 that says so, and log it with its traceback.

    A body gunicorn cannot parse (a broken chunk) surfaces here, while the app reads it: that is the
    client's error, answered as serving.py answers the request heads gunicorn cannot parse.
    """
    described = describe_parse_error(error)
    if described is not None:
        status, _reason, code, message = described
        return error_response(status, code, message)
    log.exception("%s %s failed unexpectedly", request.method, request.path, exc_info=error)
    return error_response(
        500, "internal_error", "the gateway failed unexpectedly; please try again, and report it if it persists"
    )


def init_app(app: Flask) -> None:
    """Answer every error the app can raise with the JSON error body."""
    app.register_error_handler(ShopError, shop_error_response)
    app.register_error_handler(DependencyError, dependency_error_response)
    app.register_error_handler(HTTPException, http_error_response)
    app.register_error_handler(Exception, unexpected_error_response)
