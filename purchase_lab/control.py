"""How `purchase` commands reach the running supervisor: one JSON request per line over a Unix socket.

The supervisor listens on `<run dir>/supervisor.sock`. A request is one JSON object on one line, such as
`{"op": "stop", "service": "cart"}`; the reply is one JSON object on one line, `{"ok": true, ...}` or
`{"ok": false, "error": "what went wrong and what to do"}`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import socketserver
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

Reply = dict[str, Any]
Handler = Callable[[Mapping[str, Any]], Reply]

SOCKET_NAME = "supervisor.sock"
LOCK_NAME = "supervisor.pid"
# sun_path holds 108 bytes on Linux, the terminating NUL included.
_MAX_SOCKET_PATH = 107


class NoLabRunning(RuntimeError):
    """No supervisor answers on the run dir's control socket."""


class LabAlreadyRunning(RuntimeError):
    """Another supervisor holds the run dir."""


def socket_path(directory: Path) -> Path:
    """The control socket's path in a run dir; fail clearly when it is too long for a Unix socket."""
    path = directory / SOCKET_NAME
    if len(os.fsencode(path)) > _MAX_SOCKET_PATH:
        raise ValueError(
            f"the control socket path {path} is longer than {_MAX_SOCKET_PATH} bytes; "
            "set PURCHASE_RUN_DIR to a shorter directory"
        )
    return path


def claim_run_dir(directory: Path) -> TextIO:
    """Lock the run dir for this supervisor (held until the returned file is closed or the process dies)."""
    directory.mkdir(parents=True, exist_ok=True)
    lock = (directory / LOCK_NAME).open("a+", encoding="utf-8")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise LabAlreadyRunning(
            f"a lab is already running from {directory} (supervisor pid {holder}); "
            "see it with `purchase status`, or stop it with Ctrl-C in its terminal"
        ) from None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


class _RequestHandler(socketserver.StreamRequestHandler):
    """Read one request line, answer with one reply line."""

    server: _UnixServer

    def handle(self) -> None:
        try:
            request = json.loads(self.rfile.readline())
            if not isinstance(request, dict):
                raise ValueError("a request must be a JSON object")
            reply = self.server.handler(request)
        except ValueError as error:
            reply = {"ok": False, "error": f"malformed request ({error}); send one JSON object per line"}
        self.wfile.write(json.dumps(reply).encode() + b"\n")


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, handler: Handler) -> None:
        self.handler = handler
        super().__init__(path, _RequestHandler)


class ControlServer:
    """The supervisor's end: answers requests with handler(request) on background threads."""

    def __init__(self, path: Path, handler: Handler) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by a supervisor that was killed; the run-dir lock says it is gone
        self.path = path
        self._server = _UnixServer(str(path), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="control", daemon=True)

    def start(self) -> None:
        """Start answering requests."""
        self._thread.start()

    def close(self) -> None:
        """Stop answering and remove the socket file."""
        self._server.shutdown()
        self._server.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def send(directory: Path, request: Mapping[str, Any], timeout: float = 90.0) -> Reply:
    """Send one request to the supervisor running from directory and return its reply."""
    path = socket_path(directory)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        try:
            conn.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise NoLabRunning(f"no lab is running (nothing answers at {path}); start one with `purchase up`") from None
        conn.sendall(json.dumps(dict(request)).encode() + b"\n")
        with conn.makefile("rb") as replies:
            line = replies.readline()
    if not line:
        raise NoLabRunning(f"the supervisor at {path} closed the connection without a reply; is it stopping?")
    return json.loads(line)
