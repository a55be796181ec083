"""The lab under Docker Compose in real containers: an engine, the base images, one compose project per run.

Every run uses its own project name and a free published port, so it never meets a lab someone else runs,
and ends with `down -v`, leaving no container, volume or network behind.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from purchase_lab.ports import free_port
from tests.compose.engine import Engine, EngineUnavailable, compose_command, run
from tests.compose.standins import ensure_base_images

ROOT = Path(__file__).resolve().parents[2]
LAB_SERVICES = ("redis", "cart", "pricing", "email", "gateway")
HEALTHY_TIMEOUT_S = 180.0
BUILD_CACHE = "purchase-lab-compose-suite/build-cache"
# What the run found out about images, shown in pytest's summary so a stand-in is never mistaken for the real one.
NOTES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say loudly which base images were stand-ins and how long the build and start took."""
    for note in NOTES:
        terminalreporter.write_line(f"compose suite: {note}", yellow=True, bold=True)


def dotenv_names() -> set[str]:
    """The names .env sets."""
    lines = (ROOT / ".env").read_text(encoding="utf-8").splitlines()
    return {line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")}


class Reply:
    """An HTTP reply: status, headers and the JSON body (None when it is not JSON)."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.text = body.decode("utf-8", errors="replace")
        try:
            self.body = json.loads(self.text)
        except ValueError:
            self.body = None


class ComposeLab:
    """One compose project of the lab, driven through the compose CLI and its published port."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.project = f"purchase-test-{secrets.token_hex(4)}"
        self.port = free_port()
        # A variable in the shell overrides .env in compose: the suite's own PURCHASE_* (a control dir of
        # its own, for one) must not reach the containers, which get .env as a student's would.
        self.env = {
            **{name: value for name, value in engine.env.items() if name not in dotenv_names()},
            "COMPOSE_PROJECT_NAME": self.project,
            "PURCHASE_PUBLISHED_PORT": str(self.port),
            "PURCHASE_LOAD_UI_PORT": str(free_port()),
        }
        self.command = compose_command(self.env)

    @property
    def url(self) -> str:
        """The gateway as the host sees it."""
        return f"http://127.0.0.1:{self.port}"

    def compose(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        """Run a compose command in the repository for this project; return its stdout."""
        return run([*self.command, *args], self.env, timeout=timeout, check=check, cwd=ROOT)

    def exec(self, service: str, *command: str) -> tuple[int, str, str]:
        """Run a command in a service's container; return its exit status, stdout and stderr."""
        result = subprocess.run(
            [*self.command, "exec", "-T", service, *command],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return result.returncode, result.stdout, result.stderr

    def containers(self, service: str | None = None) -> list[dict[str, Any]]:
        """`docker inspect` of this project's containers (of one service), running or not."""
        selector = [f"label=com.docker.compose.project={self.project}"]
        if service:
            selector.append(f"label=com.docker.compose.service={service}")
        filters = [part for label in selector for part in ("--filter", label)]
        ids = self.engine.docker("ps", "-aq", *filters).split()
        return json.loads(self.engine.docker("inspect", *ids)) if ids else []

    def health(self) -> dict[str, str]:
        """Each container's name and its health (or state when it has no healthcheck or is not running)."""
        found = {}
        for container in self.containers():
            state = container["State"]
            found[container["Name"].lstrip("/")] = state.get("Health", {}).get("Status") or state["Status"]
        return found

    def wait_healthy(self, services: tuple[str, ...] = LAB_SERVICES, timeout: float = HEALTHY_TIMEOUT_S) -> None:
        """Wait until every container of these services reports healthy through its own healthcheck."""
        deadline = time.monotonic() + timeout
        while True:
            containers = [c for service in services for c in self.containers(service)]
            states = {c["Name"]: c["State"].get("Health", {}).get("Status", c["State"]["Status"]) for c in containers}
            if containers and all(state == "healthy" for state in states.values()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"not healthy after {timeout:.0f} s: {states}\n{self.diagnose()}")
            time.sleep(1)

    def diagnose(self) -> str:
        """Each container's state, its last health check outputs and its last log lines: why it is not healthy."""
        report = []
        for container in self.containers():
            name, state = container["Name"].lstrip("/"), container["State"]
            health = state.get("Health", {}).get("Log", [])
            checks = [f"  check: {c['ExitCode']} {c['Output'].strip()[:300]}" for c in health]
            logs = subprocess.run(
                ["docker", "logs", "--tail", "8", name],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=60,
                check=False,
            ).stdout
            report += [f"{name}: {state['Status']} {state.get('Health', {}).get('Status', '')}", *checks[-3:], logs]
        return "\n".join(report)

    def token(self) -> str:
        """The admin token the gateway made in the control volume on its first start."""
        code, out, err = self.exec("gateway", "cat", ".run/admin-token")
        assert code == 0, err
        return out.strip()

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        """One HTTP request to the gateway through the published port."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers or {})
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=15) as reply:
                return Reply(reply.status, reply.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read())

    def admin(self, method: str, path: str, body: Any = None) -> Reply:
        """A call to the admin API with the lab's token."""
        return self.call(method, f"/api/v1/admin{path}", body, {"Authorization": f"Bearer {self.token()}"})

    def keep_build_cache(self) -> None:
        """Tag the images this project built under one fixed name, so `down --rmi local` leaves their layers
        to the next run's build (a warm run then reinstalls no dependency)."""
        for line in self.engine.docker("image", "ls", "--format", "{{.Repository}}").splitlines():
            for separator in ("_", "-"):  # Compose v1 names an image PROJECT_SERVICE, v2 PROJECT-SERVICE
                if line.startswith(f"{self.project}{separator}"):
                    service = line[len(self.project) + 1 :]
                    self.engine.docker("tag", line, f"{BUILD_CACHE}-{service}:latest")

    def leftovers(self) -> dict[str, list[str]]:
        """Whatever of this project still exists in the engine: containers, volumes, networks."""
        label = f"label=com.docker.compose.project={self.project}"
        return {
            "containers": self.engine.docker("ps", "-aq", "--filter", label).split(),
            "volumes": self.engine.docker("volume", "ls", "-q", "--filter", label).split(),
            "networks": self.engine.docker("network", "ls", "-q", "--filter", label).split(),
        }


@pytest.fixture(scope="session")
def engine(in_ci: bool) -> Iterator[Engine]:
    """A Docker engine: the running one, else a dockerd of our own, stopped at the end."""
    try:
        started = Engine().start()
    except EngineUnavailable as error:
        if in_ci:
            pytest.fail(f"the compose suite must run under CI: {error}")
        pytest.skip(f"NOT TESTED: the compose suite needs a Docker engine: {error}")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def compose_lab(engine: Engine) -> Iterator[ComposeLab]:
    """The lab built and started with compose, every healthcheck healthy; `down -v` at the end."""
    started = time.monotonic()
    stand_ins = ensure_base_images(engine, ROOT)
    if stand_ins:
        NOTES.append(
            f"STAND-IN BASE IMAGES, NOT THE OFFICIAL ONES (Docker Hub unreachable): {', '.join(stand_ins)}; "
            "built from Debian bookworm packages by tests/compose/standins.py"
        )
    lab = ComposeLab(engine)
    NOTES.append(f"{' '.join(lab.command)} project {lab.project} on 127.0.0.1:{lab.port}")
    images = time.monotonic()
    try:
        lab.compose("build", timeout=900)
        built = time.monotonic()
        try:
            lab.compose("up", "-d", timeout=600)
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n{lab.diagnose()}") from None
        lab.wait_healthy()
        healthy = time.monotonic()
        NOTES.append(
            f"base images {images - started:.1f} s, build {built - images:.1f} s, "
            f"up until every healthcheck is healthy {healthy - built:.1f} s"
        )
        yield lab
    finally:
        lab.keep_build_cache()
        lab.compose("--profile", "load", "down", "-v", "--remove-orphans", "--rmi", "local", timeout=300, check=False)


@pytest.fixture(scope="session")
def docker_stats(compose_lab: ComposeLab) -> Any:
    """`docker stats` of the project's containers now: name -> memory use."""

    def sample() -> dict[str, str]:
        names = [c["Name"].lstrip("/") for c in compose_lab.containers() if c["State"]["Running"]]
        # check=False: a container that ends between the listing and the sample (the load run) fails it; the
        # next sample goes without it.
        fields = ("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", *names)
        lines = compose_lab.engine.docker(*fields, check=False)
        return dict(line.split(" ", 1) for line in lines.splitlines() if " / " in line)

    return sample
