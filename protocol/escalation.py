"""Escalation: online discussion about a school that threatens to derail.

Two signals, each a plain function over counts:
- a spike: negatives about one school in the last `window_hours` far above that
  school's usual level at the same weekday and hour (the mean of the same
  window in each of the previous `baseline_weeks` weeks, local time);
- a pile-on: one post drawing `pileon_replies` or more negative replies
  (mentions whose `reply_to` is that post) within `pileon_hours`.
Each spike or pile-on is an episode in `escalations`, alerted once: it stays
the same episode while it is still detected within one window of the last time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from core.config import Config, EscalationConfig
from protocol.alerts import KIND_NL, local, school_names

from .db import fetch_dicts, insert_rows, stable_id


@dataclass
class Escalation:
    kind: str  # spike | pile_on
    school_id: str
    key: str  # spike: the school id; pile_on: "<source>:<parent source_id>"
    count: int
    baseline: float | None
    mentions: list[dict[str, Any]] = field(default_factory=list)  # mention_id, text, url, t
    parent: dict[str, Any] | None = None
    escalation_id: str = ""
    new: bool = False


# --- plain rules -----------------------------------------------------------------------------------


def baseline_windows(now: datetime, window_hours: float, weeks: int, tz: str) -> list[tuple[datetime, datetime]]:
    """The same window (same local weekday and hour) in each of the previous `weeks` weeks."""
    local_now = now.astimezone(ZoneInfo(tz))
    out = []
    for k in range(1, weeks + 1):
        end = (local_now - timedelta(days=7 * k)).astimezone(timezone.utc)
        out.append((end - timedelta(hours=window_hours), end))
    return out


def count_in(times: Sequence[datetime], window: tuple[datetime, datetime]) -> int:
    start, end = window
    return sum(1 for t in times if start < t <= end)


def baseline_level(counts: Sequence[int]) -> float:
    return sum(counts) / len(counts) if counts else 0.0


def is_spike(current: int, baseline_counts: Sequence[int], cfg: EscalationConfig) -> bool:
    """Far above the usual level: at least `min_negatives`, and at least `factor` times the
    baseline (never less than `min_baseline`)."""
    return current >= cfg.min_negatives and current >= cfg.factor * max(
        baseline_level(baseline_counts), cfg.min_baseline
    )


def pileons(replies: Sequence[tuple[str, str]], min_replies: int) -> dict[str, list[str]]:
    """Parents with at least `min_replies` negative replies: {parent key: [reply mention ids]}."""
    by_parent: dict[str, list[str]] = {}
    for parent, mention_id in replies:
        ids = by_parent.setdefault(parent, [])
        if mention_id not in ids:
            ids.append(mention_id)
    return {p: ids for p, ids in by_parent.items() if len(ids) >= min_replies}


def same_episode(last_seen_at: datetime | None, now: datetime, gap: timedelta) -> bool:
    """An episode still going on: it was detected within `gap` before now."""
    return last_seen_at is not None and last_seen_at >= now - gap


# --- detection over the warehouse --------------------------------------------------------------------

_T = "least(coalesce(published_at, fetched_at), fetched_at)"


def detect(cfg: Config, con: duckdb.DuckDBPyConnection, now: datetime) -> list[Escalation]:
    """The spikes and pile-ons at `now` (not yet compared with earlier episodes)."""
    esc = cfg.escalation
    window = (now - timedelta(hours=esc.window_hours), now)
    bases = baseline_windows(now, esc.window_hours, esc.baseline_weeks, cfg.organisation.timezone)
    earliest = min(w[0] for w in bases + [window])
    rows = fetch_dicts(
        con,
        f"""
        SELECT mention_id, school_ids, {_T} AS t, text, url FROM mentions
        WHERE sentiment = 'negative' AND {_T} > ? AND {_T} <= ?""",
        [earliest, now],
    )
    found: list[Escalation] = []
    for school in cfg.schools:
        mine = [r for r in rows if school.id in (r["school_ids"] or [])]
        times = [r["t"] for r in mine]
        current = count_in(times, window)
        base = [count_in(times, w) for w in bases]
        if is_spike(current, base, esc):
            inside = sorted((r for r in mine if window[0] < r["t"] <= window[1]), key=lambda r: r["t"])
            found.append(Escalation("spike", school.id, school.id, current, baseline_level(base), inside))
    since = now - timedelta(hours=esc.pileon_hours)
    replies = fetch_dicts(
        con,
        f"""
        SELECT mention_id, source, reply_to, school_ids, {_T} AS t, text, url FROM mentions
        WHERE sentiment = 'negative' AND reply_to IS NOT NULL AND {_T} > ? AND {_T} <= ?""",
        [since, now],
    )
    groups = pileons([(f"{r['source']}:{r['reply_to']}", r["mention_id"]) for r in replies], esc.pileon_replies)
    for key, ids in groups.items():
        source, _, parent_id = key.partition(":")
        members = [r for r in replies if r["mention_id"] in ids]
        parent = fetch_dicts(
            con,
            "SELECT mention_id, school_ids, text, url, author FROM mentions WHERE source = ? AND source_id = ? LIMIT 1",
            [source, parent_id],
        )
        schools: list[str] = []
        for r in parent + members:
            for s in r["school_ids"] or []:
                if s not in schools:
                    schools.append(s)
        for sid in schools:
            found.append(
                Escalation(
                    "pile_on",
                    sid,
                    key,
                    len(ids),
                    None,
                    sorted(members, key=lambda r: r["t"]),
                    parent[0] if parent else {"url": None, "text": parent_id},
                )
            )
    return found


def record(cfg: Config, con: duckdb.DuckDBPyConnection, found: Sequence[Escalation], now: datetime) -> list[Escalation]:
    """Store the episodes; returns those that are new (to alert), the others are extended."""
    new = []
    for e in found:
        gap = timedelta(hours=cfg.escalation.window_hours if e.kind == "spike" else cfg.escalation.pileon_hours)
        last = con.execute(
            """SELECT escalation_id, last_seen_at FROM escalations
                              WHERE school_id = ? AND kind = ? AND key = ? ORDER BY last_seen_at DESC LIMIT 1""",
            [e.school_id, e.kind, e.key],
        ).fetchall()
        last = last[0] if last else None
        ids = [m["mention_id"] for m in e.mentions]
        if last and same_episode(last[1], now, gap):
            e.escalation_id = last[0]
            con.execute(
                """UPDATE escalations SET last_seen_at = greatest(last_seen_at, ?::TIMESTAMPTZ),
                                  count = greatest(count, ?), mention_ids = list_distinct(list_concat(mention_ids, ?))
                           WHERE escalation_id = ?""",
                [now, e.count, ids, e.escalation_id],
            )
            continue
        e.escalation_id = stable_id("escalation", e.kind, e.school_id, e.key, now.isoformat())
        e.new = True
        insert_rows(
            con,
            "escalations",
            [
                {
                    "escalation_id": e.escalation_id,
                    "school_id": e.school_id,
                    "kind": e.kind,
                    "key": e.key,
                    "started_at": now,
                    "last_seen_at": now,
                    "count": e.count,
                    "baseline": e.baseline,
                    "mention_ids": ids,
                }
            ],
        )
        new.append(e)
    return new


def message(cfg: Config, e: Escalation) -> tuple[str, str]:
    """(subject, body) of the alert for a new escalation, in Dutch."""

    school = school_names(cfg, [e.school_id])
    subject = f"[SPOED] {KIND_NL[e.kind]} over {school}"
    if e.kind == "spike":
        what = (
            f"Wat: {e.count} negatieve berichten over {school} in de laatste "
            f"{cfg.escalation.window_hours:g} uur; normaal op dit moment van de week: "
            f"{(e.baseline or 0):.1f} (gemiddelde van dezelfde uren in de vorige "
            f"{cfg.escalation.baseline_weeks} weken)."
        )
    else:
        parent = e.parent or {}
        what = (
            f"Wat: {e.count} negatieve reacties op één bericht binnen {cfg.escalation.pileon_hours:g} uur.\n"
            f"Oorspronkelijk bericht: {parent.get('url') or (parent.get('text') or '')[:200]}"
        )
    lines = [
        what,
        f"School: {school}",
        f"Vastgesteld: {local(cfg, e.mentions[-1]['t'] if e.mentions else None)}",
        "",
        "De berichten:",
    ]
    for m in e.mentions[:15]:
        first = (m.get("text") or "").strip().splitlines()[0][:160] if m.get("text") else ""
        lines.append(f"- {local(cfg, m['t'])} {first}" + (f" ({m['url']})" if m.get("url") else ""))
    if len(e.mentions) > 15:
        lines.append(f"- ... en nog {len(e.mentions) - 15}")
    lines += [
        "",
        "Wat het protocol vraagt (online communicatie dreigt te ontsporen):",
        "- Stem met de schoolleiding en communicatie af wie het gesprek voert.",
        "- Ga in gesprek met de betrokkenen (in real life); reageer niet online, behalve om een "
        "feitelijke onjuistheid recht te zetten.",
        "- Bekijk per bericht of opvolging of aangifte nodig is: edumon followups list --school "
        f"{e.school_id} --status open",
    ]
    return subject, "\n".join(lines)
