"""The urgent-alert ledger: what was sent before the warehouse had the mention.

A threat alert must not wait for the warehouse's lock (issue 18, point 7). So a cycle sends
urgent alerts for the mentions it just classified *before* it stores them
(`protocol.urgent`), and records each one here: a small SQLite file beside the warehouse
(`<warehouse>.alerts.sqlite`), which any process can write in milliseconds whoever holds
the DuckDB file. An entry is claimed (`sending`) before the alert goes out and settled
(`sent` / `failed`) after, so a re-run, a second cycle or the review page never sends it
again; `urgent_keys` remembers which mentions (by id, long text and article link) were
alerted, so the same post fetched again, or copied, is not alerted twice.

When the warehouse can be written, `reconcile` (called by `alerts.deliver_pending`, before
anything is delivered) writes each settled entry into `alerts` / `alert_messages` with its
outcome, and marks it reconciled: from then on the warehouse owns it (a failed one is
retried there like any alert), and the ledger keeps only ids, hashes and times (the message,
with the post's text and author, is cleared). Reconciled entries go after `retention.days`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.config import Config
from warehouse import Warehouse

from .db import insert_rows

SCHEMA = """
CREATE TABLE IF NOT EXISTS urgent_alerts (
    alert_id      TEXT PRIMARY KEY,
    mention_id    TEXT NOT NULL,
    cycle_id      TEXT NOT NULL,     -- the cycle that last tried it
    status        TEXT NOT NULL,     -- sending | sent | failed
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    transient     INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    sent_at       TEXT,
    row           TEXT,              -- the alert row as JSON (subject, body, ...) until reconciled
    reconciled_at TEXT
);
CREATE TABLE IF NOT EXISTS urgent_keys (
    key         TEXT PRIMARY KEY,    -- id:<mention id> | text:<hash of the long text> | url:<hash of the article link>
    mention_id  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
"""

_TS = ("created_at", "sent_at")
ALERT_COLS = (
    "alert_id",
    "mention_id",
    "school_id",
    "kind",
    "severity",
    "channel",
    "recipient",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "sent_at",
)
ALERT_TYPES = {
    "attempts": pa.int32(),
    "sent_at": pa.timestamp("us", tz="UTC"),
    "created_at": pa.timestamp("us", tz="UTC"),
    "last_error": pa.string(),
    "mention_id": pa.string(),
}


def ledger_path(cfg: Config) -> Path:
    """`<warehouse>.alerts.sqlite`, beside the database (like its `.lock`)."""
    db = Path(cfg.warehouse.path)
    return db.with_name(db.name + ".alerts.sqlite")


@contextmanager
def connect(cfg: Config) -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode (use `BEGIN IMMEDIATE` for a transaction)."""
    path = ledger_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        con.executescript(SCHEMA)
        yield con
    finally:
        con.close()


def url_key(url: str) -> str:
    return "url:" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


def known(con: sqlite3.Connection, keys: Sequence[str]) -> set[str]:
    """Which of these mention keys an urgent alert was already sent (or claimed) for."""
    if not keys:
        return set()
    marks = ",".join("?" for _ in keys)
    return {r[0] for r in con.execute(f"SELECT key FROM urgent_keys WHERE key IN ({marks})", list(keys))}  # noqa: S608


def _dump(row: dict[str, Any]) -> str:
    return json.dumps({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()})


def _load(text: str) -> dict[str, Any]:
    row = json.loads(text)
    for k in _TS:
        if row.get(k):
            row[k] = datetime.fromisoformat(row[k])
    return row


def claim(
    con: sqlite3.Connection, cycle_id: str, rows: Sequence[dict[str, Any]], keys: dict[str, list[str]], now: datetime
) -> list[dict[str, Any]]:
    """Claim alert rows (`sending`) and their mentions' keys in one transaction; returns the rows
    this call claimed (a row another process claimed first is left to it)."""
    out = []
    con.execute("BEGIN IMMEDIATE")
    try:
        for row in rows:
            cur = con.execute(
                "INSERT OR IGNORE INTO urgent_alerts (alert_id, mention_id, cycle_id, status, created_at, row) "
                "VALUES (?, ?, ?, 'sending', ?, ?)",
                [row["alert_id"], row["mention_id"], cycle_id, now.isoformat(), _dump(row)],
            )
            if cur.rowcount:
                out.append(row)
        for mention_id, ks in keys.items():
            con.executemany(
                "INSERT OR IGNORE INTO urgent_keys VALUES (?, ?, ?)", [(k, mention_id, now.isoformat()) for k in ks]
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return out


def take_retries(con: sqlite3.Connection, cycle_id: str, max_attempts: int) -> list[dict[str, Any]]:
    """Entries the warehouse has not taken over that are worth another try: failed ones below
    `max_attempts`, and ones an earlier cycle claimed but never settled (it died while sending).
    They are claimed for `cycle_id`."""
    con.execute("BEGIN IMMEDIATE")
    try:
        rows = con.execute(
            """SELECT alert_id, row, attempts FROM urgent_alerts
               WHERE reconciled_at IS NULL AND row IS NOT NULL AND cycle_id <> ?
                 AND (status = 'sending' OR (status = 'failed' AND attempts < ?))""",
            [cycle_id, max_attempts],
        ).fetchall()
        con.executemany(
            "UPDATE urgent_alerts SET status = 'sending', cycle_id = ? WHERE alert_id = ?",
            [(cycle_id, r[0]) for r in rows],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return [{**_load(r[1]), "attempts": r[2]} for r in rows]


def settle(con: sqlite3.Connection, alert_id: str, error: str | None, transient: bool, now: datetime) -> None:
    """Record the outcome of one attempt (`error` None: sent)."""
    con.execute(
        """UPDATE urgent_alerts SET status = ?, attempts = attempts + 1, last_error = ?, transient = ?,
                                    sent_at = ? WHERE alert_id = ?""",
        ["sent" if error is None else "failed", error, int(transient), None if error else now.isoformat(), alert_id],
    )


def owned(cfg: Config) -> set[str]:
    """Alert ids the ledger still owns (not reconciled): the warehouse must not deliver these."""
    if not ledger_path(cfg).exists():
        return set()
    with connect(cfg) as con:
        return {r[0] for r in con.execute("SELECT alert_id FROM urgent_alerts WHERE reconciled_at IS NULL")}


def _warehouse_rows(entries: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    out = []
    for status, attempts, last_error, sent_at, row in entries:
        r = _load(row)
        r.update(
            status=status,
            attempts=attempts,
            last_error=last_error,
            sent_at=datetime.fromisoformat(sent_at) if sent_at else None,
        )
        out.append(r)
    return out


def reconcile(cfg: Config, wh: Warehouse, now: datetime) -> int:
    """Write every settled, unreconciled entry into the warehouse's `alerts` and `alert_messages`
    (a row the warehouse raised and never tried takes the ledger's outcome), then mark them
    reconciled and clear their message.  Idempotent; returns the number reconciled."""
    if not ledger_path(cfg).exists():
        return 0
    with connect(cfg) as con:
        entries = con.execute(
            """SELECT status, attempts, last_error, sent_at, row FROM urgent_alerts
               WHERE reconciled_at IS NULL AND status IN ('sent', 'failed') AND row IS NOT NULL"""
        ).fetchall()
        if not entries:
            _prune(con, cfg, now)
            return 0
    rows = _warehouse_rows(entries)
    with wh.transaction() as dcon:
        insert_rows(dcon, "alerts", [{k: r.get(k) for k in ALERT_COLS} for r in rows], ALERT_TYPES)
        insert_rows(
            dcon,
            "alert_messages",
            [{k: r.get(k) for k in ("alert_id", "ref", "subject", "body", "link")} for r in rows],
            {"link": pa.string(), "ref": pa.string()},
        )
        outcome = pa.table(
            {
                "alert_id": [r["alert_id"] for r in rows],
                "status": [r["status"] for r in rows],
                "attempts": pa.array([r["attempts"] for r in rows], pa.int32()),
                "err": pa.array([r["last_error"] for r in rows], pa.string()),
                "sent_at": pa.array([r["sent_at"] for r in rows], pa.timestamp("us", tz="UTC")),
            }
        )
        dcon.register("ledger_outcome", outcome)
        try:
            dcon.execute("""UPDATE alerts SET status = o.status, attempts = o.attempts, last_error = o.err,
                                              sent_at = o.sent_at
                            FROM ledger_outcome o
                            WHERE alerts.alert_id = o.alert_id AND alerts.status = 'pending' AND alerts.attempts = 0""")
        finally:
            dcon.unregister("ledger_outcome")
    with connect(cfg) as con:
        con.executemany(
            "UPDATE urgent_alerts SET reconciled_at = ?, row = NULL WHERE alert_id = ?",
            [(now.isoformat(), r["alert_id"]) for r in rows],
        )
        _prune(con, cfg, now)
    return len(rows)


def _prune(con: sqlite3.Connection, cfg: Config, now: datetime) -> None:
    """Forget reconciled entries (and their keys) older than the retention period."""
    before = (now - timedelta(days=cfg.retention.days)).isoformat()
    con.execute("DELETE FROM urgent_alerts WHERE reconciled_at IS NOT NULL AND created_at < ?", [before])
    con.execute(
        """DELETE FROM urgent_keys WHERE created_at < ?
           AND NOT EXISTS (SELECT 1 FROM urgent_alerts a WHERE a.mention_id = urgent_keys.mention_id)""",
        [before],
    )
