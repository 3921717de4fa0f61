"""Retention: personal data is kept no longer than the config says.

The rule (`purgeable`, one SQL statement): a mention goes when

- it was posted before the retention cutoff: kept for `[retention] days` full days
  after the local day it was posted (posted = published, or collected when the
  publication time is unknown or later), removed on the day after; or
- it was deleted at its source (`mentions.deleted_at`, set by `pipeline.deletion`)
  at least `[retention] deleted_at_source_days` days ago (default 0: the next purge);

except while it is tied to an open `report_police` follow-up: then it stays, with its
evidence, until that follow-up is closed. Evidence follows its follow-up: when the
mention goes, its evidence rows, follow-up (and follow-up events, when those tables
exist, and its deletion checks) and orphaned classifications and pseudonyms go in the same transaction, and
its id is remembered (a hash, `purged_mentions`) so a feed cannot store it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from . import spool
from .compact import CompactReport, compact
from .publish import publish, remove_copy
from .store import WarehouseLocked, warehouse_for
from .views import drop_orphan_pseudonyms, get_setting, set_setting, sync_settings

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Config

# Tables whose rows belong to one mention and go with it (when they exist), children first.
DEPENDENT_TABLES = (
    "evidence",
    "followup_events",
    "followup_school_decisions",
    "followups",
    "deletion_checks",
    "triage",
    "flags",
    "label_feedback",
    "protocol_done",
)

# A `settings` key: set by a purge that removed something, cleared by the compaction that
# rewrites the file without the freed blocks (so a compaction a crash interrupted runs next time).
COMPACTION_DUE = "compaction_due"


@dataclass
class PurgeReport:
    now: datetime
    cutoff: datetime  # mentions posted before this instant are expired
    cutoff_day: date  # ... which is the start of this local day
    deleted_cutoff: datetime  # mentions deleted at the source before this instant go
    days: int
    dry_run: bool = False
    expired: int = 0  # purged because of their age
    deleted_at_source: int = 0  # purged because they were deleted at the source (and not expired)
    kept_for_police: int = 0  # would go, but tied to an open report_police follow-up
    removed: dict[str, int] = field(default_factory=dict)  # table -> rows deleted (besides mentions)
    tombstones_expired: int = 0
    mention_ids: list[str] = field(default_factory=list)
    spool_files: int = 0  # spool files removed or rewritten without purged mentions
    compaction: CompactReport | None = None  # the file rewritten without the deleted rows' blocks
    compaction_postponed: str | None = None  # why it could not run now (the next purge does it)
    analysts_copy: str | None = None  # what became of the analysts' copy (published again, or removed)

    @property
    def mentions(self) -> int:
        return self.expired + self.deleted_at_source

    def summary(self) -> str:
        """One line for a person (CLI, flow log)."""
        verb = "would remove" if self.dry_run else "removed"
        parts = [
            f"{verb} {self.mentions} mentions ({self.expired} posted before "
            f"{self.cutoff_day.isoformat()}, {self.deleted_at_source} deleted at the source)"
        ]
        extra = ", ".join(f"{n} {t}" for t, n in self.removed.items() if n)
        if extra:
            parts.append(f"with {extra}")
        parts.append(f"kept {self.kept_for_police} tied to an open police report")
        if self.spool_files:
            parts.append(f"{self.spool_files} spool files cleaned")
        if self.compaction is not None:
            parts.append(self.compaction.summary())
        if self.compaction_postponed:
            parts.append(self.compaction_postponed)
        if self.analysts_copy:
            parts.append(self.analysts_copy)
        return f"purge (retention {self.days} days): " + "; ".join(parts)


def retention_cutoff(now: datetime, days: int, tz: str) -> datetime:
    """The instant (UTC) before which a post is expired: local midnight starting the day
    `days` days before today. A post from that day is kept (it is `days` days old), one
    from the day before goes."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=days), time(0), tzinfo=zone)
    return start.astimezone(timezone.utc)


def deleted_cutoff(now: datetime, days: int) -> datetime:
    """Mentions deleted at the source at or before this instant go."""
    return now.astimezone(timezone.utc) - timedelta(days=days)


PURGEABLE_SQL = """
SELECT m.mention_id,
       least(coalesce(m.published_at, m.fetched_at), m.fetched_at) < $cutoff AS expired,
       m.deleted_at IS NOT NULL AND m.deleted_at <= $deleted_cutoff          AS gone,
       EXISTS (SELECT 1 FROM followups f
               WHERE f.mention_id = m.mention_id
                 AND f.action = 'report_police' AND f.status = 'open')        AS police_open
FROM mentions m
WHERE least(coalesce(m.published_at, m.fetched_at), m.fetched_at) < $cutoff
   OR (m.deleted_at IS NOT NULL AND m.deleted_at <= $deleted_cutoff)
ORDER BY m.mention_id
"""


