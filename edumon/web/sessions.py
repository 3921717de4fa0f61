"""Server-side sessions of the review page, in a small SQLite file next to the warehouse.

The signed cookie carries only a random session id; the record (user, when it
started, when it ends, a fingerprint of the user's password hash) lives here.
Logging out deletes the record, so a copied cookie stops working; a changed
`password_hash` in the config no longer matches the fingerprint, so that
user's older sessions end; `edumon web end-sessions USER` deletes all of a
user's sessions.  SQLite (not the DuckDB warehouse) so logins and session
checks keep working while a monitoring cycle holds the warehouse's lock, and
so another process (the CLI) can end sessions while the page runs.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from core.config import Config, WebUser

SCHEMA = """CREATE TABLE IF NOT EXISTS sessions (
    id_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL, started REAL NOT NULL,
    expires REAL NOT NULL, pw_fingerprint TEXT NOT NULL)"""
FORMS = """CREATE TABLE IF NOT EXISTS used_forms (form_id TEXT PRIMARY KEY, used REAL NOT NULL)"""
FORM_DAYS = 2  # a submitted form id is remembered this long


def sessions_path(cfg: Config) -> Path:
    """Where a config's sessions are kept: `<warehouse path>.sessions.sqlite`."""
    return Path(cfg.warehouse.path + ".sessions.sqlite")


def fingerprint(password_hash: str) -> str:
    """A short digest of a password hash: it changes when the password does."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:32]


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class Sessions:
    """The session records of one review page (safe across threads and processes)."""

    def __init__(self, path: str | Path, lifetime_s: float) -> None:
        self.path = Path(path)
        self.lifetime_s = lifetime_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)
            db.execute(FORMS)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            yield db

    def start(self, user: WebUser, now: float | None = None) -> str:
        """A new session for this user; returns its id (for the cookie)."""
        now = time.time() if now is None else now
        sid = secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE expires <= ?", [now])
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                [_key(sid), user.username, now, now + self.lifetime_s, fingerprint(user.password_hash)],
            )
        return sid

    def user(self, session_id: str | None, users: Sequence[WebUser], now: float | None = None) -> WebUser | None:
        """The user of a live session: None (and the record deleted) when it has ended, expired,
        or the user's password hash changed or the user is gone from the config."""
        if not session_id:
            return None
        now = time.time() if now is None else now
        with self._db() as db:
            row = db.execute(
                "SELECT username, expires, pw_fingerprint FROM sessions WHERE id_sha256 = ?", [_key(session_id)]
            ).fetchone()
            if row is None:
                return None
            username, expires, fp = row
            user = next((u for u in users if u.username == username), None)
            if user is None or expires <= now or fingerprint(user.password_hash) != fp:
                db.execute("DELETE FROM sessions WHERE id_sha256 = ?", [_key(session_id)])
                return None
            return user

    def end(self, session_id: str | None) -> None:
        """Log out: the session's record is deleted."""
        if session_id:
            with self._db() as db:
                db.execute("DELETE FROM sessions WHERE id_sha256 = ?", [_key(session_id)])

    def end_user(self, username: str) -> int:
        """End all of a user's sessions; returns how many there were."""
        with self._db() as db:
            return db.execute("DELETE FROM sessions WHERE username = ?", [username]).rowcount

    def claim_form(self, form_id: str, now: float | None = None) -> bool:
        """True the first time a form id is submitted, False after (a form sent twice is saved once)."""
        now = time.time() if now is None else now
        with self._db() as db:
            db.execute("DELETE FROM used_forms WHERE used < ?", [now - FORM_DAYS * 86400])
            return db.execute("INSERT OR IGNORE INTO used_forms VALUES (?, ?)", [form_id[:64], now]).rowcount == 1

    def release_form(self, form_id: str) -> None:
        """Forget a claimed form id (its change was not saved, so it may be sent again)."""
        with self._db() as db:
            db.execute("DELETE FROM used_forms WHERE form_id = ?", [form_id[:64]])

    def count(self, username: str | None = None) -> int:
        with self._db() as db:
            sql, args = "SELECT count(*) FROM sessions", []
            if username is not None:
                sql, args = sql + " WHERE username = ?", [username]
            return int(db.execute(sql, args).fetchone()[0])
