"""The repository is in order: generated code fresh, lint clean, and the compose file valid and complete.

The lab's own services run on a plain `docker compose up`; tools in a profile (`--profile observability`)
are added on request, so the checks of the lab's services leave them out.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from purchase_lab.config import MetricsPorts, Settings
from purchase_lab.telemetry import TelemetrySettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOTENV = ROOT / ".env"
OBSERVABILITY = ("jaeger", "prometheus", "grafana")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    """Run a command at the repository root and capture what it prints."""
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)


def require_tool(present: bool, what: str, in_ci: bool) -> None:
    """Skip, loudly, when a tool is missing on a developer's machine; fail under CI, where .ci/run installs it."""
    if present:
        return
    if in_ci:
        pytest.fail(f"{what} is missing under CI; .ci/run should have installed it")
    pytest.skip(f"NOT CHECKED: {what} is missing; install it to run this check")


def dotenv() -> dict[str, str]:
    """The committed .env as a mapping (comments and blank lines skipped)."""
    pairs = (line.split("=", 1) for line in DOTENV.read_text().splitlines() if line and not line.startswith("#"))
    return {name: value for name, value in pairs}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml parsed, with YAML anchors and merges resolved."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def lab_services(compose: dict[str, Any]) -> dict[str, Any]:
    """The services a plain `docker compose up` runs: those in no profile."""
    return {name: service for name, service in compose["services"].items() if not service.get("profiles")}


def in_profile(compose: dict[str, Any], profile: str) -> dict[str, Any]:
    """The services only `--profile <profile>` runs."""
    return {name: service for name, service in compose["services"].items() if profile in service.get("profiles", [])}


