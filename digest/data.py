"""What goes into the daily digest, read from the warehouse in one short read."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from core.config import Config, School
from core.vocabulary import SENTIMENTS
from protocol import review
from protocol.db import fetch_dicts
from warehouse import Warehouse
from warehouse.rows import utc


@dataclass
class TrendDay:
    day: date
    negative: int = 0
    neutral: int = 0
    positive: int = 0

    @property
    def total(self) -> int:
        return self.negative + self.neutral + self.positive


@dataclass
class SchoolDigest:
    school: School
    counts: dict[str, int] = field(default_factory=dict)  # by sentiment
    by_source: dict[str, int] = field(default_factory=dict)
    negatives: list[dict[str, Any]] = field(default_factory=list)  # need a follow-up (open), with the action
    open_older: int = 0  # follow-ups still open from before the period
    harm: list[dict[str, Any]] = field(default_factory=list)  # alerted (triage alert, or a confirmed/expired review)
    review: list[dict[str, Any]] = field(default_factory=list)  # "Te beoordelen": open review items, any age
    highlights: list[dict[str, Any]] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)
    trend: list[TrendDay] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class SourceProblem:
    source: str
    target: str
    problem: str  # failed | silent
    detail: str
    count: int = 0
    last_at: datetime | None = None


@dataclass
class Digest:
    organisation: str
    tz: ZoneInfo
    start: datetime
    end: datetime
    day: date | None
    schools: list[SchoolDigest]
    sources: list[SourceProblem]
    page_url: str | None = None  # web.public_url: link follow-ups to the review page

    def followup_url(self, mention_id: str) -> str | None:
        return f"{self.page_url.rstrip('/')}/opvolging/{mention_id}" if self.page_url else None

    @property
    def total(self) -> int:
        return sum(s.total for s in self.schools)


def period(cfg: Config, day: date | None, now: datetime) -> tuple[datetime, datetime]:
    """One local calendar day, or the 24 hours up to `now`."""
    if day is None:
        end = utc(now)
        assert end is not None
        return end - timedelta(hours=24), end
    tz = ZoneInfo(cfg.organisation.timezone)
    start = datetime.combine(day, time(0), tz).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(timezone.utc)
    return start, end


def alerted(r: dict[str, Any]) -> bool:
    """Did triage alert a leader about this mention (stored before triage: every harm label did)?"""
    return r.get("triage") in (None, "alert") or r.get("review_status") in ("confirmed", "expired")


def _engagement(row: dict[str, Any]) -> int:
    try:
        metrics = json.loads(row["metrics"]) if isinstance(row.get("metrics"), str) else (row.get("metrics") or {})
    except ValueError:
        return 0
    return sum(v for v in metrics.values() if isinstance(v, (int, float)))


def collect(cfg: Config, wh: Warehouse, day: date | None = None, now: datetime | None = None) -> Digest:
    """Read the digest's content for one day (local) or the last 24 hours."""
    now = now or datetime.now(timezone.utc)
    tz = ZoneInfo(cfg.organisation.timezone)
    start, end = period(cfg, day, now)
    end_local = (end - timedelta(microseconds=1)).astimezone(tz).date()
    days = [end_local - timedelta(days=i) for i in range(cfg.digest.trend_days - 1, -1, -1)]
    trend_start = datetime.combine(days[0], time(0), tz).astimezone(timezone.utc)
    if wh.path.exists():
        wh.migrate()
    with wh.connect(read_only=True) as con:
        found = _read(con, start, end, trend_start)
    schools = [_school_digest(cfg, s, found, days, tz) for s in cfg.schools]
    problems = _source_problems(cfg, found["runs"], start, end)
    return Digest(cfg.organisation.name, tz, start, end, day, schools, problems, cfg.web.public_url)


