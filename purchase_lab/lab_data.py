"""Empty the shop of a running lab: every cart, order and email, and the console's list of checkouts.

`purchase reset --data` and the admin API's POST /api/v1/admin/reset?scope=data call `reset_data`. It
deletes only the shop's keys in the lab's Redis; flags, faults and the last good catalogue stay as
they are. The key names are the services' own (a test compares them), listed here because the
command runs without importing any service.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

# services/cart/store.py: every key of a user is cart:{user_id}:...
CART_KEYS = "cart:{*}:*"
CART_SUFFIX = ":cart"
ORDER_INFIX = ":order:"
# services/email/outbox.py: the outbox stream and the record of each (kind, order) sent.
EMAIL_OUTBOX = "purchase:email:outbox"
EMAIL_SENT = "purchase:email:sent:*"
# services/gateway/email_queue.py: emails waiting for email to come back, and their relays' group.
EMAIL_QUEUE = "purchase:gateway:email-queue"
EMAIL_QUEUE_GROUP = "email-relay"
# services/gateway/ops_log.py: the console's recent checkouts and published breaker states.
CONSOLE_CHECKOUTS = "purchase:console:checkouts"
TIMEOUT_S = 2.0


@dataclass(frozen=True)
class DataReset:
    """What reset_data removed."""

    carts: int
    orders: int
    emails: int
    queued: int

    def describe(self) -> str:
        """One line for the CLI and the admin API."""
        return (
            f"data: {self.carts} cart{'s' * (self.carts != 1)}, {self.orders} order{'s' * (self.orders != 1)}, "
            f"{self.emails} email{'s' * (self.emails != 1)} in the outbox and {self.queued} queued removed"
        )


class DataResetError(Exception):
    """The lab's Redis could not be reached or refused the reset."""


def reset_data(redis_url: str) -> DataReset:
    """Delete every cart, order, sent and queued email of the lab at redis_url; keep flags, faults, catalogue."""
    client = redis.Redis.from_url(redis_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
    try:
        cart_keys = list(client.scan_iter(match=CART_KEYS, count=500))
        sent_keys = list(client.scan_iter(match=EMAIL_SENT, count=500))
        with client.pipeline() as pipe:
            pipe.xlen(EMAIL_OUTBOX).xlen(EMAIL_QUEUE)
            emails, queued = pipe.execute()
            # One transaction: the relays' group is back before any relay can notice the queue was gone.
            for start in range(0, len(cart_keys) + len(sent_keys), 500):
                pipe.delete(*(cart_keys + sent_keys)[start : start + 500])
            pipe.delete(EMAIL_OUTBOX, EMAIL_QUEUE, CONSOLE_CHECKOUTS)
            pipe.xgroup_create(EMAIL_QUEUE, EMAIL_QUEUE_GROUP, id="0", mkstream=True)
            pipe.execute()
    except redis.RedisError as error:
        raise DataResetError(
            f"the lab's Redis at {redis_url} did not take the reset ({error}); is the lab running? `purchase status`"
        ) from error
    finally:
        client.close()
    names = [key.decode() for key in cart_keys]
    return DataReset(
        carts=sum(name.endswith(CART_SUFFIX) for name in names),
        orders=sum(ORDER_INFIX in name for name in names),
        emails=emails,
        queued=queued,
    )
