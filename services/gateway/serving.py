"""The gateway's gunicorn worker: one greenlet per connection, a deadline on every request head, JSON errors.

Why gevent and not threads: a thread-per-connection worker (gthread) lets a client that sends its headers
slowly, or nothing at all, hold a thread for as long as it likes, so a few hundred such connections starve
every normal request (measured in docs/security.md). A greenlet costs a few KB, so held connections cost
memory, not service; and gunicorn's async workers read each request head under the keepalive timeout,
so a head that does not arrive complete in time closes its connection.

`python -m services.gateway` patches the standard library before it imports anything (see __main__.py);
gRPC must then be told that it runs under gevent before any channel is made (`init_gevent`), done here in
each new worker.

Errors gunicorn raises while parsing, before Flask sees the request (a request line or header over the
limits, a broken chunked body), are answered with the gateway's JSON error body, like every other error.
"""

from __future__ import annotations

import json
from typing import Any

from grpc.experimental import gevent as grpc_gevent
from gunicorn import util
from gunicorn.http import errors as parse_errors
from gunicorn.workers.ggevent import GeventWorker

# Seconds a client has to send a whole request head (and an idle kept-alive connection is kept).
REQUEST_HEAD_TIMEOUT_S = 5
# gunicorn's limits on the request head, which the error messages name.
MAX_REQUEST_LINE = 4094
MAX_HEADER_FIELDS = 100
MAX_HEADER_FIELD_SIZE = 8190

# What gunicorn's parser rejects: status, reason, our error code and the advice to the client.
PARSE_ERRORS: list[tuple[type[Exception] | tuple[type[Exception], ...], int, str, str, str]] = [
    (
        parse_errors.LimitRequestLine,
        414,
        "URI Too Long",
        "uri_too_long",
        f"the request line is longer than {MAX_REQUEST_LINE} bytes; send a shorter URL",
    ),
    (
        parse_errors.LimitRequestHeaders,
        431,
        "Request Header Fields Too Large",
        "headers_too_large",
        f"the request has more than {MAX_HEADER_FIELDS} headers or one longer than {MAX_HEADER_FIELD_SIZE} bytes; "
        "send fewer or shorter headers",
    ),
    (
        parse_errors.UnsupportedTransferCoding,
        501,
        "Not Implemented",
        "unsupported_transfer_coding",
        "the request uses a Transfer-Encoding the gateway does not support; send the body with Content-Length "
        "or Transfer-Encoding: chunked",
    ),
    (
        parse_errors.ExpectationFailed,
        417,
        "Expectation Failed",
        "expectation_failed",
        "the gateway supports no Expect header but 100-continue; leave it out",
    ),
    (
        (parse_errors.InvalidChunkSize, parse_errors.ChunkMissingTerminator, parse_errors.InvalidChunkExtension),
        400,
        "Bad Request",
        "invalid_chunked_body",
        "the chunked request body is malformed ({error}); send a valid chunked body or use Content-Length",
    ),
    (
        (
            parse_errors.InvalidRequestLine,
            parse_errors.InvalidRequestMethod,
            parse_errors.InvalidHTTPVersion,
            parse_errors.InvalidHeader,
            parse_errors.InvalidHeaderName,
            parse_errors.ObsoleteFolding,
        ),
        400,
        "Bad Request",
        "malformed_request",
        "the request is not valid HTTP/1.1 ({error}); see GET /openapi.json for the API",
    ),
]


def describe_parse_error(error: Exception) -> tuple[int, str, str, str] | None:
    """Status, reason, error code and message for a request gunicorn could not parse; None for any other error."""
    # A header the application tried to send is the application's bug, not the client's.
    if isinstance(error, (parse_errors.InvalidResponseHeader, parse_errors.InvalidResponseHeaderName)):
        return None
    for kinds, status, reason, code, message in PARSE_ERRORS:
        if isinstance(error, kinds):
            return status, reason, code, message.format(error=str(error)[:200])
    return None


def parse_error_response(error: Exception) -> bytes | None:
    """The whole HTTP response for a request gunicorn could not parse, or None when the error is not one of those."""
    described = describe_parse_error(error)
    if described is None:
        return None
    status, reason, code, message = described
    body = json.dumps({"error": {"code": code, "message": message, "retryable": False}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class GatewayWorker(GeventWorker):
    """gunicorn's gevent worker, with gRPC made gevent-aware and parse errors answered in JSON."""

    def patch(self) -> None:
        """Patch the standard library as gunicorn does, then let gRPC's channels cooperate with gevent."""
        super().patch()
        grpc_gevent.init_gevent()

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        """Answer a request gunicorn could not parse with our JSON error; anything else as gunicorn does."""
        response = parse_error_response(exc)
        if response is None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, response)
        except OSError:
            self.log.debug("Failed to send error message.")


def worker_options() -> dict[str, Any]:
    """gunicorn's settings for the worker model and the request head's limits and deadline."""
    return {
        "worker_class": f"{__name__}.GatewayWorker",
        "keepalive": REQUEST_HEAD_TIMEOUT_S,
        "limit_request_line": MAX_REQUEST_LINE,
        "limit_request_fields": MAX_HEADER_FIELDS,
        "limit_request_field_size": MAX_HEADER_FIELD_SIZE,
    }
