"""Passwords, roles, who may see which school, and the login limits.

Password hashes use scrypt from the standard library, stored as
``scrypt$N$r$p$<salt b64>$<hash b64>``.  Roles: ``comms`` sees every school,
``leader`` only the schools listed in the config, ``analyst`` none of the
review page (analysts get trends without identities elsewhere).

Login limits (`LoginLimiter`): an attempt is counted *before* its password is
checked, under one lock, so concurrent guesses cannot slip past the limit.

- per (user, client): 3 free attempts, then a growing wait (1 s, 2 s, 4 s, ... at most 5 min)
  after each failure; a success clears it. No account is ever locked for everyone.
- per client (any usernames): at most 30 attempts a minute.
- per user (any client): after 20 failures, clients that never logged in as this user
  wait 1 s, 2 s, ... at most 1 min between attempts; clients that did log in as this
  user before are not held back by other clients' failures.
- at most one password check at a time (scrypt costs ~60 ms of CPU), so a flood of
  logins cannot starve the other pages; a login that cannot start within 3 s is told
  "bezig".

Usernames are truncated to 64 characters for the counters and the log, and the
counters are pruned to at most 10,000 entries.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from core.config import WebUser
from core.passwords import hash_password, verify_password

# A hash to verify against for unknown usernames, so a login takes as long either way.
_DUMMY = hash_password("edumon-no-such-user")
NAME_CHARS = 64  # usernames are cut to this length in the counters and the log


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


def short_name(username: str) -> str:
    """The username as counted and logged: lower-case, at most NAME_CHARS characters."""
    return username[:NAME_CHARS].lower()


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


def backoff(failures: int, free: int, base_s: float, max_s: float) -> float:
    """The wait after `failures` failures: none for the first `free`, then doubling up to `max_s`."""
    if failures < free:
        return 0.0
    return float(min(max_s, base_s * 2 ** min(failures - free, 30)))


class LoginLimiter:
    """Counts login attempts per (user, client), per client and per user; see the module docstring."""

    def __init__(
        self,
        free: int = 3,
        max_wait_s: float = 300.0,
        client_per_minute: int = 30,
        user_free: int = 20,
        user_max_wait_s: float = 60.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.max_wait_s = free, max_wait_s
        self.client_per_minute = client_per_minute
        self.user_free, self.user_max_wait_s = user_free, user_max_wait_s
        self.max_keys, self.clock = max_keys, clock
        self._pair: dict[tuple[str, str], _Failures] = {}
        self._user: dict[str, _Failures] = {}
        self._client: dict[str, deque[float]] = {}
        self._known: set[tuple[str, str]] = set()  # (user, client) that logged in before
        self._lock = threading.Lock()

    def begin(self, username: str, client: str) -> float:
        """0 if this attempt may be checked (it is counted as a failure until `succeeded`), else the
        seconds to wait before the next attempt."""
        name, now = short_name(username), self.clock()
        with self._lock:
            pair = self._pair.setdefault((name, client), _Failures())
            user = self._user.setdefault(name, _Failures())
            recent = self._client.setdefault(client, deque())
            while recent and now - recent[0] >= 60:
                recent.popleft()
            waits = [pair.last + backoff(pair.count, self.free, 1.0, self.max_wait_s) - now]
            if (name, client) not in self._known:
                waits.append(user.last + backoff(user.count, self.user_free, 1.0, self.user_max_wait_s) - now)
            if len(recent) >= self.client_per_minute:
                waits.append(recent[0] + 60 - now)
            wait = max(waits)
            if wait > 0:
                return wait
            pair.count, pair.last = pair.count + 1, now
            user.count, user.last = user.count + 1, now
            recent.append(now)
            self._prune(now)
            return 0.0

    def succeeded(self, username: str, client: str) -> None:
        name = short_name(username)
        with self._lock:
            self._pair.pop((name, client), None)
            self._user.pop(name, None)
            self._known.add((name, client))
            if len(self._known) > self.max_keys:
                self._known.clear()

    def _prune(self, now: float) -> None:
        """Forget counters whose wait is long over, then the oldest, to keep at most `max_keys`."""
        for table in (self._pair, self._user):
            if len(table) <= self.max_keys:
                continue
            for key in [k for k, f in table.items() if now - f.last > self.max_wait_s]:
                del table[key]
            if len(table) > self.max_keys:
                oldest = sorted(table, key=lambda k: table[k].last)[: len(table) - self.max_keys // 2]
                for key in oldest:
                    del table[key]
        if len(self._client) > self.max_keys:
            for key in [k for k, q in self._client.items() if not q or now - q[-1] >= 60]:
                del self._client[key]
            while len(self._client) > self.max_keys:
                self._client.pop(next(iter(self._client)))

    def size(self) -> int:
        """How many counters are kept (bounded by 3 × max_keys)."""
        with self._lock:
            return len(self._pair) + len(self._user) + len(self._client)
