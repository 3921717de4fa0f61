"""Source health: notice a source that breaks loudly or goes quiet.

Rules are plain functions over `source_runs` rows (dicts with `source`,
`target`, `status`, `error`, `fetched`, `started_at`, optionally `newest_item_at`),
judged on what was observed (the runs' own times), so a test passes any clock:

* failing: a target's trailing streak of failed runs (``failed`` or
  ``rate_limited``) spans at least `failing_after_minutes` (from the first failed
  run to the latest); with an older config that only sets `failures_before_alert`,
  the streak is at least that many runs;
* silent: judged on content, not on answers.  A run brings content when it returned
  items; its content time is the newest item's date (capped at the run's start;
  the run's start when no item has a date).  A feed that answers ``304 Not
  Modified`` or returns the same old items brings nothing new.  A source group (a
  feed; a Bluesky account with all its queries; a Mastodon instance with all its
  hashtags and searches) that once brought content is silent when its runs have
  seen nothing newer for `silent_after_hours_<kind>` (counted from the newest item,
  or from the first run when the content was already old then).  Per kind, because
  a quiet hashtag is normal and an emptied feed is not.

A finding raises one admin alert per episode: a row in `alerts` with
``kind = 'source_health'``, ``status = 'pending'``, ``school_id = '*'``
(organisation-wide: the global `[alerts]` channel).  The alert id names the
episode (kind, when it started, source, target), so checking again never
raises it twice, and a source that recovers and breaks again raises a new one.
`check_and_alert` delivers what it raised at once (one attempt; the next cycle
retries), so an admin hears of a source down for 30 minutes after 30 minutes.
`alert_text` gives the Dutch message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from connectors import REGISTRY, connector
from core.config import Config, HealthConfig
from core.secrets import Secrets
from health import heartbeat
from pipeline import CycleReport, warehouse_for
from protocol.alerts import deliver_pending, raise_source_health

log = logging.getLogger("edumon.health")

FAILED = ("failed", "rate_limited")
ALERT_KIND = "source_health"
ADMIN_SCHOOL = "*"  # alerts.school_id of an organisation-wide (admin) alert
DEFAULT_FAILING_AFTER_MINUTES = 30.0
DEFAULT_SILENT_AFTER_HOURS = {"rss": 48.0, "bluesky": 168.0, "mastodon": 336.0}

Run = Mapping[str, Any]


@dataclass(frozen=True)
class Thresholds:
    """The effective `[health]` limits: new keys win over the older ones they replace."""

    failing_after: timedelta | None  # the time rule; None: the count rule of an older config
    failures_before_alert: int | None
    silent_after: Mapping[str, timedelta | None]  # per source kind; None: never silent

    @classmethod
    def of(cls, h: HealthConfig) -> Thresholds:
        if h.failing_after_minutes is None and h.failures_before_alert is not None:
            failing_after, count = None, h.failures_before_alert
        else:
            minutes = DEFAULT_FAILING_AFTER_MINUTES if h.failing_after_minutes is None else h.failing_after_minutes
            failing_after, count = timedelta(minutes=minutes), None
        silent: dict[str, timedelta | None] = {}
        for kind, default in DEFAULT_SILENT_AFTER_HOURS.items():
            own = getattr(h, f"silent_after_hours_{kind}", None)
            hours = own if own is not None else h.silent_after_hours if h.silent_after_hours is not None else default
            silent[kind] = timedelta(hours=hours) if hours > 0 else None
        return cls(failing_after, count, silent)

    def silent_for(self, source: str) -> timedelta | None:
        return self.silent_after.get(source, timedelta(hours=DEFAULT_SILENT_AFTER_HOURS["rss"]))


@dataclass(frozen=True)
class Finding:
    """One broken source target."""

    source: str
    target: str
    kind: str  # failing | silent
    since: datetime  # failing: first failure of the streak; silent: last delivery
    failures: int = 0  # consecutive failed runs (failing)
    last_error: str | None = None
    last_run_at: datetime | None = None

    @property
    def alert_id(self) -> str:
        """Stable per episode: `source_health|kind|since|source|target`."""
        return "|".join(
            [ALERT_KIND, self.kind, _utc(self.since).strftime("%Y-%m-%dT%H:%M:%SZ"), self.source, self.target]
        )


@dataclass
class TargetStatus:
    """What `edumon status` shows for one configured target."""

    source: str
    target: str
    last_run_at: datetime | None = None
    status: str = "never run"
    error: str | None = None
    fetched: int = 0
    new: int = 0
    failures: int = 0  # consecutive failed runs up to the last one
    last_delivery_at: datetime | None = None  # the content time of the newest item seen
    overdue: bool = False
    findings: list[Finding] = field(default_factory=list)


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def content_at(run: Run) -> datetime | None:
    """When the newest item a run returned was published (capped at the run's start: a date in
    the future counts as now); the run's start when its items have no date; None without items
    (a ``304 Not Modified``, an empty answer, a failure)."""
    started = _utc(run["started_at"])
    if run.get("status") in FAILED or not (run.get("fetched") or 0) > 0:
        return None
    newest = run.get("newest_item_at")
    return min(_utc(newest), started) if newest is not None else started


def _by_target(runs: Iterable[Run]) -> dict[tuple[str, str], list[Run]]:
    out: dict[tuple[str, str], list[Run]] = {}
    for r in runs:
        out.setdefault((r["source"], r["target"]), []).append(r)
    for rs in out.values():
        rs.sort(key=lambda r: _utc(r["started_at"]))
    return out


def failure_streak(runs: Sequence[Run]) -> list[Run]:
    """The trailing failed runs of one target's history (oldest first)."""
    streak: list[Run] = []
    for r in reversed(runs):
        if r["status"] not in FAILED:
            break
        streak.append(r)
    return streak[::-1]


