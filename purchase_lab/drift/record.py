"""Record the calls a functional test's contract fakes answered, and the HTTP answers of the scenario.

The gateway's functional tests call `Recorder.from_env()`; with PURCHASE_DRIFT_RECORD set to a file,
each call and answer is appended to it as one JSON line, tagged with the test (the scenario).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message

RECORD_ENV = "PURCHASE_DRIFT_RECORD"
USER_METADATA_KEY = "x-purchase-user-id"


def scenario() -> str:
    """The test being run (its pytest node id)."""
    return os.environ.get("PYTEST_CURRENT_TEST", "unknown").rsplit(" ", 1)[0]


def encode(message: Message) -> str:
    """A message as base64 of its wire bytes."""
    return base64.b64encode(message.SerializeToString()).decode()


class Recorder:
    """Appends recorded calls and HTTP answers to one JSON-lines file; safe from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> Recorder | None:
        """A recorder when PURCHASE_DRIFT_RECORD names a file, else None (recording is off)."""
        path = os.environ.get(RECORD_ENV)
        return cls(Path(path)) if path else None

    def _write(self, entry: dict[str, Any]) -> None:
        with self._lock, self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(entry) + "\n")

    def call(
        self,
        service: str,
        method: str,
        request: Message,
        context: grpc.ServicerContext,
        answer: Message | None,
        injected: str,
    ) -> None:
        """One call a fake answered: the request, and the response or the status it aborted with.

        injected is "failure" or "delay" when the test asked the fake for one: a negative case, not a
        claim of the contract ("" otherwise).
        """
        metadata = dict(context.invocation_metadata())
        code = context.code() if answer is None else None
        self._write(
            {
                "scenario": scenario(),
                "service": service,
                "method": method,
                "user": metadata.get(USER_METADATA_KEY, ""),
                "request": encode(request),
                "status": code.name if isinstance(code, grpc.StatusCode) else "OK" if answer is not None else "UNKNOWN",
                "response": encode(answer) if answer is not None else None,
                "injected": injected,
            }
        )

    def http(self, path: str, status: int, body: Any) -> None:
        """One HTTP answer of the gateway in the scenario."""
        self._write({"scenario": scenario(), "http": path, "status": status, "body": body})
