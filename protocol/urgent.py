"""Urgent alerts before the store: a threat never waits for the warehouse's lock.

A cycle classifies its new mentions before it writes them. `send_urgent` triages them
right there (the same `review.mention_triage` the protocol uses on stored mentions) and
sends the alerts triage decided are urgent (`alert`, urgency `urgent`: threats) at once,
whoever holds the DuckDB file, recording each in the ledger (`protocol.ledger`) so it goes
out exactly once. Storing, follow-ups and evidence follow as before; when the store
succeeds, the protocol raises the same alert (same id) and `alerts.deliver_pending`
reconciles it from the ledger as already sent.

A mention is new for this purpose unless the ledger already alerted it (by id, long text or
article link), or the warehouse, if it can be read within a second, already holds it (the
same keys `upsert_mentions` de-duplicates on) or purged it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from core.config import Config
from core.mention import Mention, utcnow
from core.secrets import Secrets
from warehouse import Warehouse, WarehouseLocked, mentions_to_arrow

from . import alerts, ledger, review

log = logging.getLogger("edumon.alerts")

QUICK_READ_S = 1.0  # how long the check "already stored?" may wait for the warehouse's lock


@dataclass
class UrgentReport:
    sent: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # rows with `last_error` and `transient`
    attempted: list[str] = field(default_factory=list)  # alert ids tried by this step (not again this cycle)
    merged: bool = False  # added to the cycle's ActionsReport already


def mention_keys(m: Mention) -> list[str]:
    """The keys a mention is de-duplicated on: its id, its long text, its article link."""
    row = mentions_to_arrow([m]).to_pylist()[0]
    keys = [f"id:{m.mention_id}"]
    if row["dedup_hash"]:
        keys.append(f"text:{row['dedup_hash']}")
    if row["canonical_url"]:
        keys.append(ledger.url_key(row["canonical_url"]))
    return keys


def candidates(cfg: Config, mentions: Sequence[Mention]) -> list[tuple[Mention, review.Triage, list[str]]]:
    """The classified mentions triage sends to a leader as urgent, first occurrence of each key only."""
    out, seen = [], set()
    for m in mentions:
        t = review.mention_triage(cfg, m)
        if t is None or t.decision != "alert" or t.urgency != "urgent" or not t.kind:
            continue
        keys = mention_keys(m)
        if seen & set(keys):
            continue
        seen.update(keys)
        out.append((m, t, keys))
    return out


def stored_already(cfg: Config, mentions: Sequence[Mention]) -> set[str]:
    """Ids of these mentions the warehouse holds (or purged) by the `upsert_mentions` keys; empty
    when it cannot be read within `QUICK_READ_S` (the ledger alone decides then)."""
    wh = Warehouse(cfg.warehouse.path, lock_timeout_s=min(QUICK_READ_S, cfg.warehouse.lock_timeout_s))
    if not mentions or not wh.path.exists():
        return set()
    try:
        with wh.connect(read_only=True) as con:
            con.register("urgent_in", mentions_to_arrow(mentions))
            rows = con.execute("""
                SELECT i.mention_id FROM urgent_in i
                WHERE EXISTS (SELECT 1 FROM mentions m WHERE m.mention_id = i.mention_id)
                   OR EXISTS (SELECT 1 FROM purged_mentions p WHERE p.mention_id = i.mention_id)
                   OR (i.dedup_hash IS NOT NULL AND EXISTS (SELECT 1 FROM mentions m WHERE m.text_hash = i.dedup_hash))
                   OR (i.canonical_url IS NOT NULL
                       AND EXISTS (SELECT 1 FROM mentions m WHERE m.canonical_url = i.canonical_url))""").fetchall()
    except (WarehouseLocked, duckdb.Error) as e:
        log.info("urgent alerts: warehouse not readable now (%s); the ledger decides what is new", e)
        return set()
    return {r[0] for r in rows}


def send_urgent(
    cfg: Config, mentions: Sequence[Mention], secrets: Secrets, cycle_id: str, now: datetime | None = None
) -> UrgentReport:
    """Send the urgent alerts for these classified (not yet stored) mentions, and retry the
    ledger's earlier failures the warehouse has not taken over; never raises."""
    now = now or utcnow()
    out = UrgentReport()
    try:
        todo = _claim(cfg, mentions, cycle_id, now)
    except Exception as e:  # the ledger unreadable: the protocol still alerts after the store
        log.warning("urgent alerts not sent before the store: %s: %s", type(e).__name__, e)
        return out
    if not todo:
        return out
    client = alerts._client(cfg.alerts.timeout_s) if any(r["channel"] == "webhook" for r in todo) else None
    try:
        for row in todo:
            _send_one(cfg, row, secrets, client, now, out)
    finally:
        if client is not None:
            client.close()
    return out


def _claim(cfg: Config, mentions: Sequence[Mention], cycle_id: str, now: datetime) -> list[dict[str, Any]]:
    found = candidates(cfg, mentions)
    if not found and not ledger.ledger_path(cfg).exists():
        return []  # nothing to send, nothing to retry
    with ledger.connect(cfg) as con:
        retries = ledger.take_retries(con, cycle_id, cfg.alerts.max_attempts)
        if found:
            seen = ledger.known(con, [k for _, _, keys in found for k in keys])
            found = [c for c in found if not seen & set(c[2])]
    if found:
        stored = stored_already(cfg, [m for m, _, _ in found])
        found = [c for c in found if c[0].mention_id not in stored]
    rows = [r for m, t, _ in found for r in review.alert_for(cfg, m, t.kind or "threat", t.reason, now)]
    with ledger.connect(cfg) as con:
        claimed = ledger.claim(con, cycle_id, rows, {m.mention_id: keys for m, _, keys in found}, now)
    return retries + claimed


def _send_one(
    cfg: Config, row: dict[str, Any], secrets: Secrets, client: Any, now: datetime, out: UrgentReport
) -> None:
    error, transient = None, False
    try:
        alerts.deliver(cfg, row, secrets, client)
    except alerts.DeliveryError as e:
        error, transient = str(e), e.transient
    except Exception as e:  # a bug in one channel must not stop the others
        error = f"{type(e).__name__}: {e}"[:500]
    with ledger.connect(cfg) as con:
        ledger.settle(con, row["alert_id"], error, transient, now)
    out.attempted.append(row["alert_id"])
    if error is None:
        out.sent.append({**row, "status": "sent"})
    else:
        log.warning("urgent alert %s via %s failed: %s", row["alert_id"], row["channel"], error)
        out.failed.append({**row, "status": "failed", "last_error": error, "transient": transient})
