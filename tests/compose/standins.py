"""Stand-ins for the base images when Docker Hub cannot be reached, built from Debian packages.

They carry exactly the tags the Dockerfile and the compose file name (python:3.11-slim, redis:7.4-alpine),
so the build and the compose file are the ones students use. They are NOT the official images: Debian
bookworm (debootstrap minbase) with its python3 (3.11, the same minor version) and its redis-server, which an
entrypoint starts like the official image does (as the redis user, in /data, protected mode off). Each carries
the label below, and the suite says loudly when it used one. Built once per machine and engine, then reused.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.compose.engine import CACHE, Engine, EngineUnavailable, run

LABEL = "org.purchase-lab.stand-in"
# A hash of what a stand-in is built from: a cached stand-in with another hash is out of date and rebuilt.
RECIPE_LABEL = "org.purchase-lab.stand-in.recipe"
BASE = "purchase-lab-stand-in/bookworm-minbase:1"
ROOTFS = CACHE / "stand-in" / "bookworm-minbase.tar"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("python3", "python3-pip", "ca-certificates", "redis-server", "redis-tools")
# Trimmed from the root file system: package caches, lists, docs and translations no service reads.
TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale")

# This machine's own certificate authorities (Debian keeps them in LOCAL_CAS), trusted inside the stand-in too:
# where a proxy of the site answers for PyPI with its own certificate, pip in the build must trust it as well.
LOCAL_CAS = Path("/usr/local/share/ca-certificates")

PYTHON = f"""FROM {BASE}
COPY local-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null \\
    && ln -s /usr/bin/python3 /usr/local/bin/python && rm -f /usr/lib/python3.*/EXTERNALLY-MANAGED
ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL {LABEL}="python:3.11-slim, stood in by Debian bookworm's python3 (3.11)"
CMD ["python3"]
"""

# The official image starts redis-server as the redis user in /data with protected mode off (it is reached
# from other containers); a first argument that is an option means redis-server with those options.
REDIS_ENTRYPOINT = r"""#!/bin/sh
set -e
if [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then
    shift
    if [ "$(id -u)" = 0 ]; then
        chown -R redis:redis /data
        exec setpriv --reuid=redis --regid=redis --init-groups redis-server "$@" --protected-mode no
    fi
    exec redis-server "$@" --protected-mode no
fi
exec "$@"
"""

REDIS = f"""FROM {BASE}
COPY docker-entrypoint.sh /usr/local/bin/
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh && mkdir -p /data && chown redis:redis /data
WORKDIR /data
VOLUME /data
EXPOSE 6379
LABEL {LABEL}="redis:7.4-alpine, stood in by Debian bookworm's redis-server (7.0)"
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
"""


def base_images(root: Path) -> list[str]:
    """Every base image the build and the lab need: the Dockerfile's FROMs and the compose file's images."""
    stages = set()
    images = []
    for line in (root / "Dockerfile").read_text().splitlines():
        found = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if found:
            if found[1] not in stages:
                images.append(found[1])
            if found[2]:
                stages.add(found[2])
    dotenv = dict(line.split("=", 1) for line in (root / ".env").read_text().splitlines() if "=" in line)
    return [*images, dotenv["REDIS_IMAGE"]]


def stand_in_dockerfile(tag: str) -> str:
    """The Dockerfile of the stand-in for an image tag; raise when there is none for it."""
    if tag.startswith("python:3.11"):
        return PYTHON
    if tag.startswith("redis:"):
        return REDIS
    raise EngineUnavailable(f"{tag} cannot be pulled and there is no stand-in for it")


def local_cas() -> list[Path]:
    """This machine's own certificate authorities, to be trusted in the stand-in."""
    return sorted(LOCAL_CAS.glob("**/*.crt")) if LOCAL_CAS.is_dir() else []


def recipe(tag: str) -> str:
    """The hash of everything the stand-in for tag is built from."""
    digest = hashlib.sha256(stand_in_dockerfile(tag).encode() + REDIS_ENTRYPOINT.encode())
    for certificate in local_cas():
        digest.update(certificate.read_bytes())
    return digest.hexdigest()[:16]


def label_of(engine: Engine, tag: str, label: str) -> str:
    """One label of a local image ('' when it has none)."""
    value = engine.docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', tag).strip()
    return "" if value == "<no value>" else value


def is_stand_in(engine: Engine, tag: str) -> bool | None:
    """True for our stand-in, False for a real image, None when the engine does not have the tag."""
    if not engine.docker("image", "ls", "-q", tag).strip():
        return None
    return bool(label_of(engine, tag, LABEL))


def pulled(engine: Engine, tag: str) -> bool:
    """True when the engine could pull the real image from its registry."""
    pull = subprocess.run(["docker", "pull", tag], env=engine.env, capture_output=True, timeout=600, check=False)
    return pull.returncode == 0


def build_rootfs() -> None:
    """debootstrap a minimal bookworm with the packages, trimmed, into the cached tarball."""
    for tool in ("debootstrap", "tar"):
        if shutil.which(tool) is None:
            raise EngineUnavailable(f"{tool} is missing; the stand-in images need it (apt-get install {tool})")
    ROOTFS.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stand-in-", dir=ROOTFS.parent) as directory:
        target = Path(directory) / "rootfs"
        command = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", "bookworm", str(target)]
        run([*command, MIRROR], env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, timeout=900)
        for trimmed in TRIM:
            for entry in (target / trimmed).glob("*"):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        partial = ROOTFS.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(target), "-cf", str(partial), "."], check=True, timeout=300)
        partial.rename(ROOTFS)


def ensure_base_images(engine: Engine, root: Path) -> list[str]:
    """Make every base image available: present, else pulled, else a stand-in; return the stand-ins in use."""
    stand_ins = []
    for tag in base_images(root):
        present = is_stand_in(engine, tag)
        if present is None and pulled(engine, tag):
            present = False
        if present is None or (present and label_of(engine, tag, RECIPE_LABEL) != recipe(tag)):
            build_stand_in(engine, tag)
            present = True
        if present:
            stand_ins.append(tag)
    return stand_ins


def build_stand_in(engine: Engine, tag: str) -> None:
    """Build the stand-in for tag from the Debian root file system (debootstrapped once, then cached)."""
    if is_stand_in(engine, BASE) is None:
        if not ROOTFS.exists():
            build_rootfs()
        engine.docker("import", "--change", f'LABEL {LABEL}="Debian bookworm minbase"', str(ROOTFS), BASE, timeout=600)
    with tempfile.TemporaryDirectory(prefix="stand-in-context-") as context:
        (Path(context) / "Dockerfile").write_text(stand_in_dockerfile(tag))
        (Path(context) / "docker-entrypoint.sh").write_text(REDIS_ENTRYPOINT)
        (Path(context) / "local-ca").mkdir()
        for certificate in local_cas():
            shutil.copy(certificate, Path(context) / "local-ca" / certificate.name)
        label = f"{RECIPE_LABEL}={recipe(tag)}"
        engine.docker("build", "--quiet", "--label", label, "--tag", tag, context, timeout=600)
