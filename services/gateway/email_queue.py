"""Emails the email service could not take, kept in a Redis stream until a relay delivers them.

The checkout queues an email when the email service fails (the soft-dependency fallback). Every
gateway worker runs an EmailRelay; they share one consumer group, so each queued email is taken by
one relay at a time, and it is acknowledged only after the email service accepted it. An email a
relay took but never acknowledged (the service was still down, or the worker died) is claimed
again once it has been idle for RETRY_IDLE_MS. The email service records each (kind, order) once,
so a second delivery never sends a second email.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import redis
from google.protobuf import json_format
from google.protobuf.message import Message
from purchase.cart.v1 import cart_pb2
from purchase.email.v1 import email_pb2

from purchase_lab.telemetry.metrics import RELAY, calls_by
from services.gateway.downstreams import Budget, Dependency
from services.gateway.errors import CONTRACT_ERRORS, DependencyError

log = logging.getLogger(__name__)

STREAM = "purchase:gateway:email-queue"
GROUP = "email-relay"
# How long an email taken by a relay may stay unacknowledged before another attempt claims it.
RETRY_IDLE_MS = 1000
# How long a relay waits for new emails in one read; stop() interrupts the wait.
BLOCK_MS = 1000
# The relay's socket timeout: longer than a blocking read.
READ_TIMEOUT_SECONDS = 5.0
BATCH = 10

# Each kind of email: the EmailService method that sends it and its request message.
EMAIL_KINDS: dict[str, tuple[str, type[Message]]] = {
    "order_confirmation": ("SendOrderConfirmation", email_pb2.SendOrderConfirmationRequest),
    "discount": ("SendDiscountEmail", email_pb2.SendDiscountEmailRequest),
}


class EmailQueueError(Exception):
    """The queue's Redis could not be reached, so an email could not be queued."""


@dataclass(frozen=True)
class OutgoingEmail:
    """One email to send: its kind (a key of EMAIL_KINDS) and the request for the email service."""

    kind: str
    request: Message

    @property
    def method(self) -> str:
        """The EmailService method that sends it."""
        return EMAIL_KINDS[self.kind][0]

    def send(self, email: Dependency, budget: Budget | None = None) -> None:
        """Ask the email service to send it, within budget when given; DependencyError when it does not."""
        email.call(self.method, self.request, budget=budget)

    def to_fields(self) -> dict[str, str]:
        """The stream entry: the kind, and the request as JSON that a person can read in redis-cli."""
        return {"kind": self.kind, "request": json_format.MessageToJson(self.request, indent=None)}

    @classmethod
    def from_fields(cls, fields: dict[bytes, bytes]) -> OutgoingEmail:
        """Read an entry written by to_fields; KeyError or ParseError when it is not one."""
        kind = fields[b"kind"].decode()
        _, message_type = EMAIL_KINDS[kind]
        return cls(kind, json_format.Parse(fields[b"request"], message_type()))


def order_emails(order: cart_pb2.Order, to: str) -> list[OutgoingEmail]:
    """The emails an order sends to address to: its confirmation, and a discount email when it has a discount."""
    emails = [
        OutgoingEmail(
            "order_confirmation",
            email_pb2.SendOrderConfirmationRequest(
                to=to,
                user_id=order.user_id,
                order_id=order.order_id,
                total=order.total,
                item_count=sum(line.quantity for line in order.lines),
            ),
        )
    ]
    if order.adjustment.minor_units > 0:
        emails.append(
            OutgoingEmail(
                "discount",
                email_pb2.SendDiscountEmailRequest(
                    to=to,
                    user_id=order.user_id,
                    order_id=order.order_id,
                    amount=order.adjustment,
                    reason=order.adjustment_reason,
                ),
            )
        )
    return emails


Entry = tuple[bytes, dict[bytes, bytes] | None]


