"""Source health: notice a source that breaks loudly or goes quiet.

Rules are plain functions over `source_runs` rows (dicts with `source`,
`target`, `status`, `error`, `fetched`, `started_at`):

* failing: the last `failures_before_alert` runs of a target all failed
  (``failed`` or ``rate_limited``);
* silent: a target that used to deliver (a run that returned items, or a
  ``304 Not Modified`` that confirms the content is still there) has returned
  nothing for `silent_after_hours`, while it is still being polled.

A finding raises one admin alert per episode: a row in `alerts` with
``kind = 'source_health'``, ``status = 'pending'``, ``school_id = '*'``
(organisation-wide: the global `[alerts]` channel).  The alert id names the
episode (kind, when it started, source, target), so checking again never
raises it twice, and a source that recovers and breaks again raises a new one.
Delivery is the alert sender's job; `alert_text` gives the Dutch message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from connectors import REGISTRY, connector
from core.config import Config, HealthConfig
from pipeline import warehouse_for
from protocol.alerts import raise_source_health

FAILED = ("failed", "rate_limited")
ALERT_KIND = "source_health"
ADMIN_SCHOOL = "*"  # alerts.school_id of an organisation-wide (admin) alert

Run = Mapping[str, Any]


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
    last_delivery_at: datetime | None = None
    overdue: bool = False
    findings: list[Finding] = field(default_factory=list)


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _delivered(run: Run) -> bool:
    return (run.get("fetched") or 0) > 0 or run.get("status") == "not_modified"


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


def check_failing(runs: Sequence[Run], *, failures_before_alert: int) -> list[Finding]:
    """A failing finding when one target's last `failures_before_alert` runs all failed."""
    if not runs:
        return []
    last = runs[-1]
    streak = failure_streak(runs)
    if len(streak) < failures_before_alert:
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


def check_silent(runs: Sequence[Run], *, silent_after: timedelta, now: datetime) -> list[Finding]:
    """A silent finding when the runs (of one target or one source group, oldest first) delivered
    before, have delivered nothing for `silent_after`, and are still being made."""
    if not runs:
        return []
    last = runs[-1]
    delivered = [r for r in runs if _delivered(r)]
    if not delivered or delivered[-1] is last:
        return []
    since = _utc(delivered[-1]["started_at"])
    if _utc(now) - since < silent_after:
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
    `source_group`); optionally only for the configured `targets`."""
    now = now or datetime.now(timezone.utc)
    wanted = set(targets) if targets is not None else None
    by = {k: rs for k, rs in _by_target(runs).items() if wanted is None or k in wanted}
    out: list[Finding] = []
    groups: dict[tuple[str, str], list[Run]] = {}
    all_failing: dict[tuple[str, str], bool] = {}
    for (source, target), rs in sorted(by.items()):
        failing = check_failing(rs, failures_before_alert=health.failures_before_alert)
        out += failing
        g = (source, source_group(source, target))
        groups.setdefault(g, []).extend(rs)
        all_failing[g] = all_failing.get(g, True) and bool(failing)
    for g, rs in sorted(groups.items()):
        if all_failing[g]:  # every target of the group is failing: already said
            continue
        rs.sort(key=lambda r: _utc(r["started_at"]))
        out += check_silent(rs, silent_after=timedelta(hours=health.silent_after_hours), now=now)
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
            delivered = [r for r in rs if _delivered(r)]
            st.last_delivery_at = _utc(delivered[-1]["started_at"]) if delivered else None
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
WITH ranked AS (
    SELECT source, target, status, error, fetched, new, started_at, finished_at,
           row_number() OVER (PARTITION BY source, target ORDER BY started_at DESC) AS rn,
           row_number() OVER (PARTITION BY source, target, (fetched > 0 OR status = 'not_modified')
                              ORDER BY started_at DESC) AS rn_kind,
           (fetched > 0 OR status = 'not_modified') AS delivered
    FROM source_runs
)
SELECT source, target, status, error, fetched, new, started_at, finished_at
FROM ranked
WHERE rn <= ? OR started_at >= ? OR (delivered AND rn_kind = 1)
ORDER BY source, target, started_at
"""


def recent_runs(con: duckdb.DuckDBPyConnection, health: HealthConfig, now: datetime) -> list[dict[str, Any]]:
    """The runs the rules need: the last N per target, the silence window, and the last delivery."""
    window = _utc(now) - timedelta(hours=health.silent_after_hours) - timedelta(days=1)
    cur = con.execute(RUNS_SQL, [health.failures_before_alert + 1, window])
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


def check_and_alert(cfg: Config, now: datetime | None = None) -> tuple[list[Finding], list[Finding]]:
    """Check every configured target and alert new episodes; returns (findings, newly alerted)."""

    now = now or datetime.now(timezone.utc)
    targets = configured_targets(cfg)
    with warehouse_for(cfg).transaction() as con:
        found = findings(recent_runs(con, cfg.health, now), cfg.health, now, targets)
        return found, raise_alerts(con, cfg, found, now)


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
        f"Bron is stil: {name} levert sinds {when} niets meer op, terwijl er eerder wel berichten kwamen. "
        "Controleer of de bron nog werkt (gewijzigd adres, verlopen toegang, andere API)."
    )
