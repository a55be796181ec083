"""Run one lab process as a child: start it, stream its output with a name prefix, stop it cleanly."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from purchase_lab.health import wait_until

LineSink = Callable[[str, str], None]


def print_prefixed(name: str, line: str) -> None:
    """Write `name | line` to stdout: the default way a child's output is shown."""
    sys.stdout.write(f"{name:<9}| {line}")
    sys.stdout.flush()


# A child started by ManagedProcess finds its parent's pid here (see exit_with_parent).
PARENT_PID_ENV = "PURCHASE_PARENT_PID"


def exit_with_parent() -> None:
    """In a lab process: ask Linux to SIGTERM us when the supervisor dies, so no process is left behind.

    Called by the process itself at start, not between fork and exec: a preexec_fn would make Python
    fork() rather than vfork(), and a fork while gRPC threads are busy can break the child.
    """
    parent = os.environ.get(PARENT_PID_ENV)
    if not parent or sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != int(parent):  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class ProcessSpec:
    """What to run for one process and how to tell it is healthy."""

    name: str
    command: Sequence[str]
    address: str
    healthy: Callable[[], bool]
    env: Mapping[str, str] = field(default_factory=dict)


class ManagedProcess:
    """One child process: started, watched, stopped with SIGTERM or killed with SIGKILL."""

    def __init__(self, spec: ProcessSpec, sink: LineSink = print_prefixed) -> None:
        self.spec = spec
        self._sink = sink
        self._popen: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid while it has been started, else None."""
        return self._popen.pid if self._popen else None

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit status once the child has ended (negative: killed by that signal)."""
        return self._popen.poll() if self._popen else None

    def start(self) -> None:
        """Start the child with its output streamed, line by line, to the sink."""
        if self.running:
            return
        env = {**os.environ, **self.spec.env, "PYTHONUNBUFFERED": "1", PARENT_PID_ENV: str(os.getpid())}
        self._popen = subprocess.Popen(
            list(self.spec.command),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops children in order
        )
        self._reader = threading.Thread(target=self._pump, args=(self._popen,), daemon=True)
        self._reader.start()

    def _pump(self, popen: subprocess.Popen[bytes]) -> None:
        assert popen.stdout is not None
        # The pipe is closed under us when a stop gives up waiting for the reader; that ends the stream.
        with contextlib.suppress(ValueError, OSError):
            for raw in popen.stdout:
                self._sink(self.spec.name, raw.decode("utf-8", "replace"))

    def wait_healthy(self, timeout: float = 15.0) -> None:
        """Block until the process passes its health check; raise if it dies or times out."""
        wait_until(self.spec.healthy, f"{self.spec.name} ({self.spec.address})", timeout, lambda: self.running)

    def stop(self, timeout: float = 8.0) -> None:
        """Send SIGTERM and wait; SIGKILL if it is still alive after timeout seconds."""
        if not self.running:
            return
        assert self._popen is not None
        self._popen.terminate()
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._join_reader()

    def kill(self) -> None:
        """Send SIGKILL: the process dies at once, like a crashed node."""
        if not self.running:
            return
        assert self._popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._popen.pid, signal.SIGKILL)  # the whole group: gunicorn's workers too
        self._popen.wait()
        self._join_reader()

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self._popen is not None and self._popen.stdout is not None:
            self._popen.stdout.close()
