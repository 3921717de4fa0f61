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

from .store import warehouse_for
from .views import drop_orphan_pseudonyms, sync_settings

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
)


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
    rows = purgeable(con, report.cutoff, report.deleted_cutoff)
    ids: list[str] = []
    reasons: list[str] = []
    for mid, expired, gone, police in rows:
        if police:
            report.kept_for_police += 1
            continue
        ids.append(mid)
        reasons.append("retention" if expired else "deleted_at_source")
        if expired:
            report.expired += 1
        else:
            report.deleted_at_source += 1
    report.mention_ids = ids
    present = _tables_with_mention_id(con)
    con.register("purge_ids", pa.table({"mention_id": ids, "reason": reasons}))
    try:
        for table in DEPENDENT_TABLES:
            if table not in present:
                continue
            if dry_run:
                n = con.execute(
                    f"SELECT count(*) FROM {table} WHERE mention_id IN (SELECT mention_id FROM purge_ids)"
                ).fetchall()[0][0]
            else:
                n = len(
                    con.execute(
                        f"DELETE FROM {table} WHERE mention_id IN (SELECT mention_id FROM purge_ids) RETURNING 1"
                    ).fetchall()
                )
            report.removed[table] = n
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
    # Cached labels of texts no stored mention carries any more, once past the cutoff themselves.
    report.removed["classifications"] = len(
        con.execute(
            """
        DELETE FROM classifications c
        WHERE c.classified_at < $cutoff
          AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.text_hash = c.text_hash) RETURNING 1""",
            {"cutoff": cutoff},
        ).fetchall()
    )
    report.removed["pseudonyms"] = drop_orphan_pseudonyms(con)
    report.tombstones_expired = len(
        con.execute(
            "DELETE FROM purged_mentions WHERE purged_at < $t RETURNING 1",
            {"t": now - timedelta(days=ret.tombstone_days)},
        ).fetchall()
    )
    return report


def purge(cfg: Config, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Apply the retention policy to the configured warehouse in one transaction.

    `now` is for tests; `dry_run` counts without deleting. Safe to run any time, as
    often as wanted: a second run removes nothing more.
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
        return apply(con, cfg, now)
