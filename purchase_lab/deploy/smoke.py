"""A smoke test of a new replica before it takes traffic: its main calls answer through its own address."""

from __future__ import annotations

import grpc
from purchase.pricing.v1 import pricing_pb2, pricing_pb2_grpc

from purchase_lab.health import grpc_serving

TIMEOUT = 2.0


def smoke_test(service: str, address: str) -> None:
    """Raise RuntimeError naming what failed when the replica at address does not answer its smoke calls."""
    if not grpc_serving(address, timeout=TIMEOUT):
        raise RuntimeError(f"{service} at {address} is not SERVING")
    if service != "pricing":
        return
    with grpc.insecure_channel(address) as channel:
        stub = pricing_pb2_grpc.PricingServiceStub(channel)
        try:
            products = stub.ListProducts(pricing_pb2.ListProductsRequest(), timeout=TIMEOUT).products
            items = [pricing_pb2.LineItem(sku=products[0].sku, quantity=1)]
            stub.GetAdjustment(pricing_pb2.GetAdjustmentRequest(user_id="smoke", items=items), timeout=TIMEOUT)
        except grpc.RpcError as error:
            raise RuntimeError(f"smoke call to {service} at {address} failed: {error.code().name}") from None
