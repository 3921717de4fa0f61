"""The protocol's actions after a cycle stored its mentions: follow-ups,
evidence, flags and alerts for the new mentions, escalation, and delivery of
every pending alert (retrying earlier failures).

`act` never raises: a failing step (a dead webhook, a locked warehouse) is
logged and reported, and the mentions stay stored.  It works from the
warehouse, not from the cycle's memory: every mention stored in the last
`alerts.catch_up_hours` that the protocol has not acted on yet is handled
(mentions replayed from the spool, or left over by a crash, included), and
`protocol_done` records what was handled, so a re-run does nothing twice.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from core.config import Config
from core.mention import Mention, utcnow
from core.secrets import Secrets
from warehouse import Warehouse
from warehouse.rows import MENTION_COLS, mention_from_row

from . import alerts, escalation, evidence, flags, followups, review
from .db import fetch_dicts, insert_rows, stable_id

log = logging.getLogger("protocol")


@dataclass
class ActionsReport:
    acted_on: int = 0  # mentions handled this cycle
    followups: list[str] = field(default_factory=list)  # mention ids with a new follow-up
    evidence: int = 0
    flags: list[dict[str, Any]] = field(default_factory=list)
    raised: list[dict[str, Any]] = field(default_factory=list)  # alert rows raised this cycle
    review: list[str] = field(default_factory=list)  # mention ids triage sent to the review queue
    escalations: list[escalation.Escalation] = field(default_factory=list)  # new episodes
    delivered: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed


def plan_mention(
    cfg: Config, m: Mention, now: datetime, t: review.Triage | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The flag rows and alert rows for one mention (plain: no I/O). Only triage `alert` alerts at once;
    `review` waits in the queue (`protocol.review`)."""
    flag_rows, alert_rows = [], []
    t = t or review.mention_triage(cfg, m)
    if t and t.decision == "alert" and t.kind:
        alert_rows += review.alert_for(cfg, m, t.kind, t.reason, now)
    media = flags.media_consent(m)
    if media:
        flag_rows.append(
            {
                "flag_id": stable_id("flag", "media_consent", m.mention_id),
                "mention_id": m.mention_id,
                "kind": "media_consent",
                "school_ids": list(m.school_ids),
                "detail": media,
                "created_at": now,
            }
        )
    staff = flags.staff_disclosure(cfg, m)
    if staff:
        account, detail = staff
        flag_rows.append(
            {
                "flag_id": stable_id("flag", "staff_disclosure", m.mention_id),
                "mention_id": m.mention_id,
                "kind": "staff_disclosure",
                "school_ids": list(m.school_ids),
                "detail": f"{account.name}: {detail}",
                "created_at": now,
            }
        )
        subject, body = alerts.staff_message(cfg, m, account.name, detail)
        alert_rows += alerts.alert_rows(
            "staff_disclosure",
            m.mention_id,
            alerts.route_leader(cfg, m.school_ids),
            subject,
            body,
            school_ids=m.school_ids,
            now=now,
            mention_id=m.mention_id,
            link=m.url,
        )
    return flag_rows, alert_rows


def handle_new_mentions(cfg: Config, wh: Warehouse, now: datetime, out: ActionsReport) -> None:
    """Follow-ups, evidence, flags and alerts for mentions not acted on yet, in one transaction."""
    since = now - timedelta(hours=cfg.alerts.catch_up_hours)
    with wh.transaction() as con:
        rows = fetch_dicts(
            con,
            f"""
            SELECT {MENTION_COLS} FROM mentions m
            WHERE m.fetched_at >= ? AND NOT EXISTS (SELECT 1 FROM protocol_done d WHERE d.mention_id = m.mention_id)
            ORDER BY m.fetched_at, m.mention_id""",
            [since],
        )
        if not rows:
            return
        mentions = [mention_from_row(r) for r in rows]
        out.followups = followups.create_followups(con, mentions, now, cfg.protocol.criminal_harm_kinds)
        out.evidence = evidence.keep_evidence(con, mentions, now)
        flag_rows, alert_rows, triage_rows = [], [], []
        for m in mentions:
            t = review.mention_triage(cfg, m)
            if t:
                triage_rows.append(review.triage_row(cfg, m, t, now))
            f, a = plan_mention(cfg, m, now, t)
            flag_rows += f
            alert_rows += a
        insert_rows(con, "flags", flag_rows)
        insert_rows(con, "triage", triage_rows, {"reviewed_at": pa.timestamp("us", tz="UTC")})
        out.review += [r["mention_id"] for r in triage_rows if r["decision"] == "review"]
        out.flags = flag_rows
        out.raised += alerts.enqueue(con, alert_rows)
        insert_rows(con, "protocol_done", [{"mention_id": m.mention_id, "acted_at": now} for m in mentions])
        out.acted_on = len(mentions)


