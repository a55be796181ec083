"""Send a scenario's recorded calls to the real services, in order, as a user of its own, and keep the answers."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from purchase.cart.v1 import cart_pb2
from purchase.email.v1 import email_pb2
from purchase.pricing.v1 import pricing_pb2

from purchase_lab.drift.fixtures import to_real
from purchase_lab.drift.record import USER_METADATA_KEY

SERVICES = {
    "cart": cart_pb2.DESCRIPTOR.services_by_name["CartService"],
    "pricing": pricing_pb2.DESCRIPTOR.services_by_name["PricingService"],
    "email": email_pb2.DESCRIPTOR.services_by_name["EmailService"],
}
TIMEOUT_S = 5.0


@dataclass
class Call:
    """One recorded call and what the fake answered."""

    service: str
    method: str
    user: str
    request: Message
    status: str
    response: dict[str, Any] | None
    # False for a call the test slowed down: it is replayed (it changed the fake's state) but not compared.
    compared: bool = True

    @property
    def name(self) -> str:
        """`pricing.GetAdjustment`."""
        return f"{self.service}.{self.method}"


@dataclass
class Scenario:
    """One functional test: the calls its fakes answered (injected failures left out), its HTTP answers."""

    name: str
    calls: list[Call] = field(default_factory=list)
    http: list[Any] = field(default_factory=list)


def as_dict(message: Message) -> dict[str, Any]:
    """A message as JSON-like data: proto field names, scalars always shown, unset messages left out."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def load(path: Path) -> list[Scenario]:
    """The scenarios of a recording, in the order they ran."""
    scenarios: dict[str, Scenario] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        scenario = scenarios.setdefault(entry["scenario"], Scenario(entry["scenario"]))
        if "http" in entry:
            scenario.http.append(entry["body"])
            continue
        if entry["injected"] == "failure":
            continue  # the fake failed before doing anything: nothing to replay
        method = SERVICES[entry["service"]].methods_by_name[entry["method"]]
        request = GetMessageClass(method.input_type).FromString(base64.b64decode(entry["request"]))
        response = None
        if entry["response"] is not None:
            response = as_dict(GetMessageClass(method.output_type).FromString(base64.b64decode(entry["response"])))
        scenario.calls.append(
            Call(
                entry["service"],
                entry["method"],
                entry["user"],
                request,
                entry["status"],
                response,
                compared=not entry["injected"],
            )
        )
    return [scenario for scenario in scenarios.values() if scenario.calls]


@dataclass
class Answer:
    """What a real service answered one call."""

    status: str
    response: dict[str, Any] | None
    details: str = ""


def rewrite(message: Message, change: Callable[[str, str], str]) -> Message:
    """A copy of message with every string field passed through change(field name, value)."""
    copy = type(message)()
    copy.CopyFrom(message)
    _rewrite(copy, change)
    return copy


def _rewrite(message: Message, change: Callable[[str, str], str]) -> None:
    for descriptor, value in message.ListFields():
        if descriptor.type == FieldDescriptor.TYPE_MESSAGE:
            for child in value if descriptor.is_repeated else (value,):
                _rewrite(child, change)
        elif descriptor.type == FieldDescriptor.TYPE_STRING:
            if descriptor.is_repeated:
                value[:] = [change(descriptor.name, item) for item in value]
            else:
                setattr(message, descriptor.name, change(descriptor.name, value))


class Pass:
    """One replay of a scenario against the real services, with users and ids of its own."""

    def __init__(self, targets: dict[str, str], user_prefix: str) -> None:
        self.channels = {name: grpc.insecure_channel(target) for name, target in targets.items()}
        self.user_prefix = user_prefix
        # The fake's strings -> this pass's: users, then ids the real services gave (orders, messages).
        self.names: dict[str, str] = {}
        self.users: set[str] = set()

    def close(self) -> None:
        """Close the channels."""
        for channel in self.channels.values():
            channel.close()

    def user(self, recorded: str) -> str:
        """This pass's user for a user of the scenario."""
        if recorded and recorded not in self.names:
            self.names[recorded] = f"{self.user_prefix}{len(self.names)}.{secrets.token_hex(3)}"
            self.users.add(recorded)
        return self.names.get(recorded, recorded)

    def to_real(self, name: str, text: str) -> str:
        """A string field of the scenario as this pass sends it: users only in user_id, learnt ids anywhere."""
        if name == "user_id" or (text in self.names and text not in self.users):
            return self.names.get(text, text)
        return to_real(text)

    def to_fake(self, text: str) -> str:
        """A string this pass received, as the scenario would hold it."""
        for fake, real in self.names.items():
            if text == real:
                return fake
        return text

    def send(self, call: Call) -> Answer:
        """Send one call, as the call's user; learn the ids the real service gave in place of the fake's."""
        self.user(call.user)
        method = SERVICES[call.service].methods_by_name[call.method]
        stub = self.channels[call.service].unary_unary(
            f"/{SERVICES[call.service].full_name}/{call.method}",
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=GetMessageClass(method.output_type).FromString,
        )
        fields = call.request.DESCRIPTOR.fields_by_name
        if "user_id" in fields:
            self.user(call.request.user_id)
        if "order_id" in fields and call.request.order_id and call.request.order_id not in self.names:
            # An order this pass never placed (its PlaceOrder was not replayed, or failed): an id of the
            # pass's own, so the email service does not take it for another pass's order.
            self.names[call.request.order_id] = f"{call.request.order_id}.{self.user_prefix}.{secrets.token_hex(3)}"
        request = rewrite(call.request, self.to_real)
        metadata = ((USER_METADATA_KEY, self.user(call.user)),) if call.user else ()
        try:
            response = as_dict(stub(request, timeout=TIMEOUT_S, metadata=metadata))
        except grpc.RpcError as error:
            return Answer(error.code().name, None, error.details() or "")
        if call.response is not None:
            self._learn(call.response, response)
        return Answer("OK", response)

    def _learn(self, fake: Any, real: Any) -> None:
        """Ids at the same place in the fake's and the real answer: the real one stands for the fake's later."""
        if isinstance(fake, dict) and isinstance(real, dict):
            for key in fake.keys() & real.keys():
                if key.endswith("_id") and isinstance(fake[key], str) and fake[key] and fake[key] != real[key]:
                    self.names.setdefault(fake[key], real[key])
                else:
                    self._learn(fake[key], real[key])
        elif isinstance(fake, list) and isinstance(real, list):
            for fake_item, real_item in zip(fake, real, strict=False):
                self._learn(fake_item, real_item)