def test_generated_code_is_fresh() -> None:
    result = run(sys.executable, "scripts/gen_protos.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check_is_clean() -> None:
    result = run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, f"run `make format` or fix by hand:\n{result.stdout}{result.stderr}"


def test_ruff_format_is_clean() -> None:
    result = run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert result.returncode == 0, f"run `make format`:\n{result.stdout}{result.stderr}"


def test_buf_lint_passes(in_ci: bool) -> None:
    has_buf = (ROOT / "node_modules" / ".bin" / "buf").exists() and shutil.which("npx") is not None
    require_tool(has_buf, "buf (node_modules/.bin/buf; run `make tools`)", in_ci)
    result = run("npx", "--no-install", "buf", "lint", "protos")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("profiles", [[], ["--profile", "observability"]], ids=["lab", "observability"])
def test_docker_compose_config_is_valid(in_ci: bool, profiles: list[str]) -> None:
    require_tool(shutil.which("docker-compose") is not None, "docker-compose (apt-get install docker-compose)", in_ci)
    result = run("docker-compose", *profiles, "config", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr


def test_every_compose_variable_is_set_in_dotenv() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    assert used, "docker-compose.yml should take its values from .env"
    assert sorted(used - dotenv().keys()) == []


def test_dotenv_holds_valid_settings() -> None:
    settings = Settings.from_env(dotenv())
    assert settings.host == "0.0.0.0"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.cart_target == f"cart:{settings.ports.cart}"
    assert settings.pricing_target == f"pricing:{settings.ports.pricing}"
    assert settings.email_target == f"email:{settings.ports.email}"
    assert settings.log_format == "json"
    # observability/prometheus.yml scrapes the default metrics ports.
    assert settings.metrics_ports == MetricsPorts()


@pytest.mark.parametrize("service", ["cart", "pricing", "email", "gateway"])
def test_dotenv_holds_valid_telemetry_settings(service: str) -> None:
    telemetry = TelemetrySettings.from_env(service, dotenv())

    assert telemetry.enabled
    assert telemetry.traces_exporters == ("otlp",)


def test_compose_runs_redis_and_the_four_services(lab_services: dict[str, Any]) -> None:
    assert sorted(lab_services) == ["cart", "email", "gateway", "pricing", "redis"]


def test_the_observability_profile_adds_jaeger_prometheus_and_grafana(compose: dict[str, Any]) -> None:
    assert sorted(in_profile(compose, "observability")) == sorted(OBSERVABILITY)


def test_every_compose_service_has_a_healthcheck(compose: dict[str, Any], lab_services: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        test = service.get("healthcheck", {}).get("test") or ["NONE"]
        assert test[0] == "CMD", f"{name} needs a healthcheck that runs a command"
        if name in lab_services and name != "redis":
            assert test[1:4] == ["python", "-m", "purchase_lab.healthcheck"], f"{name} must check its real protocol"


def test_every_compose_service_has_a_memory_limit(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        limit = service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory")
        assert limit or service.get("mem_limit"), f"{name} has no memory limit"


def test_compose_dependencies_wait_until_healthy(compose: dict[str, Any]) -> None:
    dependencies = {name: service.get("depends_on", {}) for name, service in compose["services"].items()}
    assert sorted(dependencies["gateway"]) == ["cart", "email", "pricing"]
    assert sorted(dependencies["cart"]) == ["redis"]
    for name, needs in dependencies.items():
        assert isinstance(needs, dict), f"{name}: depends_on must name a condition for each dependency"
        for dependency, rule in needs.items():
            assert rule == {"condition": "service_healthy"}, f"{name} -> {dependency} must wait until healthy"


def test_lab_services_never_wait_for_a_profiled_one(lab_services: dict[str, Any]) -> None:
    for name, service in lab_services.items():
        assert set(service.get("depends_on", {})) <= set(lab_services), f"{name} would not start without a profile"


def test_only_the_gateway_is_published(lab_services: dict[str, Any]) -> None:
    published = {name for name, service in lab_services.items() if service.get("ports")}
    assert published == {"gateway"}
    assert lab_services["gateway"]["ports"] == [
        "${PURCHASE_PUBLISHED_HOST}:${PURCHASE_PUBLISHED_PORT}:${PURCHASE_GATEWAY_PORT}"
    ]
    assert dotenv()["PURCHASE_PUBLISHED_HOST"] == "127.0.0.1"


def test_the_observability_tools_publish_their_pages_only(compose: dict[str, Any]) -> None:
    published = {name: service.get("ports") for name, service in in_profile(compose, "observability").items()}

    assert published == {
        "jaeger": ["${PURCHASE_PUBLISHED_HOST}:${JAEGER_PUBLISHED_PORT}:16686"],
        "prometheus": ["${PURCHASE_PUBLISHED_HOST}:${PROMETHEUS_PUBLISHED_PORT}:9090"],
        "grafana": ["${PURCHASE_PUBLISHED_HOST}:${GRAFANA_PUBLISHED_PORT}:3000"],
    }


def test_every_mounted_file_of_the_repository_exists(compose: dict[str, Any]) -> None:
    mounts = [volume.split(":")[0] for service in compose["services"].values() for volume in service.get("volumes", [])]
    local = [source for source in mounts if source.startswith("./")]

    assert local, "the observability profile mounts its configuration from observability/"
    assert [source for source in local if not (ROOT / source).exists()] == []


def test_every_service_reports_its_telemetry_as_dotenv_says(lab_services: dict[str, Any]) -> None:
    for name, service in lab_services.items():
        if name == "redis":
            continue
        environment = service["environment"]
        for variable in ("OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "PURCHASE_LOG_FORMAT"):
            assert environment.get(variable) == f"${{{variable}}}", f"{name} does not pass {variable}"


def test_redis_persists_to_a_named_volume(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert "--appendonly" in redis["command"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    volume = redis["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_the_services_that_keep_state_in_redis_are_healthy_only_with_redis(lab_services: dict[str, Any]) -> None:
    for name in ("cart", "email"):
        test = lab_services[name]["healthcheck"]["test"]
        assert test[-2:] == ["--redis", "${PURCHASE_REDIS_URL}"], f"{name}'s health must follow its Redis"


def test_the_admin_token_reaches_the_gateway_and_lives_in_the_control_volume(lab_services: dict[str, Any]) -> None:
    environment = lab_services["gateway"]["environment"]
    assert environment["PURCHASE_ADMIN_TOKEN"] == "${PURCHASE_ADMIN_TOKEN}"
    assert environment["PURCHASE_ADMIN_TOKEN_FILE"] == "${PURCHASE_ADMIN_TOKEN_FILE}"
    mount = next(volume for volume in lab_services["gateway"]["volumes"] if volume.startswith("control:"))
    assert dotenv()["PURCHASE_ADMIN_TOKEN_FILE"] == f"{mount.split(':')[1]}/admin-token"


def test_the_image_copies_no_data_from_outside_the_packages() -> None:
    copied = [line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")]
    assert "flags" not in copied
    assert not (ROOT / "flags").exists(), "the flag definitions are package data in purchase_lab/flags/"