def source_group(source: str, target: str) -> str:
    """What goes silent together: a feed; a Bluesky account (all its queries); a Mastodon
    instance (all its hashtags and searches).  A quiet query is normal, a quiet account is not."""
    if source == "bluesky":
        return target.split("|", 1)[0]
    if source == "mastodon":
        return re.split(r"[#?]", target, maxsplit=1)[0]
    return target


def check_failing(
    runs: Sequence[Run], *, failing_after: timedelta | None = None, failures_before_alert: int | None = None
) -> list[Finding]:
    """A failing finding when one target's trailing failed runs span `failing_after` (first
    failed run to the latest), or, with `failures_before_alert` instead, number at least that."""
    if not runs:
        return []
    last = runs[-1]
    streak = failure_streak(runs)
    if not streak:
        return []
    if failing_after is not None:
        if _utc(streak[-1]["started_at"]) - _utc(streak[0]["started_at"]) < failing_after:
            return []
    elif len(streak) < (failures_before_alert or 1):
        return []
    return [
        Finding(
            last["source"],
            last["target"],
            "failing",
            _utc(streak[0]["started_at"]),
            len(streak),
            streak[-1].get("error"),
            _utc(last["started_at"]),
        )
    ]


def check_silent(runs: Sequence[Run], *, silent_after: timedelta | None) -> list[Finding]:
    """A silent finding when the runs (of one target or one source group, oldest first) once
    brought content and have seen nothing newer for `silent_after`: from the newest item's date,
    or from the first run when that is later, up to the latest run (what was observed)."""
    if not runs or silent_after is None:
        return []
    last = runs[-1]
    times = [t for t in (content_at(r) for r in runs) if t is not None]
    if not times:  # never brought anything: quiet, not silent
        return []
    since = max(max(times), min(_utc(r["started_at"]) for r in runs))
    if _utc(last["started_at"]) - since < silent_after:
        return []
    group = source_group(last["source"], last["target"])
    return [Finding(last["source"], group, "silent", since, 0, last.get("error"), _utc(last["started_at"]))]


