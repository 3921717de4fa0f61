"""The analysts' views and what keeps them correct.

Three views, created by migration 3 (`ANALYST_VIEWS`; a later change is a new
migration with `CREATE OR REPLACE VIEW`, never an edit of this text once released):

- `mentions_pseudonymous`: every mention without author handle, name or id, without
  handle-bearing URLs (Bluesky and Mastodon post URLs carry the handle / acct), reply
  targets, source ids, media or the raw payload; handles and links inside the text are
  masked. The author is `author_pseudonym`, a keyed hash (HMAC-SHA256) that is stable
  across runs as long as the key is.
- `daily_mentions`: one row per local day, school, source, sentiment and harm, with `n`.
- `followup_stats`: per school, week and action: opened, closed, open at the end of the
  week and the median time to close.

Two things a view cannot do, and how we do them:

- The organisation's time zone lives in the config, and the warehouse session runs in
  UTC. The views read it from the `settings` table, which `sync_settings` writes from
  the config whenever a command has the config at hand (purge, export, query; see
  `prepare`). Default: Europe/Amsterdam.
- The pseudonym key lives in the environment (`[analytics] pseudonym_key_env`, default
  `EDUMON_PSEUDONYM_KEY`). Python computes HMAC-SHA256(key, source:author_id) into the
  `pseudonyms` table (`refresh_pseudonyms`), and the view joins it. The key is never
  stored: only its fingerprint (`settings` 'pseudonym_key_id'), recorded with the first
  pseudonyms. A different key is refused (`PseudonymKeyMismatch`) instead of silently giving
  every author a new pseudonym; changing the key on purpose is `rotate=True`
  (`edumon export --rotate-key`), which recomputes them all and records the new fingerprint.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from core.secrets import Secrets
from warehouse.schema import LATEST
from warehouse.viewsql import AUTHOR_KEY_SQL, POSTED_DAY_SQL

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Config
    from core.secrets import Secrets

    from .store import Warehouse


class PseudonymKeyMissing(RuntimeError):
    """The pseudonym key is not set (or too short) in the environment."""


class PseudonymKeyMismatch(PseudonymKeyMissing, ValueError):
    """The key in the environment is not the one the stored pseudonyms were made with."""


MIN_KEY_CHARS = 16
KEY_ID = "pseudonym_key_id"  # the `settings` key holding the fingerprint
ROTATE_HINT = "edumon export --rotate-key"


def pseudonym(key: bytes, author_key: str) -> str:
    """The keyed hash of one author: HMAC-SHA256, first 16 hex characters (64 bits)."""
    return hmac.new(key, author_key.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def key_id(key: bytes) -> str:
    """A fingerprint of the key, safe to store: tells whether the stored pseudonyms used it."""
    return hmac.new(key, b"edumon pseudonym key id", hashlib.sha256).hexdigest()[:16]


def pseudonym_key(cfg: Config, secrets: Secrets | None = None) -> bytes | None:
    """The key from the environment, or None when unset; a too-short key is an error."""

    env = cfg.analytics.pseudonym_key_env
    value = (secrets or Secrets()).get(env)
    if not value:
        return None
    if len(value) < MIN_KEY_CHARS:
        raise PseudonymKeyMissing(
            f"{env} is too short (at least {MIN_KEY_CHARS} characters; make one with "
            f"`python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return value.encode("utf-8")


def require_key(cfg: Config, secrets: Secrets | None = None) -> bytes:
    key = pseudonym_key(cfg, secrets)
    if key is None:
        env = cfg.analytics.pseudonym_key_env
        raise PseudonymKeyMissing(
            f"{env} is not set: the authors' pseudonyms need a secret key in the environment "
            f"(make one with `python -c 'import secrets; print(secrets.token_hex(32))'` and keep it)"
        )
    return key


def check_key(con: duckdb.DuckDBPyConnection, cfg: Config, key: bytes | None) -> None:
    """Refuse a key other than the one whose fingerprint the warehouse holds (none yet: any key)."""
    stored = get_setting(con, KEY_ID)
    if key is None or stored is None or stored == key_id(key):
        return
    raise PseudonymKeyMismatch(
        f"{cfg.analytics.pseudonym_key_env} is not the pseudonym key of this warehouse (its fingerprint is "
        f"{stored}, this key's is {key_id(key)}): with it every author would get a new pseudonym. Set the "
        f"key the warehouse was made with, or change it on purpose with `{ROTATE_HINT}` (docs/privacy.md)"
    )


def verify_key(cfg: Config, wh: Warehouse, secrets: Secrets | None = None) -> None:
    """Before a run: refuse a pseudonym key that does not match the warehouse's (`PseudonymKeyMismatch`).
    Nothing to check without a key, without a warehouse, or while another process holds it (a cycle
    never changes the key: it only warns)."""
    key = pseudonym_key(cfg, secrets)
    if key is None or not wh.path.exists():
        return
    try:
        with wh.connect(read_only=True) as con:
            if schema_version(con) >= 3:
                check_key(con, cfg, key)
    except PseudonymKeyMismatch:
        raise
    except (duckdb.Error, RuntimeError):  # locked (WarehouseLocked is a RuntimeError) or not a warehouse yet
        return


# --- keeping the views' inputs current ----------------------------------------------------


def get_setting(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    rows = con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else None


def set_setting(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute(
        "INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]
    )


def sync_settings(con: duckdb.DuckDBPyConnection, cfg: Config) -> None:
    """Write what the views read from the config (the time zone); a new time zone recomputes
    every mention's stored local day."""
    if get_setting(con, "timezone") != cfg.organisation.timezone:
        set_setting(con, "timezone", cfg.organisation.timezone)
        con.execute(f"UPDATE mentions SET posted_day = {POSTED_DAY_SQL}")


