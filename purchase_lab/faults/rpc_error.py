"""A failed call made without a server: what the gateway's client sees when a fault stops a call from leaving."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc


class InjectedRpcError(grpc.RpcError, grpc.Call, grpc.Future):
    """A call that failed before it left, looking to the caller exactly like one a server failed."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__()
        self._code = code
        self._details = details

    def __str__(self) -> str:
        return f"<InjectedRpcError of RPC that terminated with: status = {self._code}, details = {self._details!r}>"

    def code(self) -> grpc.StatusCode:
        """The injected status code."""
        return self._code

    def details(self) -> str:
        """The injected message, naming the rule."""
        return self._details

    def result(self, timeout: float | None = None) -> Any:
        """Raise this error, as a failed call's result does."""
        raise self

    def exception(self, timeout: float | None = None) -> InjectedRpcError:
        """This error."""
        return self

    def traceback(self, timeout: float | None = None) -> None:
        """No traceback: nothing ran."""
        return None

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        """The call is already done: run fn now."""
        fn(self)

    def initial_metadata(self) -> tuple[()]:
        """No metadata: no server answered."""
        return ()

    def trailing_metadata(self) -> tuple[()]:
        """No metadata: no server answered."""
        return ()

    def is_active(self) -> bool:
        """Never active: the call is over."""
        return False

    def time_remaining(self) -> None:
        """No time remains on a finished call."""
        return None

    def cancel(self) -> bool:
        """A finished call cannot be cancelled."""
        return False

    def cancelled(self) -> bool:
        """The call failed; it was not cancelled."""
        return False

    def running(self) -> bool:
        """Not running: the call is over."""
        return False

    def done(self) -> bool:
        """Done: the call is over."""
        return True

    def add_callback(self, callback: Callable[[], None]) -> bool:
        """Too late to register a callback on a finished call."""
        return False
