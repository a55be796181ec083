"""What a gateway app holds for its requests: settings, downstream channels, the email queue and relay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app

from purchase_lab.breaker import CircuitBreaker
from purchase_lab.config import Settings
from services.gateway.downstreams import Downstreams
from services.gateway.email_queue import EmailQueue, EmailRelay
from services.gateway.inputs import User

EXTENSION = "purchase_gateway"

FallbackPolicy = Callable[[User], bool]


@dataclass
class Gateway:
    """The resources of one gateway app (one per gunicorn worker)."""

    settings: Settings
    downstreams: Downstreams
    email_queue: EmailQueue
    relay: EmailRelay
    fallbacks: FallbackPolicy

    @property
    def breakers(self) -> dict[str, CircuitBreaker]:
        """This worker's circuit breaker of each soft dependency, by dependency."""
        return self.downstreams.breakers

    def init_app(self, app: Flask) -> None:
        """Attach to app and start relaying queued emails."""
        app.extensions[EXTENSION] = self
        self.relay.start()

    def close(self) -> None:
        """Stop the relay and close the channels and Redis connections."""
        self.relay.stop()
        self.downstreams.close()
        self.email_queue.client.close()


def gateway() -> Gateway:
    """The resources of the app serving the current request."""
    return current_app.extensions[EXTENSION]
