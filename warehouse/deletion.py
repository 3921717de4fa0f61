"""Posts deleted at their source: marked here, removed by the retention purge.

`check_deleted(cfg, lookup)` asks an injected `lookup(mention) -> bool | None` about
every stored Bluesky/Mastodon mention not marked yet (True: still there, False: gone
at the source, None: could not tell) and marks the gone ones with `mark_deleted`.
No connection is held while the lookups run. `warehouse.retention.purge` then removes
marked mentions (after `[retention] deleted_at_source_days`, default at the next purge),
except while an open `report_police` follow-up needs them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import pyarrow as pa

from edumon.mention import Mention

from .store import Warehouse

if TYPE_CHECKING:  # pragma: no cover
    from edumon.config import Config

log = logging.getLogger("edumon.deletion")

Lookup = Callable[[Mention], "bool | None"]


def mark_deleted(wh: Warehouse, mention_ids: Iterable[str], when: datetime) -> int:
    """Mark these mentions as deleted at the source at `when`; returns how many were newly
    marked (an id marked before keeps its first time; unknown ids are ignored)."""
    ids = sorted(set(mention_ids))
    if not ids:
        return 0
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when
    with wh.transaction() as con:
        con.register("gone_ids", pa.table({"mention_id": ids}))
        try:
            rows = con.execute("""UPDATE mentions SET deleted_at = $when
                                  WHERE deleted_at IS NULL AND mention_id IN (SELECT mention_id FROM gone_ids)
                                  RETURNING mention_id""", {"when": when}).fetchall()
        finally:
            con.unregister("gone_ids")
    return len(rows)


@dataclass
class DeletionReport:
    checked: int = 0
    gone: int = 0            # the lookup said: not found at the source
    unknown: int = 0         # the lookup could not tell (error, rate limit): asked again next time
    marked: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"checked {self.checked} posts at their source: {self.gone} deleted there (marked {self.marked}), "
                f"{self.unknown} could not be checked")


def candidates(wh: Warehouse, sources: Sequence[str]) -> list[Mention]:
    """Stored, unmarked mentions from these sources, as `Mention`s for the lookup."""
    if not wh.path.exists():
        return []
    wh.migrate()
    with wh.connect(read_only=True) as con:
        rows = con.execute("""SELECT mention_id, source, source_id, url, author, author_id, text,
                                     published_at, fetched_at, school_ids
                              FROM mentions WHERE deleted_at IS NULL AND list_contains($sources, source)
                              ORDER BY fetched_at""", {"sources": list(sources)}).fetchall()
    return [Mention(mention_id=r[0], source=r[1], source_id=r[2], url=r[3], author=r[4], author_id=r[5], text=r[6],
                    published_at=r[7], fetched_at=r[8], school_ids=list(r[9] or [])) for r in rows]


def check_deleted(cfg: Config, lookup: Lookup, *, sources: Sequence[str] = ("bluesky", "mastodon"),
                  now: datetime | None = None) -> DeletionReport:
    """Ask the source about each stored post and mark the ones it no longer has."""
    wh = Warehouse(cfg.warehouse.path, lock_timeout_s=cfg.warehouse.lock_timeout_s)
    report = DeletionReport()
    gone: list[str] = []
    for m in candidates(wh, sources):
        report.checked += 1
        try:
            exists = lookup(m)
        except Exception as e:  # one failing lookup must not stop the others
            exists = None
            if len(report.errors) < 10:
                report.errors.append(f"{m.source}: {type(e).__name__}")
            log.debug("lookup failed for %s: %s", m.mention_id, e)
        if exists is False:
            gone.append(m.mention_id)
        elif exists is None:
            report.unknown += 1
    report.gone = len(gone)
    report.marked = mark_deleted(wh, gone, now or datetime.now(timezone.utc))
    return report
