"""The gateway's routed channel: the default channel until a deploy routes a service, then replicas by weight."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest

from purchase_lab.routing import Route, RoutedChannel, RouteWatcher, read_routes, write_routes

pytestmark = pytest.mark.unit


class FakeChannel:
    """A channel that answers every call with its own name and reports the connectivity it is told."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.watchers: list[Callable[[grpc.ChannelConnectivity], None]] = []

    def subscribe(self, callback: Callable[[grpc.ChannelConnectivity], None], try_to_connect: bool = False) -> None:
        self.watchers.append(callback)

    def become(self, state: grpc.ChannelConnectivity) -> None:
        for callback in self.watchers:
            callback(state)

    def unary_unary(self, *_signature: Any) -> Callable[..., str]:
        return lambda _request, **_kwargs: self.name

    def close(self) -> None:
        self.watchers.clear()


def routed(tmp_path: Path, picks: list[tuple[list[str], list[float]]]) -> tuple[RoutedChannel, dict[str, FakeChannel]]:
    opened: dict[str, FakeChannel] = {}

    def open_channel(address: str) -> FakeChannel:
        opened[address] = FakeChannel(address)
        return opened[address]

    def choose(members: Sequence[Any], weights: Sequence[float]) -> Any:
        picks.append(([member.channel.name for member in members], list(weights)))
        return members[-1]

    watcher = RouteWatcher(tmp_path / "routes.json")
    channel = RoutedChannel("pricing", FakeChannel("default"), watcher, open_channel, choose)  # type: ignore[arg-type]
    return channel, opened


def test_an_unrouted_service_uses_the_default_channel(tmp_path: Path) -> None:
    channel, opened = routed(tmp_path, [])
    assert channel.unary_unary("/purchase.pricing.v1.PricingService/GetProduct")(object()) == "default"
    assert opened == {}


def test_routed_calls_pick_ready_replicas_by_weight(tmp_path: Path) -> None:
    picks: list[tuple[list[str], list[float]]] = []
    channel, opened = routed(tmp_path, picks)
    path = tmp_path / "routes.json"
    write_routes(path, "pricing", [Route("pricing-1", "a:1", "1.0", 90), Route("pricing-4", "b:1", "1.1", 10)])
    assert read_routes(path)["pricing"][1] == Route("pricing-4", "b:1", "1.1", 10)
    channel._watcher.refresh()  # type: ignore[union-attr]
    call = channel.unary_unary("/purchase.pricing.v1.PricingService/GetAdjustment")

    assert call(object()) == "b:1"  # nothing is ready yet: every routed replica is a candidate
    assert picks[-1] == (["a:1", "b:1"], [90, 10])

    opened["a:1"].become(grpc.ChannelConnectivity.READY)
    opened["b:1"].become(grpc.ChannelConnectivity.TRANSIENT_FAILURE)  # leaving: its health is NOT_SERVING
    assert call(object()) == "a:1"
    assert picks[-1] == (["a:1"], [90])

    write_routes(path, "pricing", None)
    channel._watcher.refresh()  # type: ignore[union-attr]
    assert call(object()) == "default"
