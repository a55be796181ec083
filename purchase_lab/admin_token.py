"""The admin API's token where no `purchase up` hands one out (Docker Compose): kept in a shared file."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

TOKEN_VARIABLE = "PURCHASE_ADMIN_TOKEN"
FILE_VARIABLE = "PURCHASE_ADMIN_TOKEN_FILE"


def ensure_token_file(env: MutableMapping[str, str] = os.environ) -> Path | None:
    """Fill env[PURCHASE_ADMIN_TOKEN] from PURCHASE_ADMIN_TOKEN_FILE; return the file used, or None.

    A token set in PURCHASE_ADMIN_TOKEN wins and no file is touched. Otherwise, when PURCHASE_ADMIN_TOKEN_FILE
    names a file, its token is used, and on the first start (no file yet) a new random token is written
    there, readable by this user only. The file appears whole or not at all, so a reader never sees half.
    """
    configured = env.get(FILE_VARIABLE, "")
    if env.get(TOKEN_VARIABLE) or not configured:
        return None
    path = Path(configured)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(secrets.token_urlsafe(18) + "\n")
            # link() refuses to replace a file: when two starts race, the first token stays.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise ValueError(f"{path} (PURCHASE_ADMIN_TOKEN_FILE) is empty; delete it and a new token is made at start")
    env[TOKEN_VARIABLE] = token
    return path
