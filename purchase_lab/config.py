"""Typed configuration from the environment, with defaults that work on one machine.

Every setting is read here and nowhere else. A bad value fails fast with a message that names the
variable and says what is allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """An environment variable holds a value the lab cannot use."""


def env_str(env: Mapping[str, str], name: str, default: str) -> str:
    """Return the variable's value, or the default when it is unset or empty."""
    return env.get(name) or default


def env_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """Return the variable as an integer in [low, high], or the default when unset."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; set it to one from {low} to {high}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range; set it to a number from {low} to {high}")
    return value


def run_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The directory holding a running lab's state: PURCHASE_RUN_DIR, else `.run` in the current directory."""
    return Path(env_str(env, "PURCHASE_RUN_DIR", ".run")).expanduser().resolve()


def control_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Where the live flag and fault files are: PURCHASE_CONTROL_DIR, else `control` in the run dir."""
    configured = env.get("PURCHASE_CONTROL_DIR")
    return Path(configured).expanduser().resolve() if configured else run_dir(env) / "control"


def replica(env: Mapping[str, str] = os.environ) -> int:
    """This process's replica number, from PURCHASE_REPLICA: 1 (the only one) when unset."""
    return env_int(env, "PURCHASE_REPLICA", 1, 1, 99)


_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def employee_domain(env: Mapping[str, str] = os.environ) -> str:
    """Read PURCHASE_EMPLOYEE_DOMAIN: users whose email is exactly in this domain are employees."""
    domain = env_str(env, "PURCHASE_EMPLOYEE_DOMAIN", "purchase.example").strip().lower()
    if not _DOMAIN.fullmatch(domain):
        raise ConfigError(
            f"PURCHASE_EMPLOYEE_DOMAIN={domain!r} is not a domain name; set it to one such as 'purchase.example'"
        )
    return domain


@dataclass(frozen=True)
class Ports:
    """Where each process listens."""

    gateway: int = 8080
    cart: int = 50051
    pricing: int = 50052
    email: int = 50053
    redis: int = 6380

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Ports:
        """Read PURCHASE_<SERVICE>_PORT for every process."""
        return cls(
            **{
                field: env_int(env, f"PURCHASE_{field.upper()}_PORT", default, 1, 65535)
                for field, default in cls().__dict__.items()
            }
        )


@dataclass(frozen=True)
class MetricsPorts:
    """Where each gRPC service serves /metrics for Prometheus (0: nowhere); the gateway uses its HTTP port."""

    cart: int = 9461
    pricing: int = 9462
    email: int = 9463

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> MetricsPorts:
        """Read PURCHASE_<SERVICE>_METRICS_PORT for every gRPC service; 0 turns its endpoint off."""
        return cls(
            **{
                field: env_int(env, f"PURCHASE_{field.upper()}_METRICS_PORT", default, 0, 65535)
                for field, default in cls().__dict__.items()
            }
        )

    def of(self, service: str) -> int:
        """The metrics port of a service; 0 for one that has none of its own (the gateway, Redis)."""
        return vars(self).get(service, 0)


LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class CheckoutSettings:
    """How much time a checkout may take, and when the breakers of its soft dependencies open."""

    # All the downstream calls of one checkout together; each call gets min(its deadline, what is left).
    budget_ms: int = 2500
    # Failures in a row (UNAVAILABLE, DEADLINE_EXCEEDED, ...) that open a soft dependency's breaker.
    breaker_failures: int = 5
    # How long an open breaker refuses calls before it lets one trial call through.
    breaker_open_ms: int = 5000

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> CheckoutSettings:
        """Read PURCHASE_CHECKOUT_BUDGET_MS, PURCHASE_BREAKER_FAILURES and PURCHASE_BREAKER_OPEN_MS."""
        return cls(
            budget_ms=env_int(env, "PURCHASE_CHECKOUT_BUDGET_MS", cls.budget_ms, 10, 120_000),
            breaker_failures=env_int(env, "PURCHASE_BREAKER_FAILURES", cls.breaker_failures, 1, 10_000),
            breaker_open_ms=env_int(env, "PURCHASE_BREAKER_OPEN_MS", cls.breaker_open_ms, 10, 600_000),
        )


@dataclass(frozen=True)
class Settings:
    """Everything a service or the CLI reads from the environment."""

    host: str
    ports: Ports
    redis_url: str
    cart_target: str
    pricing_target: str
    email_target: str
    cart_deadline_ms: int
    pricing_deadline_ms: int
    email_deadline_ms: int
    gateway_workers: int
    gateway_threads: int
    log_level: str
    # text: `LEVEL service logger: message`; json: one object a line, with the trace id (docs/observability.md).
    log_format: str
    metrics_ports: MetricsPorts
    # The bearer token of the gateway's admin API; empty = the admin API refuses every request.
    admin_token: str
    checkout: CheckoutSettings = CheckoutSettings()

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Build settings from PURCHASE_* variables; see .env for the full list."""
        ports = Ports.from_env(env)
        log_level = env_str(env, "PURCHASE_LOG_LEVEL", "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"PURCHASE_LOG_LEVEL={log_level!r}; use DEBUG, INFO, WARNING or ERROR")
        log_format = env_str(env, "PURCHASE_LOG_FORMAT", "text").lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"PURCHASE_LOG_FORMAT={log_format!r}; use text or json")
        return cls(
            host=env_str(env, "PURCHASE_HOST", "127.0.0.1"),
            ports=ports,
            redis_url=env_str(env, "PURCHASE_REDIS_URL", f"redis://127.0.0.1:{ports.redis}/0"),
            cart_target=env_str(env, "PURCHASE_CART_TARGET", f"127.0.0.1:{ports.cart}"),
            pricing_target=env_str(env, "PURCHASE_PRICING_TARGET", f"127.0.0.1:{ports.pricing}"),
            email_target=env_str(env, "PURCHASE_EMAIL_TARGET", f"127.0.0.1:{ports.email}"),
            cart_deadline_ms=env_int(env, "PURCHASE_CART_DEADLINE_MS", 1000, 10, 60_000),
            pricing_deadline_ms=env_int(env, "PURCHASE_PRICING_DEADLINE_MS", 500, 10, 60_000),
            email_deadline_ms=env_int(env, "PURCHASE_EMAIL_DEADLINE_MS", 500, 10, 60_000),
            gateway_workers=env_int(env, "PURCHASE_GATEWAY_WORKERS", 2, 1, 32),
            gateway_threads=env_int(env, "PURCHASE_GATEWAY_THREADS", 8, 1, 128),
            log_level=log_level,
            log_format=log_format,
            metrics_ports=MetricsPorts.from_env(env),
            admin_token=env_str(env, "PURCHASE_ADMIN_TOKEN", ""),
            checkout=CheckoutSettings.from_env(env),
        )
