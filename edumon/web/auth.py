"""Passwords, roles and who may see which school.

Password hashes use scrypt from the standard library, stored as
``scrypt$N$r$p$<salt b64>$<hash b64>``.  Roles: ``comms`` sees every school,
``leader`` only the schools listed in the config, ``analyst`` none of the
review page (analysts get trends without identities elsewhere).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence

from core.config import WebUser
from core.passwords import hash_password, verify_password

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