def findings(
    runs: Iterable[Run],
    health: HealthConfig,
    now: datetime | None = None,
    targets: Iterable[tuple[str, str]] | None = None,
) -> list[Finding]:
    """Every finding over `runs`: failing per target, silent per source group (see
    `source_group`); optionally only for the configured `targets`.  The rules judge the runs'
    own times; `now` only drops runs from the future (a clock that went back)."""
    now = now or datetime.now(timezone.utc)
    limits = Thresholds.of(health)
    wanted = set(targets) if targets is not None else None
    by = {k: rs for k, rs in _by_target(runs).items() if wanted is None or k in wanted}
    out: list[Finding] = []
    groups: dict[tuple[str, str], list[Run]] = {}
    all_failing: dict[tuple[str, str], bool] = {}
    for (source, target), rs in sorted(by.items()):
        rs = [r for r in rs if _utc(r["started_at"]) <= _utc(now)]
        failing = check_failing(
            rs, failing_after=limits.failing_after, failures_before_alert=limits.failures_before_alert
        )
        out += failing
        g = (source, source_group(source, target))
        groups.setdefault(g, []).extend(rs)
        all_failing[g] = all_failing.get(g, True) and bool(failing)
    for g, rs in sorted(groups.items()):
        if all_failing[g]:  # every target of the group is failing: already said
            continue
        rs.sort(key=lambda r: _utc(r["started_at"]))
        out += check_silent(rs, silent_after=limits.silent_for(g[0]))
    return out


# --- schedule: what is overdue ---------------------------------------------------------------


def last_scheduled(crons: Sequence[str], tz: str, before: datetime) -> datetime | None:
    """The latest time at or before `before` when any of the cron expressions fired."""
    from cronsim import CronSim

    local = _utc(before).astimezone(ZoneInfo(tz)).replace(microsecond=0)
    times = []
    for expr in crons:
        try:
            times.append(next(CronSim(expr, local, reverse=True)))
        except StopIteration:  # pragma: no cover - a cron that never fires
            continue
    return max(times).astimezone(timezone.utc) if times else None


def statuses(cfg: Config, runs: Iterable[Run], now: datetime | None = None) -> list[TargetStatus]:
    """The state of every configured target: last run, outcome, overdue, findings."""
    now = now or datetime.now(timezone.utc)
    by = _by_target(runs)
    grace = timedelta(minutes=cfg.health.overdue_grace_minutes)
    expected = last_scheduled(cfg.schedule.cycle_cron, cfg.organisation.timezone, now - grace)
    targets = configured_targets(cfg)
    found = findings([r for rs in by.values() for r in rs], cfg.health, now, targets)
    out = []
    for key in targets:
        rs = by.get(key, [])
        st = TargetStatus(*key)
        if rs:
            last = rs[-1]
            st.last_run_at = _utc(last["started_at"])
            st.status, st.error = last["status"], last.get("error")
            st.fetched, st.new = last.get("fetched") or 0, last.get("new") or 0
            st.failures = len(failure_streak(rs))
            st.last_delivery_at = max((t for t in map(content_at, rs) if t is not None), default=None)
            st.findings = [f for f in found if (f.source, f.target) in (key, (key[0], source_group(*key)))]
        st.overdue = expected is not None and (st.last_run_at is None or st.last_run_at < expected)
        out.append(st)
    return out


def configured_targets(cfg: Config) -> list[tuple[str, str]]:
    """(source, target) of every configured target; a source whose connector is missing is skipped."""

    out: list[tuple[str, str]] = []
    for source in REGISTRY:
        if not getattr(cfg.sources, source, None):
            continue
        try:
            mod = connector(source)
        except ImportError:
            continue
        out += [(t.source, t.key) for t in mod.targets(cfg)]
    return out


# --- I/O: read the runs, raise alerts -------------------------------------------------------

RUNS_SQL = """
WITH r AS (
    SELECT source, target, status, error, fetched, new, started_at, finished_at, newest_item_at,
           CASE WHEN status IN ('failed', 'rate_limited') OR coalesce(fetched, 0) = 0 THEN NULL
                ELSE least(coalesce(newest_item_at, started_at), started_at) END AS content_at
    FROM source_runs
), per_target AS (
    SELECT source, target,
           max(started_at) FILTER (WHERE status NOT IN ('failed', 'rate_limited')) AS last_good,
           min(started_at) AS first_at,
           arg_max(started_at, content_at) FILTER (WHERE content_at IS NOT NULL) AS content_run_at
    FROM r
    GROUP BY source, target
)
SELECT r.source, r.target, status, error, fetched, new, started_at, finished_at, newest_item_at
FROM r JOIN per_target p ON r.source = p.source AND r.target = p.target
WHERE started_at >= coalesce(p.last_good, p.first_at) OR started_at = p.first_at OR started_at = p.content_run_at
ORDER BY r.source, r.target, started_at
"""


