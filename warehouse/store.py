"""The DuckDB warehouse: short connections, lock retries, idempotent batch writes.

DuckDB lets one process hold a read-write connection to a file, and that
locks it for every other process, readers included.  So every operation
opens a connection, does its work in one transaction and closes it; when
another process holds the lock we wait and retry up to `lock_timeout_s`,
then raise `WarehouseLocked`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from core.mention import Mention

from .rows import MENTION_SCHEMA, mentions_to_arrow
from .schema import LATEST, MIGRATIONS
from .viewsql import POSTED_DAY_SQL

T = TypeVar("T")

# The longest pause between two tries for a locked file: short, because a busy writer frees the file
# only between its transactions, and a try that comes seldom keeps missing those gaps.
LOCK_RETRY_MAX_S = 0.2


class WarehouseLocked(RuntimeError):
    """Another process held the database lock for longer than we were willing to wait."""


class SchemaTooNew(RuntimeError):
    """The warehouse was migrated by a newer edumon than this one: refuse to touch it."""

    def __init__(self, path: Path, version: int) -> None:
        super().__init__(
            f"{path}: the warehouse is at schema {version}, this edumon knows up to {LATEST}: upgrade edumon"
        )
        self.version = version


def _is_lock_error(e: Exception) -> bool:
    msg = str(e).lower()
    return "lock" in msg and ("conflicting" in msg or "could not set lock" in msg)


@dataclass
class UpsertResult:
    inserted: int
    duplicates: int
    inserted_ids: list[str]


_MENTION_COLS = [f.name for f in MENTION_SCHEMA if f.name not in ("dedup_hash", "ord")]
# The INSERT column list and the SELECT list that turn an Arrow batch into `mentions` rows
# (maps become JSON in DuckDB, the local day is computed there).
INSERT_COLS = ", ".join(_MENTION_COLS + ["posted_day"])
MENTION_SELECT = ", ".join(
    [f"to_json({c}) AS {c}" if c in ("scores", "metrics") else c for c in _MENTION_COLS]
    + [f"{POSTED_DAY_SQL} AS posted_day"]
)


class Warehouse:
    """One DuckDB file.  Every method opens and closes its own connection."""

    def __init__(self, path: str | Path, lock_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self._migrated = False
        self._schema_checked = False

    # --- connections ---------------------------------------------------------------------
    def retry_locked(self, open_it: Callable[[], T]) -> T:
        """`open_it()` (a connect or an ATTACH of this file), retried with backoff while another
        process holds the file's lock; `WarehouseLocked` after `lock_timeout_s`."""
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                return open_it()
            except duckdb.Error as e:
                if not _is_lock_error(e):
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseLocked(
                        f"{self.path}: the database is locked by another process (waited {self.lock_timeout_s:g} s)"
                    ) from None
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, LOCK_RETRY_MAX_S)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection, retried while another process holds the lock."""
        if read_only and not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no warehouse here yet (run a cycle first)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self.retry_locked(lambda: duckdb.connect(str(self.path), read_only=read_only))
        try:
            if not self._schema_checked:
                check_schema(con, self.path)  # before anything is written (no migration, no SET)
                self._schema_checked = True
            con.execute("SET TimeZone = 'UTC'")
            if not read_only and not self._migrated:
                migrate(con)
                self._migrated = True
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside one transaction (rolled back on error)."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def migrate(self) -> int:
        """Create or upgrade the schema; returns the schema version."""
        return self.upgrade()[1]

    def upgrade(self) -> tuple[int | None, int]:
        """Apply the migrations the file lacks: (the version before, the version now); None
        before means a new file.  A file at a newer schema raises `SchemaTooNew`, unchanged."""
        self._migrated = True  # this call migrates, not `connect`
        try:
            with self.connect() as con:
                before = schema_version(con)
                after = migrate(con)
        except BaseException:
            self._migrated = False
            raise
        return before, after

    # --- reads ---------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read-only query and return all rows."""
        with self.connect(read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def query_dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        with self.connect(read_only=True) as con:
            cur = con.execute(sql, params or [])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def states(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The cursor state of every target, keyed by (source, target)."""
        if not self.path.exists():
            return {}
        if not self._migrated:
            self.migrate()
        rows = self.query("SELECT source, target, state FROM source_state")
        return {(s, t): json.loads(st) for s, t, st in rows}

    def cached_labels(self, hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored classifications for these text hashes."""
        if not hashes or not self.path.exists():
            return {}
        if not self._migrated:
            self.migrate()
        tbl = pa.table({"h": list(set(hashes))})
        with self.connect(read_only=True) as con:
            con.register("wanted", tbl)
            cur = con.execute("""SELECT c.text_hash, c.sentiment, c.harm, c.harm_kind, c.scores, c.cues, c.classifier
                                 FROM classifications c JOIN wanted w ON w.h = c.text_hash""")
            out = {}
            for h, s, hm, hk, sc, cues, clf in cur.fetchall():
                out[h] = {
                    "sentiment": s,
                    "harm": hm,
                    "harm_kind": hk,
                    "scores": json.loads(sc) if sc else {},
                    "cues": list(cues or []),
                    "classifier": clf,
                }
            return out


def warehouse_for(cfg: Any) -> Warehouse:
    """The warehouse of a config (`cfg.warehouse.path`, `cfg.warehouse.lock_timeout_s`)."""
    return Warehouse(cfg.warehouse.path, lock_timeout_s=cfg.warehouse.lock_timeout_s)


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The newest migration applied to the database of `con`; None when it has no
    `schema_version` table (a new, empty file).  Reads only."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return None
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return row[0] if row and row[0] is not None else None


def check_schema(con: duckdb.DuckDBPyConnection, path: Path | str) -> int | None:
    """Raise `SchemaTooNew` when the database is at a schema this code does not know (a newer
    edumon migrated it); reads only.  Returns the schema version (None: no schema yet)."""
    version = schema_version(con)
    if version is not None and version > LATEST:
        raise SchemaTooNew(Path(path), version)
    return version


def migrate(con: duckdb.DuckDBPyConnection, upto: int | None = None) -> int:
    """Apply the migrations the database lacks, each in its own transaction (up to and including
    `upto`, for tests that build an older release's schema); returns the schema version.
    A database at a newer schema than this code knows raises `SchemaTooNew` before any write."""
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    check_schema(con, path[0] if path and path[0] else ":memory:")
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)"
    )
    applied = {r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()}
    for version, name, sql in sorted(MIGRATIONS):
        if version in applied or (upto is not None and version > upto):
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [version, name])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return LATEST if upto is None else min(upto, LATEST)


