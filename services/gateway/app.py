"""The gateway's application factory: a Flask app wired to its downstream services and email queue."""

from __future__ import annotations

import redis
from flask import Flask

from purchase_lab.config import Settings
from services.gateway import admin, checkout_api, errors, health, openapi, shop
from services.gateway.checkout_api import fallbacks_enabled
from services.gateway.downstreams import Downstreams
from services.gateway.email_queue import EmailQueue, EmailRelay
from services.gateway.resources import FallbackPolicy, Gateway

MAX_BODY_BYTES = 16 * 1024
# The queue is written during a checkout, so Redis may cost it at most this long.
QUEUE_TIMEOUT_SECONDS = 1.0


def create_app(
    settings: Settings | None = None,
    downstreams: Downstreams | None = None,
    *,
    fallbacks: FallbackPolicy = fallbacks_enabled,
) -> Flask:
    """Build the gateway app; settings default to the environment, downstreams to channels they name.

    fallbacks decides per user whether the checkout uses its fallbacks (see checkout_api).
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    downstreams = downstreams or Downstreams.from_settings(settings)
    # Connections open on first use, so building the client never waits for Redis.
    email_queue = EmailQueue(
        redis.Redis.from_url(
            settings.redis_url, socket_timeout=QUEUE_TIMEOUT_SECONDS, socket_connect_timeout=QUEUE_TIMEOUT_SECONDS
        )
    )
    Gateway(
        settings=settings,
        downstreams=downstreams,
        email_queue=email_queue,
        relay=EmailRelay(email_queue, settings.redis_url, downstreams.email),
        fallbacks=fallbacks,
    ).init_app(app)
    errors.init_app(app)
    for blueprint in (shop.bp, checkout_api.bp, health.bp, openapi.bp, admin.bp):
        app.register_blueprint(blueprint)
    return app
