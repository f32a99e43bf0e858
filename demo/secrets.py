"""The demo stack's secrets: made fresh or kept under `<var>/secrets/` (mode 0600), never
shipped in the repository."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path


def identity_key(env: Mapping[str, str]) -> str:
    # A fresh key per run unless the operator supplies one: the demo never ships a secret.
    return env.get("FICUS_IDENTITY_KEY") or secrets.token_urlsafe(48)


def kept_secret(var_dir: Path, name: str, make: Callable[[], str]) -> str:
    """A secret generated on the first run and kept under var/secrets/ (mode 0600).

    Unlike the identity key, these must outlive a restart: the PHI key decrypts what the
    services encrypted at rest, and the audit key verifies digests signed on earlier runs.
    """
    path = var_dir / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
