"""Where the gateway sends each service's calls once a deploy takes over: replicas with weights, live.

The deployer writes `routes.json` in the control dir: for each service it routes, the replicas that
take calls and their weights (a canary gets its share; blue-green switches the whole list at once).
The gateway follows the file within ~100 ms. A service the file does not name keeps the channel the
gateway started with (round robin over PURCHASE_<SERVICE>_TARGET), so a lab nobody deploys to runs as before.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc

from purchase_lab.config import control_dir

log = logging.getLogger(__name__)

ROUTES_FILE = "routes.json"
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Route:
    """One replica that takes calls: its process name, address, release and weight (any positive number)."""

    name: str
    address: str
    release: str
    weight: float = 1.0


def routes_path(directory: Path | None = None) -> Path:
    """The routes file in the control dir."""
    return (directory or control_dir()) / ROUTES_FILE


def read_routes(path: Path) -> dict[str, list[Route]]:
    """Every routed service's replicas; empty when the file is missing."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {service: [Route(**route) for route in routes] for service, routes in data.items()}


def write_routes(path: Path, service: str, routes: Sequence[Route] | None) -> None:
    """Set one service's routes (None: hand it back to the gateway's own channel), atomically."""
    current = read_routes(path)
    if routes is None:
        current.pop(service, None)
    else:
        current[service] = list(routes)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    data = {name: [asdict(route) for route in found] for name, found in current.items()}
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


class RouteWatcher:
    """The routes of one file, re-read by a daemon thread when it changes; `routes` is read on the hot path."""

    def __init__(self, path: Path, poll_seconds: float = POLL_SECONDS) -> None:
        self.path = path
        self.routes: dict[str, list[Route]] = {}
        self._signature: tuple[int, int] | None = None
        self._poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        """Re-read the file when its size or modification time changed; keep the last good routes on damage."""
        try:
            stat = self.path.stat()
            signature: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            signature = None
        if signature == self._signature:
            return
        try:
            self.routes = read_routes(self.path)
        except (ValueError, TypeError) as error:
            log.warning("ignoring damaged %s (%s); the last good routes stay in force", self.path, error)
        self._signature = signature

    def start(self) -> RouteWatcher:
        """Load now, then follow the file from a daemon thread."""
        self.refresh()
        self._thread = threading.Thread(target=self._follow, name="routes", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following the file."""
        self._stopping.set()

    def _follow(self) -> None:
        while not self._stopping.wait(self._poll_seconds):
            self.refresh()


class _Member:
    """One replica's own channel and whether it is ready (connected and its health SERVING)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.ready = False
        channel.subscribe(self._on_state, try_to_connect=True)

    def _on_state(self, state: grpc.ChannelConnectivity) -> None:
        self.ready = state is grpc.ChannelConnectivity.READY


class RoutedChannel(grpc.Channel):
    """A channel that picks, per call, one of a service's routed replicas by weight, or uses `default`.

    Only ready replicas are picked (a replica whose health is NOT_SERVING is leaving: its channel is not
    ready), unless none is, when every routed one is a candidate and the call fails as gRPC decides.
    """

    def __init__(
        self,
        service: str,
        default: grpc.Channel,
        watcher: RouteWatcher | None,
        open_channel: Callable[[str], grpc.Channel],
        choose: Callable[[Sequence[_Member], Sequence[float]], _Member] = lambda members, weights: random.choices(
            members, weights
        )[0],
    ) -> None:
        self._service = service
        self._default = default
        self._watcher = watcher
        self._open_channel = open_channel
        self._choose = choose
        self._members: dict[str, _Member] = {}
        self._lock = threading.Lock()

    def pick(self) -> grpc.Channel:
        """The channel for the next call."""
        routes = self._watcher.routes.get(self._service) if self._watcher is not None else None
        if not routes:
            return self._default
        members = [self._member(route.address) for route in routes]
        ready = [(member, route.weight) for member, route in zip(members, routes, strict=True) if member.ready]
        candidates = ready or list(zip(members, (route.weight for route in routes), strict=True))
        chosen = self._choose([member for member, _ in candidates], [weight for _, weight in candidates])
        return chosen.channel

    def _member(self, address: str) -> _Member:
        with self._lock:
            member = self._members.get(address)
            if member is None:
                member = self._members[address] = _Member(self._open_channel(address))
            return member

    def unary_unary(
        self,
        method: str,
        request_serializer: Any = None,
        response_deserializer: Any = None,
        _registered_method: bool = False,
    ) -> grpc.UnaryUnaryMultiCallable:
        """A callable that sends each call to the replica picked for it."""
        return _PickedUnaryUnary(self, (method, request_serializer, response_deserializer, _registered_method))

    def unary_stream(self, *args: Any, **kwargs: Any) -> grpc.UnaryStreamMultiCallable:
        """Streams are not routed: the lab's services have none."""
        return self._default.unary_stream(*args, **kwargs)

    def stream_unary(self, *args: Any, **kwargs: Any) -> grpc.StreamUnaryMultiCallable:
        """Streams are not routed: the lab's services have none."""
        return self._default.stream_unary(*args, **kwargs)

    def stream_stream(self, *args: Any, **kwargs: Any) -> grpc.StreamStreamMultiCallable:
        """Streams are not routed: the lab's services have none."""
        return self._default.stream_stream(*args, **kwargs)

    def subscribe(self, callback: Callable[[grpc.ChannelConnectivity], None], try_to_connect: bool = False) -> None:
        """Connectivity of the default channel."""
        self._default.subscribe(callback, try_to_connect)

    def unsubscribe(self, callback: Callable[[grpc.ChannelConnectivity], None]) -> None:
        """Stop watching the default channel's connectivity."""
        self._default.unsubscribe(callback)

    def close(self) -> None:
        """Close the default channel and every replica's."""
        self._default.close()
        with self._lock:
            for member in self._members.values():
                member.channel.close()

    def __enter__(self) -> RoutedChannel:
        return self

    def __exit__(self, *_exc: object) -> bool:
        self.close()
        return False


class _PickedUnaryUnary(grpc.UnaryUnaryMultiCallable):
    """Each call goes to the channel the routed channel picks at call time."""

    def __init__(self, routed: RoutedChannel, signature: tuple[Any, ...]) -> None:
        self._routed = routed
        self._signature = signature

    def _callable(self) -> grpc.UnaryUnaryMultiCallable:
        return self._routed.pick().unary_unary(*self._signature)

    def __call__(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self._callable()(request, *args, **kwargs)

    def with_call(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self._callable().with_call(request, *args, **kwargs)

    def future(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self._callable().future(request, *args, **kwargs)


def routes_summary(routes: Mapping[str, Sequence[Route]]) -> dict[str, list[dict[str, Any]]]:
    """The routes as JSON-ready data, for health and status pages."""
    return {service: [asdict(route) for route in found] for service, found in routes.items()}