def upsert_mentions(con: duckdb.DuckDBPyConnection, mentions: Sequence[Mention]) -> UpsertResult:
    """Insert mentions not stored yet, in one batch from Arrow.

    A mention is already stored when its `mention_id` is (same post, or same
    canonical link for articles), or when a stored mention has the same
    normalised text (of at least `MIN_DEDUP_TEXT` characters).  Within the
    batch the first occurrence wins.  Nothing is ever inserted twice, and a
    mention the retention policy purged (`purged_mentions`) is not stored again.
    """
    if not mentions:
        return UpsertResult(0, 0, [])
    tbl = mentions_to_arrow(mentions)
    con.register("incoming", tbl)
    try:
        # 1. decide on the keys alone which rows are new (first occurrence in the batch, and
        #    neither the id, the long text nor the canonical link stored or purged before) ...
        con.execute("""
            CREATE OR REPLACE TEMP TABLE upsert_keep AS
            WITH ranked AS (
                SELECT ord, mention_id, dedup_hash, canonical_url,
                       row_number() OVER (PARTITION BY mention_id ORDER BY ord) AS r_id,
                       row_number() OVER (PARTITION BY coalesce(dedup_hash, mention_id) ORDER BY ord) AS r_text,
                       row_number() OVER (PARTITION BY coalesce(canonical_url, mention_id) ORDER BY ord) AS r_url
                FROM incoming
            )
            SELECT ord, mention_id FROM ranked i
            WHERE r_id = 1 AND r_text = 1 AND r_url = 1
              AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.mention_id = i.mention_id)
              AND NOT EXISTS (SELECT 1 FROM purged_mentions p WHERE p.mention_id = i.mention_id)
              AND (i.dedup_hash IS NULL OR NOT EXISTS (SELECT 1 FROM mentions m WHERE m.text_hash = i.dedup_hash))
              AND (i.canonical_url IS NULL OR NOT EXISTS (SELECT 1 FROM mentions m WHERE m.canonical_url = i.canonical_url))
        """)
        # 2. ... then read the wide rows once, for those only (the writer holds the only lock,
        #    so nothing can insert in between).
        con.execute(
            f"INSERT INTO mentions ({INSERT_COLS}) SELECT {MENTION_SELECT} FROM incoming "
            "SEMI JOIN upsert_keep USING (ord)"
        )
        rows = con.execute("SELECT mention_id FROM upsert_keep ORDER BY ord").fetchall()
        con.execute("DROP TABLE upsert_keep")
    finally:
        con.unregister("incoming")
    ids = [r[0] for r in rows]
    return UpsertResult(len(ids), len(mentions) - len(ids), ids)


