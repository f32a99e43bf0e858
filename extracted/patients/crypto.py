"""Field encryption at rest for the patients service: Fernet tokens, keys from FICUS_PHI_KEY.

Why Fernet (the `cryptography` package): authenticated encryption (AES-128-CBC + HMAC-SHA256)
with a versioned, timestamped token format, and `MultiFernet` for key rotation. FICUS_PHI_KEY
holds one or more urlsafe-base64 32-byte keys separated by commas: the *first* encrypts, every
one of them decrypts. Rotation is therefore: put the new key first, keep the old one after it,
re-save rows (any update re-encrypts with the first key; `reencrypt` below does one value), then
drop the old key.

Failures are loud, never silent: a missing or malformed key raises ImproperlyConfigured naming
the variable the moment a field must be encrypted or decrypted, and a token no configured key
can open raises `PhiKeyError` (also ImproperlyConfigured) rather than returning garbage or None.
Messages never contain plaintext or ciphertext.
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ENV_VAR = "FICUS_PHI_KEY"


class PhiKeyError(ImproperlyConfigured):
    """Stored data cannot be decrypted with the configured keys (wrong or rotated-out key)."""


def _raw_keys() -> str:
    # settings.FICUS_PHI_KEY wins (tests override it); else the environment, read at use time.
    configured = getattr(settings, ENV_VAR, None)
    return configured if configured is not None else os.environ.get(ENV_VAR, "")


def _cipher() -> MultiFernet:
    raw = _raw_keys()
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        raise ImproperlyConfigured(
            f"{ENV_VAR} is not set: the patients service needs it to encrypt and decrypt PHI "
            "fields (generate one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`)"
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as e:
        raise ImproperlyConfigured(
            f"{ENV_VAR} holds a key that is not 32 url-safe base64-encoded bytes"
        ) from e


def key_problem() -> str | None:
    """Why the configured keys cannot be used, or None: `runservice patients` checks it first."""
    try:
        _cipher()
    except ImproperlyConfigured as e:
        return str(e)
    return None


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, what: str) -> str:
    """The plaintext of `token`; `what` names the field in the error (never the data)."""
    try:
        return _cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as e:
        raise PhiKeyError(
            f"{what} cannot be decrypted with the keys in {ENV_VAR}: the key is wrong, or the key "
            "that encrypted it was removed before the row was re-encrypted"
        ) from e


def reencrypt(token: str) -> str:
    """The same plaintext under the first (current) key, for key rotation."""
    try:
        return _cipher().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as e:
        raise PhiKeyError(f"a stored value cannot be decrypted with the keys in {ENV_VAR}") from e
