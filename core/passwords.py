"""Password hashes for the review page's accounts (scrypt from the standard library).

Stored as ``scrypt$N$r$p$<salt b64>$<hash b64>``; the config's `password_hash` holds one,
made by `edumon web hash-password`, never a password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A salted scrypt hash of the password, in the format the config's `password_hash` takes."""
    if not password:
        raise ValueError("the password must not be empty")
    salt = os.urandom(16)
    dk = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(dk)}"


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, dk = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        return None
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or len(salt) < 8 or len(dk) < 16:
        return None
    return n, r, p, salt, dk


def is_password_hash(stored: str) -> bool:
    """Whether the string is a hash `hash_password` made (not, say, a plain password)."""
    return _parse(stored) is not None


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against a stored hash."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    n, r, p, salt, dk = parsed
    got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(dk))
    return hmac.compare_digest(got, dk)
