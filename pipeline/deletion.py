"""Posts deleted at their source: marked here, removed by the retention purge.

`check_deleted(cfg)` asks the sources (`connectors.exists`: Bluesky `getPosts`,
Mastodon `GET /api/v1/statuses/:id`) whether stored posts are still there, at most
`[retention] deletion_checks_per_run` of them per run, never-asked first, then the
ones asked longest ago (`deletion_checks` records when each was asked), and marks
the ones gone at the source with `mark_deleted`. A lookup that could not tell (an
error) marks nothing; a rate limit stops that source's checks for the run and the
posts not asked keep their turn. No connection is held while the lookups run.
`warehouse.retention.purge` then removes marked mentions (after `[retention]
deleted_at_source_days`, default at the next purge), except while an open
`report_police` follow-up needs them.

Tests inject the lookup: a batch lookup `lookup(mentions) -> Existence | dict`
(mention_id -> True there / False gone / None could not tell; absent: not asked),
or a per-post one wrapped by `one_by_one`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pyarrow as pa

import connectors
from core.mention import Mention
from core.secrets import Secrets
from core.vocabulary import SOCIAL_SOURCES
from warehouse.store import Warehouse

if TYPE_CHECKING:  # pragma: no cover
    from connectors.base import Existence
    from core.config import Config
    from core.secrets import Secrets

log = logging.getLogger("edumon.deletion")

Lookup = Callable[[Mention], "bool | None"]
BatchLookup = Callable[[list[Mention]], "Existence | Mapping[str, bool | None]"]


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
            rows = con.execute(
                """UPDATE mentions SET deleted_at = $when
                                  WHERE deleted_at IS NULL AND mention_id IN (SELECT mention_id FROM gone_ids)
                                  RETURNING mention_id""",
                {"when": when},
            ).fetchall()
        finally:
            con.unregister("gone_ids")
    return len(rows)


def record_checks(wh: Warehouse, answers: Mapping[str, bool | None], when: datetime) -> int:
    """Remember when these mentions were asked and what the source said (present, gone,
    unknown), so the next run asks the others first. Mentions purged meanwhile are skipped."""
    if not answers:
        return 0
    ids = list(answers)
    outcomes = ["present" if answers[i] is True else "gone" if answers[i] is False else "unknown" for i in ids]
    tbl = pa.table({"mention_id": ids, "outcome": outcomes})
    with wh.transaction() as con:
        con.register("checked", tbl)
        try:
            rows = con.execute(
                """INSERT INTO deletion_checks
                                  SELECT c.mention_id, $when, c.outcome FROM checked c
                                  WHERE EXISTS (SELECT 1 FROM mentions m WHERE m.mention_id = c.mention_id)
                                  ON CONFLICT (mention_id) DO UPDATE
                                      SET checked_at = excluded.checked_at, outcome = excluded.outcome
                                  RETURNING 1""",
                {"when": when},
            ).fetchall()
        finally:
            con.unregister("checked")
    return len(rows)


def one_by_one(lookup: Lookup) -> BatchLookup:
    """A batch lookup from a per-post `lookup(mention) -> bool | None`; a lookup that
    raises counts as "could not tell" for that post."""

    def batch(mentions: list[Mention]) -> dict[str, bool | None]:
        out: dict[str, bool | None] = {}
        for m in mentions:
            try:
                out[m.mention_id] = lookup(m)
            except Exception as e:  # one failing lookup must not stop the others
                out[m.mention_id] = None
                log.debug("lookup failed for %s: %s", m.mention_id, e)
        return out

    return batch


@dataclass
class DeletionReport:
    checked: int = 0  # asked at their source
    gone: int = 0  # the source said: not found
    unknown: int = 0  # asked, but the source could not tell (an error): nothing marked
    not_asked: int = 0  # due, but a rate limit or an outage stopped the checks: first next run
    marked: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = (
            f"checked {self.checked} posts at their source: {self.gone} deleted there (marked {self.marked}), "
            f"{self.unknown} could not be checked"
        )
        if self.not_asked:
            line += f", {self.not_asked} wait for the next run"
        return line + "".join(f"\n  {e}" for e in self.errors)


def candidates(wh: Warehouse, sources: Sequence[str], limit: int | None = None) -> list[Mention]:
    """Stored, unmarked mentions from these sources, as `Mention`s for the lookup: never
    asked first, then the ones asked longest ago (oldest fetched first among equals)."""
    if not wh.path.exists() or not sources or limit == 0:
        return []
    wh.migrate()
    with wh.connect(read_only=True) as con:
        rows = con.execute(
            """SELECT m.mention_id, m.source, m.source_id, m.url, m.author, m.author_id, m.text,
                                     m.published_at, m.fetched_at, m.school_ids, m.target,
                                     CASE WHEN m.source = 'mastodon' THEN m.raw END
                              FROM mentions m LEFT JOIN deletion_checks c ON c.mention_id = m.mention_id
                              WHERE m.deleted_at IS NULL AND list_contains($sources, m.source)
                              ORDER BY c.checked_at NULLS FIRST, m.fetched_at, m.mention_id
                              LIMIT $limit""",
            {"sources": list(sources), "limit": limit if limit is not None else 2**62},
        ).fetchall()
    return [
        Mention(
            mention_id=r[0],
            source=r[1],
            source_id=r[2],
            url=r[3],
            author=r[4],
            author_id=r[5],
            text=r[6],
            published_at=r[7],
            fetched_at=r[8],
            school_ids=list(r[9] or []),
            target=r[10],
            raw=r[11],
        )
        for r in rows
    ]


def check_deleted(
    cfg: Config,
    lookup: BatchLookup | None = None,
    *,
    secrets: Secrets | None = None,
    sources: Sequence[str] | None = None,
    limit: int | None = None,
    now: datetime | None = None,
) -> DeletionReport:
    """Ask the sources about up to `limit` (default `[retention] deletion_checks_per_run`)
    stored posts and mark the ones they no longer have.

    `lookup` defaults to the real connectors (`connectors.exists`) with `secrets`
    (default: from the environment), over the configured sources that can be asked.
    """
    wh = Warehouse(cfg.warehouse.path, lock_timeout_s=cfg.warehouse.lock_timeout_s)
    if lookup is None:
        found_secrets = secrets or Secrets()
        sources = connectors.checkable_sources(cfg) if sources is None else sources

        def lookup(ms: list[Mention]) -> Existence:
            return connectors.exists(cfg, ms, found_secrets)

    sources = SOCIAL_SOURCES if sources is None else sources
    limit = cfg.retention.deletion_checks_per_run if limit is None else limit
    report = DeletionReport()
    due = candidates(wh, sources, limit)
    if not due:
        return report
    result = lookup(due)
    answers = dict(getattr(result, "answers", result))
    report.errors = list(getattr(result, "notes", []))
    report.requests = int(getattr(result, "requests", 0))
    due_ids = {m.mention_id for m in due}
    answers = {k: v for k, v in answers.items() if k in due_ids}
    report.checked = len(answers)
    report.not_asked = len(due_ids) - len(answers)
    gone = [k for k, v in answers.items() if v is False]
    report.gone = len(gone)
    report.unknown = sum(1 for v in answers.values() if v is None)
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    report.marked = mark_deleted(wh, gone, when)
    record_checks(wh, answers, when)
    for line in report.errors:
        log.warning("deletion check: %s", line)
    return report
