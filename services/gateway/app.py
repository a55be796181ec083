"""The gateway's application factory: a Flask app wired to its downstream services and email queue."""

from __future__ import annotations

import redis
from flask import Flask

from purchase_lab.config import Settings, replica
from purchase_lab.faults import flask_hook, watch_rules
from purchase_lab.faults.engine import FaultInjector
from purchase_lab.faults.watcher import RuleSource
from purchase_lab.flags import FeatureFlags
from purchase_lab.routing import RouteWatcher, routes_path
from purchase_lab.telemetry import Telemetry
from purchase_lab.telemetry.hooks import fault_listener, rollout_reader
from purchase_lab.telemetry.instrument import instrument_flask
from purchase_lab.telemetry.setup import Scraper
from services.gateway import (
    admin,
    admin_console,
    admin_deploys,
    admin_faults,
    admin_flags,
    catalogue,
    checkout_api,
    console,
    errors,
    features,
    health,
    openapi,
    shop,
)
from services.gateway.checkout_api import fallbacks_enabled
from services.gateway.downstreams import Downstreams
from services.gateway.email_queue import EmailQueue, EmailRelay
from services.gateway.resources import FallbackPolicy, Gateway
from services.gateway.series import declare_series

MAX_BODY_BYTES = 16 * 1024
# The queue is written during a checkout, so Redis may cost it at most this long.
QUEUE_TIMEOUT_SECONDS = 1.0


def create_app(
    settings: Settings | None = None,
    downstreams: Downstreams | None = None,
    *,
    fallbacks: FallbackPolicy = fallbacks_enabled,
    flags: FeatureFlags | None = None,
    fault_rules: RuleSource | None = None,
    telemetry: Telemetry | None = None,
    metrics: Scraper | None = None,
) -> Flask:
    """Build the gateway app; settings default to the environment, downstreams to channels they name.

    fallbacks decides per user whether the checkout uses its fallbacks (see checkout_api). flags are
    the live feature flags, by default the configured live file's, started on first use (see features).
    fault_rules are the live fault rules, by default followed in the control dir's faults.json: the
    gateway's own (HTTP) rules and the client-side rules of its downstream channels (docs/faults.md).
    telemetry traces and measures the app and its calls, and serves GET /metrics (`telemetry_of(app)`
    gives it to views); without it, nothing is measured. metrics answers /metrics: by default with
    this process's metrics.
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    if telemetry is not None:
        # First, so that its request span is open before any other hook runs: an injected fault shows on it.
        instrument_flask(app, telemetry, metrics)
    fault_rules = fault_rules if fault_rules is not None else watch_rules(acknowledge=True)
    downstreams = downstreams or Downstreams.from_settings(
        settings, fault_rules, telemetry, RouteWatcher(routes_path()).start()
    )
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
    catalogue.init_app(app, email_queue.client)
    features.init_app(app, flags)
    admin_flags.init_app(app)
    observe_control_plane(app, telemetry, flask_hook.init_app(app, replica=replica(), source=fault_rules))
    admin_faults.init_app(app)
    admin_deploys.init_app(app)
    admin_console.init_app(app, settings)
    console.init_app(app)
    errors.init_app(app)
    for blueprint in (shop.bp, checkout_api.bp, features.bp, health.bp, openapi.bp, admin.bp):
        app.register_blueprint(blueprint)
    return app


def observe_control_plane(app: Flask, telemetry: Telemetry | None, faults: FaultInjector) -> None:
    """Count the faults injected into the gateway's requests, create the series panels read, report each ramp."""
    if telemetry is not None and telemetry.enabled:
        faults.listeners.append(fault_listener(telemetry.metrics))
        declare_series(telemetry.metrics)
        telemetry.metrics.observe_rollouts(rollout_reader(features.live_flags_of(app).path))