class EmailQueue:
    """The stream of queued emails and its consumer group."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def put(self, email: OutgoingEmail) -> str:
        """Queue an email for the relays; EmailQueueError when Redis cannot be reached."""
        try:
            return self.client.xadd(STREAM, email.to_fields()).decode()
        except redis.RedisError as error:
            raise EmailQueueError(f"cannot queue the {email.kind} email: {error}") from error

    def create_group(self) -> None:
        """Create the relays' consumer group (and the stream) unless it exists."""
        try:
            self.client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def claim_stale(self, consumer: str) -> list[Entry]:
        """Take over emails some relay took but has not acknowledged for RETRY_IDLE_MS."""
        _next, entries, *_deleted = self.client.xautoclaim(STREAM, GROUP, consumer, RETRY_IDLE_MS, count=BATCH)
        return entries

    def read_new(self, consumer: str) -> list[Entry]:
        """Take emails no relay has seen, waiting up to BLOCK_MS for one to arrive."""
        reply = self.client.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=BATCH, block=BLOCK_MS)
        return [entry for _stream, entries in reply for entry in entries]

    def done(self, entry_id: bytes) -> None:
        """Forget a delivered (or undeliverable) email."""
        with self.client.pipeline() as pipe:
            pipe.xack(STREAM, GROUP, entry_id).xdel(STREAM, entry_id).execute()

    def backlog(self) -> int:
        """How many emails wait to be delivered."""
        return self.client.xlen(STREAM)


class EmailRelay:
    """A thread that delivers queued emails to the email service once it takes them again."""

    def __init__(self, queue: EmailQueue, redis_url: str, email: Dependency) -> None:
        self._queue = queue
        self._consumer = f"gateway-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        # The relay's own connections, named after it so that stop() can find and unblock them.
        self._reader = EmailQueue(
            redis.Redis.from_url(
                redis_url, socket_timeout=READ_TIMEOUT_SECONDS, socket_connect_timeout=1.0, client_name=self._consumer
            )
        )
        self._email = email
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="email-relay", daemon=True)

    def start(self) -> None:
        """Start relaying in the background."""
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop relaying; an email being delivered is finished or left for another relay."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        # Unblocking again until the thread ends covers a read that began just after an unblock.
        while self._thread.is_alive() and time.monotonic() < deadline:
            self._unblock()
            self._thread.join(0.05)
        self._reader.client.close()

    def _unblock(self) -> None:
        """End the relay's blocking read now, as if it had timed out, rather than after BLOCK_MS."""
        with contextlib.suppress(redis.RedisError):
            for client in self._queue.client.client_list():
                if client["name"] == self._consumer:
                    self._queue.client.client_unblock(int(client["id"]))

    def _run(self) -> None:
        group_ready = False
        outage_reported = False
        while not self._stopping.is_set():
            try:
                if not group_ready:
                    self._reader.create_group()
                    group_ready, outage_reported = True, False
                self.relay_once()
            except redis.RedisError as error:
                if not outage_reported:
                    # Once per outage: the relay retries every second, and the log must stay readable.
                    log.warning("email relay failed on Redis (%s); retrying every %d ms", error, RETRY_IDLE_MS)
                group_ready, outage_reported = False, True
                self._stopping.wait(RETRY_IDLE_MS / 1000)

    def relay_once(self) -> int:
        """Deliver one batch: stale emails first, else new ones; return how many were delivered."""
        entries = self._reader.claim_stale(self._consumer) or self._reader.read_new(self._consumer)
        delivered = 0
        for entry_id, fields in entries:
            try:
                email = OutgoingEmail.from_fields(fields or {})
                with calls_by(RELAY):  # retries of queued emails, counted apart from the checkout's own calls
                    email.send(self._email)
            except DependencyError as error:
                if error.status not in CONTRACT_ERRORS:
                    # Still failing: leave this and the rest of the batch for a later claim.
                    return delivered
                log.error(
                    "the email service refused queued email %s for good (%s); dropping it", entry_id.decode(), error
                )
            except (KeyError, json_format.ParseError) as error:
                log.error("queued email %s is not an email (%s); dropping it", entry_id.decode(), error)
            else:
                delivered += 1
                log.info("delivered queued %s email %s", email.kind, entry_id.decode())
            self._reader.done(entry_id)
        return delivered