def expire_reviews(cfg: Config, wh: Warehouse, now: datetime, out: ActionsReport) -> None:
    """Review items nobody handled within `triage.review_within_hours` become alerts."""
    with wh.transaction() as con:
        out.raised += review.expire(cfg, con, now)


def check_escalation(cfg: Config, wh: Warehouse, now: datetime, out: ActionsReport) -> None:
    if not cfg.escalation.enabled:
        return
    with wh.transaction() as con:
        new = escalation.record(cfg, con, escalation.detect(cfg, con, now), now)
        for e in new:
            subject, body = escalation.message(cfg, e)
            out.raised += alerts.enqueue(
                con,
                alerts.alert_rows(
                    e.kind,
                    e.escalation_id,
                    alerts.route_escalation(cfg, e.school_id),
                    subject,
                    body,
                    school_ids=[e.school_id],
                    now=now,
                    link=(e.parent or {}).get("url"),
                ),
            )
        out.escalations = new


def decide_actions(cfg: Config, wh: Warehouse, now: datetime | None = None) -> ActionsReport:
    """Follow-ups, evidence, flags and alerts for the new mentions, and escalation: written to the
    warehouse, nothing sent.  Never raises (errors are in `.errors`)."""
    now = now or utcnow()
    out = ActionsReport()
    steps = (("protocol", handle_new_mentions), ("review", expire_reviews), ("escalation", check_escalation))
    for name, step in steps:
        try:
            step(cfg, wh, now, out)
        except Exception as e:
            log.debug("%s step failed: %s", name, traceback.format_exc())
            out.errors.append(f"{name}: {type(e).__name__}: {e}")
            log.warning("%s step failed: %s", name, e)
    return out


def deliver_alerts(
    cfg: Config,
    wh: Warehouse,
    out: ActionsReport,
    secrets: Secrets | None = None,
    now: datetime | None = None,
    skip: Collection[str] = (),
) -> ActionsReport:
    """One attempt to deliver every pending alert, earlier failures included (not `skip`: alerts
    this cycle tried already); never raises.

    What it delivered is added to `out.delivered`; `out.failed` becomes what this attempt could
    not deliver (each row says whether the failure is `transient`, worth another try soon)."""
    try:
        dr = alerts.deliver_pending(cfg, wh, secrets or Secrets(), now or utcnow(), skip)
    except Exception as e:
        out.errors.append(f"delivery: {type(e).__name__}: {e}")
        log.warning("alert delivery failed: %s", e)
    else:
        out.delivered += dr.sent
        out.failed = dr.failed
    return out


def act(
    cfg: Config, wh: Warehouse, report: Any = None, now: datetime | None = None, secrets: Secrets | None = None
) -> ActionsReport:
    """Everything the protocol does after a cycle: decide, then deliver; never raises."""
    now = now or utcnow()
    return deliver_alerts(cfg, wh, decide_actions(cfg, wh, now), secrets, now)


def summary(out: ActionsReport) -> list[str]:
    """Terminal lines about what the protocol did."""
    lines = [
        f"Protocol: {len(out.followups)} follow-ups, {out.evidence} evidence records, "
        f"{len(out.flags)} flags, {len(out.escalations)} escalations, {len(out.review)} to review"
    ]
    lines.append(f"Alerts raised: {len(out.raised)}; delivered: {len(out.delivered)}; failed: {len(out.failed)}")
    for a in out.raised:
        lines.append(f"  - [{a['severity']}] {a['channel']} -> {a['recipient']}: {a['subject']}")
    for a in out.failed:
        lines.append(f"  ! {a['channel']} -> {a['recipient'] or '(default)'}: {a['last_error']}")
    for e in out.errors:
        lines.append(f"  ! {e}")
    return lines