def recent_runs(con: duckdb.DuckDBPyConnection, health: HealthConfig, now: datetime) -> list[dict[str, Any]]:
    """The runs the rules need, per target: the last good run and the failure streak after it,
    the first run, and the run with the newest content (`health` and `now` are not needed: the
    rules judge the runs' own times)."""
    cur = con.execute(RUNS_SQL)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def current_findings(cfg: Config, now: datetime | None = None) -> list[Finding]:
    """The findings for the configured targets, read from the warehouse (for the digest and status)."""

    now = now or datetime.now(timezone.utc)
    wh = warehouse_for(cfg)
    if not wh.path.exists():
        return []
    with wh.connect(read_only=True) as con:
        runs = recent_runs(con, cfg.health, now)
    return findings(runs, cfg.health, now, configured_targets(cfg))


def raise_alerts(
    con: duckdb.DuckDBPyConnection, cfg: Config, found: Sequence[Finding], now: datetime | None = None
) -> list[Finding]:
    """Queue one admin alert per finding episode (through the protocol's alert queue, so it
    is delivered to `[alerts] admin_contacts` with a Dutch text); returns the findings alerted now."""

    now = now or datetime.now(timezone.utc)
    return [
        f for f in found if raise_source_health(con, cfg, f.alert_id, alert_text(f, cfg.organisation.timezone), now)
    ]


def check_and_alert(
    cfg: Config, now: datetime | None = None, secrets: Secrets | None = None, deliver: bool = False
) -> tuple[list[Finding], list[Finding]]:
    """Check every configured target and alert new episodes; returns (findings, newly alerted).

    With `deliver`, a new alert is sent at once (one attempt; what fails stays pending and the
    next cycle's delivery retries it), instead of waiting for the next cycle."""

    now = now or datetime.now(timezone.utc)
    targets = configured_targets(cfg)
    wh = warehouse_for(cfg)
    with wh.transaction() as con:
        found = findings(recent_runs(con, cfg.health, now), cfg.health, now, targets)
        alerted = raise_alerts(con, cfg, found, now)
    if deliver and alerted:
        deliver_pending(cfg, wh, secrets or Secrets(), now)
    return found, alerted


def after_cycle(cfg: Config, report: CycleReport, secrets: Secrets | None = None) -> list[Finding]:
    """The end of a cycle run without Prefect: the source-health check (a new alert is sent at
    once) unless the cycle was spooled, then the heartbeat.  Never raises; returns the findings."""
    found: list[Finding] = []
    if not report.spooled:
        try:
            found, _ = check_and_alert(cfg, secrets=secrets, deliver=True)
        except Exception as e:  # noqa: BLE001 - the health check never costs the cycle its result
            log.error("source health check failed: %s: %s", type(e).__name__, e)
    heartbeat.after_cycle(cfg, report, secrets)
    return found


# --- text ----------------------------------------------------------------------------------


def parse_alert_id(alert_id: str) -> Finding:
    """The episode an alert id names (kind, since, source, target); the inverse of `Finding.alert_id`."""
    prefix, kind, since, source, target = alert_id.split("|", 4)
    if prefix != ALERT_KIND:
        raise ValueError(f"not a source-health alert id: {alert_id!r}")
    return Finding(source, target, kind, datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc))


def alert_text(f: Finding, tz: str = "Europe/Amsterdam") -> str:
    """The Dutch admin message for a finding."""
    when = f.since.astimezone(ZoneInfo(tz)).strftime("%d-%m-%Y %H:%M")
    name = f"{f.source} {f.target}"
    if f.kind == "failing":
        n = f" {f.failures} keer op rij" if f.failures else ""
        err = f" Laatste fout: {f.last_error}." if f.last_error else ""
        return (
            f"Bron werkt niet: {name} faalde{n}, sinds {when}.{err} "
            "Tot dit is opgelost missen we berichten van deze bron. Controleer het adres en de toegang."
        )
    return (
        f"Bron is stil: {name} levert sinds {when} niets nieuws meer op, terwijl er eerder wel berichten kwamen. "
        "Controleer of de bron nog werkt (gewijzigd adres, verlopen toegang, andere API)."
    )