def _read(con: Any, start: datetime, end: datetime, trend_start: datetime) -> dict[str, Any]:
    """Everything the digest reads, in one read-only connection."""
    rows = fetch_dicts(
        con,
        """
        SELECT m.mention_id, m.source, m.url, m.author, m.title, m.text, m.published_at, m.fetched_at,
               m.school_ids, m.sentiment, m.harm, m.harm_kind, m.cues, m.metrics,
               f.action, f.status AS followup_status, t.decision AS triage, t.review_status,
               t.reason AS triage_reason
        FROM mentions m LEFT JOIN followups f USING (mention_id) LEFT JOIN triage t USING (mention_id)
        WHERE m.fetched_at >= ? AND m.fetched_at < ? AND m.deleted_at IS NULL
        ORDER BY coalesce(m.published_at, m.fetched_at), m.mention_id""",
        [start, end],
    )
    older = fetch_dicts(
        con,
        """SELECT school_ids FROM followups
                                WHERE status = 'open' AND created_at < ?""",
        [start],
    )
    queue = review.queue(con)
    media = {
        r["mention_id"]: r["detail"]
        for r in fetch_dicts(con, "SELECT mention_id, detail FROM flags WHERE kind = 'media_consent'")
    }
    trend_rows = fetch_dicts(
        con,
        """
        SELECT school_ids, sentiment, least(coalesce(published_at, fetched_at), fetched_at) AS t
        FROM mentions WHERE least(coalesce(published_at, fetched_at), fetched_at) >= ?
          AND least(coalesce(published_at, fetched_at), fetched_at) < ? AND deleted_at IS NULL""",
        [trend_start, end],
    )
    runs = fetch_dicts(
        con,
        """
        SELECT source, target, max(started_at) AS last_run,
               max(started_at) FILTER (WHERE fetched > 0) AS last_items,
               min(started_at) AS first_run,
               count(*) FILTER (WHERE status IN ('failed', 'rate_limited') AND started_at >= ? AND started_at < ?) AS failures,
               arg_max(error, started_at) FILTER (WHERE status IN ('failed', 'rate_limited') AND started_at >= ? AND started_at < ?) AS last_error,
               max(started_at) FILTER (WHERE status IN ('failed', 'rate_limited') AND started_at >= ? AND started_at < ?) AS last_failure,
               count(*) FILTER (WHERE started_at >= ? AND started_at < ?) AS runs
        FROM source_runs WHERE started_at < ? GROUP BY source, target ORDER BY source, target""",
        [start, end] * 4 + [end],
    )
    return {"rows": rows, "older": older, "queue": queue, "media": media, "trend_rows": trend_rows, "runs": runs}


def _school_digest(cfg: Config, s: School, found: dict[str, Any], days: list[date], tz: ZoneInfo) -> SchoolDigest:
    """One school's part of the digest."""
    rows, older, queue, media, trend_rows = (found[k] for k in ("rows", "older", "queue", "media", "trend_rows"))
    mine = [r for r in rows if s.id in (r["school_ids"] or [])]
    sd = SchoolDigest(s)
    sd.counts = {k: sum(1 for r in mine if r["sentiment"] == k) for k in SENTIMENTS}
    sd.by_source = dict(sorted(Counter(r["source"] for r in mine).items()))
    sd.open_older = sum(1 for r in older if s.id in (r["school_ids"] or []))
    sd.harm = [r for r in mine if r["harm"] in ("threat", "insult") and alerted(r)]
    sd.review = [r for r in queue if s.id in (r["school_ids"] or [])]
    listed = {r["mention_id"] for r in sd.harm + sd.review}
    # alerted and review items have their own lists; a harm label that triage left alone ("none") keeps its
    # follow-up here
    sd.negatives = [r for r in mine if r["action"] and r["followup_status"] == "open" and r["mention_id"] not in listed]
    positives = [r for r in mine if r["sentiment"] == "positive" and r["harm"] in (None, "none")]
    sd.highlights = sorted(positives, key=lambda r: -_engagement(r))[: cfg.digest.highlights]
    sd.media = [{**r, "detail": media[r["mention_id"]]} for r in mine if r["mention_id"] in media]
    per_day = {d: TrendDay(d) for d in days}
    for r in trend_rows:
        if s.id in (r["school_ids"] or []) and r["sentiment"] in SENTIMENTS:
            d = r["t"].astimezone(tz).date()
            if d in per_day:
                setattr(per_day[d], r["sentiment"], getattr(per_day[d], r["sentiment"]) + 1)
    sd.trend = list(per_day.values())
    return sd


def _source_problems(cfg: Config, runs: list[dict[str, Any]], start: datetime, end: datetime) -> list[SourceProblem]:
    """Sources that failed or went silent in the period."""
    problems = []
    silent_since = end - timedelta(days=cfg.digest.silent_days)
    for r in runs:
        if r["failures"]:
            problems.append(
                SourceProblem(
                    r["source"],
                    r["target"],
                    "failed",
                    r["last_error"] or "onbekende fout",
                    r["failures"],
                    r["last_failure"],
                )
            )
        elif r["runs"] == 0 and r["last_run"] < start:
            problems.append(
                SourceProblem(r["source"], r["target"], "silent", "niet opgehaald in deze periode", 0, r["last_run"])
            )
        elif r["first_run"] <= silent_since and (r["last_items"] is None or r["last_items"] < silent_since):
            problems.append(
                SourceProblem(
                    r["source"],
                    r["target"],
                    "silent",
                    f"geen berichten in {cfg.digest.silent_days} dagen",
                    0,
                    r["last_items"],
                )
            )
    return problems
