"""Password hashes stored as text in APP_USER.PWD_HASH: `pbkdf2_sha256$<iterations>$<salt>$<hash>`.

PBKDF2-HMAC-SHA256 from hashlib with a per-user salt. The iteration count travels with the hash,
so it can be raised later without invalidating stored passwords. Passwords are never logged.
"""

from __future__ import annotations

import hashlib
import hmac

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 100_000


def hash_password(password: str, salt: bytes, *, iterations: int = ITERATIONS) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{ALGORITHM}${iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True if `password` matches `stored`; a malformed stored hash never matches."""
    try:
        algorithm, iterations, salt_hex, digest_hex = stored.split("$")
        salt, expected, rounds = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex), int(iterations)
    except ValueError:
        return False
    if algorithm != ALGORITHM or rounds < 1:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds)
    return hmac.compare_digest(actual, expected)