def purgeable(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, deleted_before: datetime
) -> list[tuple[str, bool, bool, bool]]:
    """(mention_id, expired, deleted at source, open police report) of every mention the rule touches."""
    return con.execute(PURGEABLE_SQL, {"cutoff": cutoff, "deleted_cutoff": deleted_before}).fetchall()


def _tables_with_mention_id(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("""SELECT table_name FROM information_schema.columns
                          WHERE column_name = 'mention_id' AND table_schema = current_schema()""").fetchall()
    return {r[0] for r in rows}


def _referenced_by_foreign_key(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute("""SELECT count(*) FROM duckdb_constraints()
                               WHERE constraint_type = 'FOREIGN KEY' AND referenced_table = 'mentions'""").fetchall()[
            0
        ][0]
    )


def _select_ids(rows: list[tuple[str, bool, bool, bool]], report: PurgeReport) -> tuple[list[str], list[str]]:
    """The mentions that go and why; counts them (and the ones an open police report keeps)."""
    ids: list[str] = []
    reasons: list[str] = []
    for mid, expired, _gone, police in rows:
        if police:
            report.kept_for_police += 1
            continue
        ids.append(mid)
        reasons.append("retention" if expired else "deleted_at_source")
        if expired:
            report.expired += 1
        else:
            report.deleted_at_source += 1
    return ids, reasons


def _remove(con: duckdb.DuckDBPyConnection, table: str, where: str, params: dict | None, dry_run: bool) -> int:
    """Delete (or, in a dry run, count) the rows of `table` matching `where`."""
    if dry_run:
        return con.execute(f"SELECT count(*) FROM {table} WHERE {where}", params or {}).fetchall()[0][0]
    return len(con.execute(f"DELETE FROM {table} WHERE {where} RETURNING 1", params or {}).fetchall())


# What goes with the purged mentions (`purge_ids`, registered) besides their own rows, before
# `mentions` itself: the texts of alerts about them, and of escalations that quote them or their
# parent post, and the cached labels of their texts (when no other stored mention has that text).
_WITH_MENTIONS = (
    (
        "alert_messages",
        """ref IN (SELECT mention_id FROM purge_ids)
           OR alert_id IN (SELECT alert_id FROM alerts WHERE mention_id IN (SELECT mention_id FROM purge_ids))
           OR ref IN (SELECT e.escalation_id FROM escalations e, purged_keys k
                      WHERE list_contains(e.mention_ids, k.mention_id) OR e.key = k.parent_key)""",
    ),
    ("escalations", "key IN (SELECT parent_key FROM purged_keys)"),
    (
        "classifications",
        """text_hash IN (SELECT text_hash FROM purged_keys)
           AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.text_hash = classifications.text_hash
                           AND m.mention_id NOT IN (SELECT mention_id FROM purge_ids))""",
    ),
)

# What goes by age alone (`$cutoff`): alerts older than the retention period whose mention is
# not stored (escalations, source health, purged mentions) with their texts, escalation episodes
# last seen before it, and fetch logs (their errors may quote what a source answered).
_BY_AGE = (
    (
        "alert_messages",
        """alert_id IN (SELECT a.alert_id FROM alerts a WHERE a.created_at < $cutoff
                        AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.mention_id = a.mention_id))""",
    ),
    (
        "alerts",
        "created_at < $cutoff AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.mention_id = alerts.mention_id)",
    ),
    ("escalations", "last_seen_at < $cutoff"),
    ("source_runs", "started_at < $cutoff"),
)


def _remove_with_mentions(con: duckdb.DuckDBPyConnection, report: PurgeReport, dry_run: bool) -> None:
    """The purged mentions' own rows (`DEPENDENT_TABLES`) and what quotes them (`_WITH_MENTIONS`)."""
    present = _tables_with_mention_id(con)
    keys = con.execute("""SELECT m.mention_id, m.text_hash, m.source || ':' || m.source_id
                          FROM mentions m WHERE m.mention_id IN (SELECT mention_id FROM purge_ids)""").fetchall()
    cols = ("mention_id", "text_hash", "parent_key")
    con.register("purged_keys", pa.table({c: pa.array([k[i] for k in keys], pa.string()) for i, c in enumerate(cols)}))
    try:
        for table in DEPENDENT_TABLES:
            if table in present:
                n = _remove(con, table, "mention_id IN (SELECT mention_id FROM purge_ids)", None, dry_run)
                report.removed[table] = n
        for table, where in _WITH_MENTIONS:
            report.removed[table] = report.removed.get(table, 0) + _remove(con, table, where, None, dry_run)
        gone = [k[0] for k in keys]
        episodes = con.execute("SELECT count(*) FROM escalations").fetchall()[0][0]
        if gone and episodes and not dry_run:  # episodes that stay forget the purged mentions' ids
            con.execute(
                """UPDATE escalations SET mention_ids = list_filter(mention_ids, lambda x: NOT list_contains($ids, x))
                   WHERE list_has_any(mention_ids, $ids)""",
                {"ids": gone},
            )
    finally:
        con.unregister("purged_keys")


def apply(con: duckdb.DuckDBPyConnection, cfg: Config, now: datetime, dry_run: bool = False) -> PurgeReport:
    """Run the rule on an open connection (inside the caller's transaction)."""
    ret = cfg.retention
    cutoff = retention_cutoff(now, ret.days, cfg.organisation.timezone)
    report = PurgeReport(
        now=now,
        cutoff=cutoff,
        cutoff_day=cutoff.astimezone(ZoneInfo(cfg.organisation.timezone)).date(),
        deleted_cutoff=deleted_cutoff(now, ret.deleted_at_source_days),
        days=ret.days,
        dry_run=dry_run,
    )
    ids, reasons = _select_ids(purgeable(con, report.cutoff, report.deleted_cutoff), report)
    report.mention_ids = ids
    con.register("purge_ids", pa.table({"mention_id": pa.array(ids, pa.string()), "reason": reasons}))
    try:
        _remove_with_mentions(con, report, dry_run)
        if dry_run:
            return report
        if _referenced_by_foreign_key(con):
            # DuckDB cannot delete a referenced row in the transaction that deleted its referrers:
            # commit the dependents first (a crash in between leaves mentions the next purge removes).
            con.execute("COMMIT")
            con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM mentions WHERE mention_id IN (SELECT mention_id FROM purge_ids)")
        con.execute(
            """INSERT INTO purged_mentions SELECT mention_id, $now, reason FROM purge_ids
                       ON CONFLICT DO NOTHING""",
            {"now": now},
        )
    finally:
        con.unregister("purge_ids")
    _remove_by_age(con, report, cutoff)
    report.removed["pseudonyms"] = drop_orphan_pseudonyms(con)
    report.tombstones_expired = len(
        con.execute(
            "DELETE FROM purged_mentions WHERE purged_at < $t RETURNING 1",
            {"t": now - timedelta(days=ret.tombstone_days)},
        ).fetchall()
    )
    if report.mentions or any(report.removed.values()):
        set_setting(con, COMPACTION_DUE, now.isoformat())
    return report


def _remove_by_age(con: duckdb.DuckDBPyConnection, report: PurgeReport, cutoff: datetime) -> None:
    # Cached labels of texts no stored mention carries any more, once past the cutoff themselves.
    report.removed["classifications"] = report.removed.get("classifications", 0) + _remove(
        con,
        "classifications c",
        "c.classified_at < $cutoff AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.text_hash = c.text_hash)",
        {"cutoff": cutoff},
        False,
    )
    for table, where in _BY_AGE:
        report.removed[table] = report.removed.get(table, 0) + _remove(con, table, where, {"cutoff": cutoff}, False)


def purge(cfg: Config, now: datetime | None = None, dry_run: bool = False, compact_file: bool = True) -> PurgeReport:
    """Apply the retention policy to the configured warehouse in one transaction, then
    remove what the spool holds of purged mentions and compact the file (`warehouse.compact`)
    so that the deleted rows are gone from its bytes too.

    `now` is for tests; `dry_run` counts without deleting; `compact_file=False` leaves the
    compaction to the next purge (it stays due). Safe to run any time, as often as wanted:
    a second run removes nothing more.
    """
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    wh = warehouse_for(cfg)
    if dry_run:
        if not wh.path.exists():
            raise FileNotFoundError(f"{wh.path}: no warehouse here yet (run a cycle first)")
        wh.migrate()  # the views and tables the rule reads
        with wh.connect(read_only=True) as con:
            return apply(con, cfg, now, dry_run=True)
    with wh.transaction() as con:
        sync_settings(con, cfg)
        report = apply(con, cfg, now)
        spooled = spool.spool_dir_for(cfg)
        purged: set[str] = set()
        if spooled.exists() and any(spooled.iterdir()):  # the ids only when there is a spool to clean
            purged = {r[0] for r in con.execute("SELECT mention_id FROM purged_mentions").fetchall()}
        due = get_setting(con, COMPACTION_DUE) is not None
    report.spool_files = spool.scrub(spooled, purged, report.cutoff)
    if due and compact_file:
        try:
            report.compaction = compact(wh, clear_setting=COMPACTION_DUE)
        except WarehouseLocked as e:  # the purge itself is done; the compaction stays due
            report.compaction_postponed = f"compaction postponed to the next purge: {e}"
    if report.mentions:
        report.analysts_copy = refresh_analysts_copy(cfg)
    return report


def refresh_analysts_copy(cfg: Config) -> str:
    """After a purge that removed posts, the analysts' copy must not keep them: publish it
    again, or, when that cannot be done now (the main file locked, no pseudonym key), remove
    it (the next cycle, query or export publishes a new one)."""
    try:
        return publish(cfg).summary()
    except Exception as e:  # noqa: BLE001 - whatever stops the publish, the stale copy goes
        remove_copy(cfg)
        return f"analysts' copy removed, not published again ({type(e).__name__}); the next cycle publishes it"