def missing_pseudonyms(con: duckdb.DuckDBPyConnection, key: bytes | None) -> int:
    """How many authors have no pseudonym under this key (all of them when the key changed)."""
    if key is not None and get_setting(con, "pseudonym_key_id") not in (None, key_id(key)):
        return con.execute(f"SELECT count(DISTINCT {AUTHOR_KEY_SQL}) FROM mentions m").fetchall()[0][0]
    return con.execute(f"""SELECT count(DISTINCT {AUTHOR_KEY_SQL}) FROM mentions m
                           WHERE {AUTHOR_KEY_SQL} IS NOT NULL
                             AND NOT EXISTS (SELECT 1 FROM pseudonyms p WHERE p.author_key = {AUTHOR_KEY_SQL})""").fetchall()[
        0
    ][0]


def refresh_pseudonyms(
    con: duckdb.DuckDBPyConnection, key: bytes, cfg: Config | None = None, rotate: bool = False
) -> int:
    """Compute the pseudonyms of authors that have none. A key other than the recorded one is
    refused (`PseudonymKeyMismatch`, needs `cfg` for the message) unless `rotate`: then every
    pseudonym is recomputed under the new key and its fingerprint recorded."""
    kid = key_id(key)
    if get_setting(con, KEY_ID) != kid:
        if not rotate and get_setting(con, KEY_ID) is not None:
            if cfg is None:
                raise PseudonymKeyMismatch("the pseudonym key does not match the warehouse's")
            check_key(con, cfg, key)
        con.execute("DELETE FROM pseudonyms")
        set_setting(con, KEY_ID, kid)
    todo = [
        r[0]
        for r in con.execute(f"""
        SELECT DISTINCT {AUTHOR_KEY_SQL} AS k FROM mentions m
        WHERE {AUTHOR_KEY_SQL} IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM pseudonyms p WHERE p.author_key = {AUTHOR_KEY_SQL})""").fetchall()
    ]
    if not todo:
        return 0
    tbl = pa.table({"author_key": todo, "pseudonym": [pseudonym(key, k) for k in todo]})
    con.register("new_pseudonyms", tbl)
    try:
        con.execute("INSERT INTO pseudonyms SELECT author_key, pseudonym FROM new_pseudonyms ON CONFLICT DO NOTHING")
    finally:
        con.unregister("new_pseudonyms")
    return len(todo)


def drop_orphan_pseudonyms(con: duckdb.DuckDBPyConnection) -> int:
    """Forget pseudonyms of authors with no mention left (after a purge)."""
    rows = con.execute(f"""DELETE FROM pseudonyms p
                           WHERE NOT EXISTS (SELECT 1 FROM mentions m WHERE {AUTHOR_KEY_SQL} = p.author_key)
                           RETURNING author_key""").fetchall()
    return len(rows)


@dataclass
class Prepared:
    """What `prepare` found and did."""

    wrote: bool  # a short write was needed (schema, time zone or pseudonyms)
    unpseudonymised: int  # authors left without a pseudonym (no key in the environment)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    try:
        return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]
    except duckdb.CatalogException:
        return 0


def prepare(wh: Warehouse, cfg: Config, key: bytes | None, rotate: bool = False) -> Prepared:
    """Make the views current for this config and key, writing only when needed.

    Looks with a read-only connection first; only when the schema is behind, the time
    zone differs from the config, or authors lack a pseudonym (and `key` is given) does it
    take one short write transaction (waiting on the lock like any writer). A key other
    than the warehouse's is refused (`PseudonymKeyMismatch`) unless `rotate`.
    """

    with wh.connect(read_only=True) as con:
        version = schema_version(con)
        stale = version < LATEST
        if not stale and not rotate:
            check_key(con, cfg, key)
        if not stale:
            stale = get_setting(con, "timezone") != cfg.organisation.timezone
            missing = missing_pseudonyms(con, key)
            stale = stale or (key is not None and missing > 0)
            stale = stale or (rotate and key is not None and get_setting(con, KEY_ID) != key_id(key))
    if not stale:
        return Prepared(False, missing if key is None else 0)
    with wh.transaction() as con:
        sync_settings(con, cfg)
        if key is not None:
            refresh_pseudonyms(con, key, cfg, rotate)
        missing = missing_pseudonyms(con, key) if key is None else 0
    return Prepared(True, missing)