def save_labels(con: duckdb.DuckDBPyConnection, labelled: Sequence[Mention]) -> None:
    """Cache classifications by text hash (first one wins)."""
    seen: dict[str, Mention] = {}
    for m in labelled:
        if m.sentiment and m.harm and m.text_hash not in seen:
            seen[m.text_hash] = m
    if not seen:
        return
    now = datetime.now(timezone.utc)
    tbl = pa.table(
        {
            "text_hash": list(seen),
            "sentiment": [m.sentiment for m in seen.values()],
            "harm": [m.harm for m in seen.values()],
            "harm_kind": [m.harm_kind for m in seen.values()],
            "scores": [json.dumps(m.scores) for m in seen.values()],
            "cues": [list(m.cues) for m in seen.values()],
            "classifier": [m.classifier or "" for m in seen.values()],
            "classified_at": pa.array([now] * len(seen), pa.timestamp("us", tz="UTC")),
        }
    )
    con.register("labels_in", tbl)
    try:
        con.execute("INSERT INTO classifications SELECT * FROM labels_in ON CONFLICT DO NOTHING")
    finally:
        con.unregister("labels_in")


def save_state(con: duckdb.DuckDBPyConnection, source: str, target: str, state: dict[str, Any]) -> None:
    """Keep a target's cursor; an unchanged cursor is not rewritten (`updated_at` is when it moved)."""
    con.execute(
        """INSERT INTO source_state VALUES (?, ?, ?, now())
                   ON CONFLICT (source, target) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                   WHERE source_state.state IS DISTINCT FROM excluded.state""",
        [source, target, json.dumps(state, default=str)],
    )


def record_run(
    con: duckdb.DuckDBPyConnection,
    *,
    cycle_id: str,
    source: str,
    target: str,
    status: str,
    error: str | None,
    http_status: int | None,
    requests: int,
    fetched: int,
    relevant: int,
    new: int,
    started_at: datetime,
    finished_at: datetime,
    newest_item_at: datetime | None = None,
) -> str:
    """Record one fetch of one target.  The run id is derived from (cycle, source, target), so
    writing the same cycle again (a spool replayed after a crash) records it once."""
    run_id = hashlib.sha256(f"{cycle_id}\x1f{source}\x1f{target}".encode()).hexdigest()[:32]
    con.execute(
        "INSERT INTO source_runs (run_id, cycle_id, source, target, status, error, http_status, requests, fetched,"
        " relevant, new, started_at, finished_at, duration_ms, newest_item_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
            run_id,
            cycle_id,
            source,
            target,
            status,
            error,
            http_status,
            requests,
            fetched,
            relevant,
            new,
            started_at,
            finished_at,
            (finished_at - started_at).total_seconds() * 1000,
            newest_item_at,
        ],
    )
    return run_id
