"""Passwords, roles and who may see which school.

Password hashes use scrypt from the standard library, stored as
``scrypt$N$r$p$<salt b64>$<hash b64>``.  Roles: ``comms`` sees every school,
``leader`` only the schools listed in the config, ``analyst`` none of the
review page (analysts get trends without identities elsewhere).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from typing import Iterable, Sequence

from edumon.web.settings import WebUser

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


# A hash to verify against for unknown usernames, so a login takes as long either way.
_DUMMY = hash_password("edumon-no-such-user")


def authenticate(users: Sequence[WebUser], username: str, password: str) -> WebUser | None:
    """The user with this username and password, or None."""
    user = next((u for u in users if u.username == username), None)
    ok = verify_password(password, user.password_hash if user else _DUMMY)
    return user if user and ok else None


def visible_schools(user: WebUser, all_school_ids: Iterable[str]) -> list[str]:
    """The school ids this user may see: all for comms, their own for leaders, none for analysts."""
    ids = list(all_school_ids)
    if user.role == "comms":
        return ids
    if user.role == "leader":
        return [s for s in ids if s in user.schools]
    return []


def may_see(user: WebUser, school_ids: Iterable[str], all_school_ids: Iterable[str]) -> bool:
    """Whether the user may see something about these schools (one of them is theirs)."""
    mine = set(visible_schools(user, all_school_ids))
    return any(s in mine for s in school_ids)


class LoginThrottle:
    """Refuses logins for a username after `max_failures` failures within `window_s` seconds."""

    def __init__(self, max_failures: int = 5, window_s: float = 900.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        recent = [t for t in self._failures.get(key, []) if now - t < self.window_s]
        self._failures[key] = recent
        return recent

    def blocked(self, username: str) -> bool:
        with self._lock:
            return len(self._recent(username.lower(), time.monotonic())) >= self.max_failures

    def failed(self, username: str) -> None:
        with self._lock:
            self._recent(username.lower(), time.monotonic()).append(time.monotonic())

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username.lower(), None)
