"""A usable Docker engine for the compose suite: the one already running, else a dockerd started as a child."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# The engine's state (images, build cache) is kept here between runs, so a warm run rebuilds nothing.
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "purchase-lab"
ENGINE_START_S = 90.0


class EngineUnavailable(RuntimeError):
    """No Docker engine can be used or started on this machine; the message says what is missing."""


def docker_works(env: dict[str, str]) -> bool:
    """True when the docker CLI reaches an engine with this environment."""
    try:
        result = subprocess.run(["docker", "info"], env=env, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


class Engine:
    """The engine the suite talks to; `env` carries DOCKER_HOST when it is our own child."""

    def __init__(self) -> None:
        self.env = dict(os.environ)
        self.process: subprocess.Popen[bytes] | None = None
        self.state: Path | None = None

    @property
    def started_here(self) -> bool:
        """True when this suite started dockerd (and so must stop it)."""
        return self.process is not None

    def start(self) -> Engine:
        """Use the running engine, or start dockerd as our child; raise EngineUnavailable saying why not."""
        if shutil.which("docker") is None:
            raise EngineUnavailable("the docker CLI is missing (apt-get install docker.io)")
        if docker_works(self.env):
            return self
        if shutil.which("dockerd") is None:
            raise EngineUnavailable("no Docker engine answers and dockerd is missing (apt-get install docker.io)")
        if os.geteuid() != 0:
            raise EngineUnavailable("no Docker engine answers, and starting dockerd needs root")
        self.state = Path(tempfile.mkdtemp(prefix="purchase-lab-dockerd-"))
        socket = self.state / "docker.sock"
        data_root = CACHE / "docker"
        data_root.mkdir(parents=True, exist_ok=True)
        command = [
            "dockerd",
            f"--host=unix://{socket}",
            f"--data-root={data_root}",
            f"--exec-root={self.state / 'exec'}",
            f"--pidfile={self.state / 'dockerd.pid'}",
        ]
        with (self.state / "dockerd.log").open("wb") as log:  # dockerd keeps its own copy of the file
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self.env["DOCKER_HOST"] = f"unix://{socket}"
        deadline = time.monotonic() + ENGINE_START_S
        while not docker_works(self.env):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EngineUnavailable(f"dockerd did not start; its log: {self.log_tail()}")
            time.sleep(0.5)
        return self

    def log_tail(self) -> str:
        """The last lines of our dockerd's log."""
        if self.state is None or not (self.state / "dockerd.log").exists():
            return "(none)"
        return "\n".join((self.state / "dockerd.log").read_text(errors="replace").splitlines()[-20:])

    def stop(self) -> None:
        """Stop our dockerd (not one we found running) and wait until it has exited."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        if self.state is not None:
            shutil.rmtree(self.state, ignore_errors=True)

    def docker(self, *args: str, timeout: float = 120, check: bool = True, stdin: str | None = None) -> str:
        """Run `docker ARGS` against this engine and return its stdout; raise with its stderr on failure."""
        return run(["docker", *args], self.env, timeout=timeout, check=check, stdin=stdin)


def run(
    command: Sequence[str],
    env: dict[str, str],
    timeout: float = 120,
    check: bool = True,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> str:
    """Run a command; return stdout, or raise RuntimeError with the command, its status and stderr."""
    result = subprocess.run(
        list(command), env=env, input=stdin, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


def compose_command(env: dict[str, str]) -> list[str]:
    """Compose v2 (`docker compose`) where the plugin is installed, else v1 (`docker-compose`)."""
    v2 = subprocess.run(["docker", "compose", "version"], env=env, capture_output=True, timeout=30, check=False)
    if v2.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise EngineUnavailable("neither `docker compose` (v2) nor `docker-compose` (v1) is installed")
