"""The review queue ("Te beoordelen"): posts triage sent to comms staff rather than to a leader.

Each mention the protocol acts on gets one `triage` row (decision, urgency, kind, language, the Dutch
reason). A `review` row starts `open`. Comms staff confirm it (the alert is raised at once) or dismiss
it (a labelled correction, harm none, that `edumon train --include-feedback` learns from). An item
nobody handled within `triage.review_within_hours` becomes an alert on the next cycle (`expired`), so
nothing waits forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import duckdb

from classifiers.base import Labels
from classifiers.language import post_language
from core.config import Config
from core.mention import Mention
from warehouse.rows import MENTION_COLS, mention_from_row

from . import alerts
from .db import fetch_dicts
from .feedback import FeedbackError, correct_labels
from .triage import Triage, triage

REVIEW_STATUSES = ("open", "confirmed", "dismissed", "expired")
# the mention's columns, qualified: `triage` has a `lang` and a `created_at` of its own
_M = ", ".join(f"m.{c.strip()}" for c in MENTION_COLS.split(","))


def mention_triage(cfg: Config, m: Mention) -> Triage | None:
    """Triage of a stored mention (None when it was never classified)."""
    if not m.harm:
        return None
    labels = Labels(m.sentiment or "neutral", m.harm, m.harm_kind, dict(m.scores or {}), tuple(m.cues or ()))
    return triage(labels, post_language(m.lang, m.text), cfg.triage)


def triage_row(cfg: Config, m: Mention, t: Triage, now: datetime) -> dict[str, Any]:
    return {
        "mention_id": m.mention_id,
        "decision": t.decision,
        "urgency": t.urgency,
        "kind": t.kind,
        "lang": post_language(m.lang, m.text),
        "reason": t.reason,
        "created_at": now,
        "review_status": "open" if t.decision == "review" else None,
        "reviewed_by": None,
        "reviewed_at": None,
    }


def alert_for(cfg: Config, m: Mention, kind: str, reason: str, now: datetime, ref_suffix: str = "") -> list[dict]:
    """The alert rows about one mention (kind threat or insult), with the Dutch reason."""
    subject, body = alerts.mention_message(cfg, m, kind, reason=reason)
    return alerts.alert_rows(
        kind,
        m.mention_id + ref_suffix,
        alerts.route_schools(cfg, m.school_ids),
        subject,
        body,
        school_ids=m.school_ids,
        now=now,
        mention_id=m.mention_id,
        link=m.url,
    )


def queue(con: duckdb.DuckDBPyConnection, school_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Open review items, urgent first, oldest first; each with its mention's fields and `reason`."""
    rows = fetch_dicts(
        con,
        f"""SELECT {_M}, t.urgency AS triage_urgency, t.kind AS triage_kind, t.reason AS triage_reason,
                   t.created_at AS queued_at
            FROM triage t JOIN mentions m USING (mention_id)
            WHERE t.review_status = 'open' AND m.deleted_at IS NULL
            ORDER BY t.urgency = 'urgent' DESC, t.created_at, m.mention_id""",
    )
    if school_ids is not None:
        rows = [r for r in rows if set(r["school_ids"] or []) & set(school_ids)]
    return rows


def _open_item(con: duckdb.DuckDBPyConnection, mention_id: str) -> tuple[Mention, dict[str, Any]]:
    rows = fetch_dicts(
        con,
        f"""SELECT {_M}, t.kind AS triage_kind, t.reason AS triage_reason, t.review_status
            FROM triage t JOIN mentions m USING (mention_id) WHERE t.mention_id = ?""",
        [mention_id],
    )
    if not rows:
        raise FeedbackError(f"no review item for mention {mention_id}")
    if rows[0]["review_status"] != "open":
        raise FeedbackError(f"mention {mention_id} is not waiting for review (status {rows[0]['review_status']})")
    return mention_from_row(rows[0]), rows[0]


def _close(con: duckdb.DuckDBPyConnection, mention_id: str, status: str, by: str, now: datetime) -> None:
    con.execute(
        "UPDATE triage SET review_status = ?, reviewed_by = ?, reviewed_at = ? WHERE mention_id = ?",
        [status, by, now, mention_id],
    )


def confirm(cfg: Config, con: duckdb.DuckDBPyConnection, mention_id: str, *, by: str, now: datetime) -> list[dict]:
    """A person says the post is harmful: the alert is raised now (returns the new alert rows)."""
    if not by.strip():
        raise FeedbackError("who confirmed is required")
    m, item = _open_item(con, mention_id)
    reason = f"Bevestigd door {by.strip()} na beoordeling. {item['triage_reason']}"
    raised = alerts.enqueue(con, alert_for(cfg, m, item["triage_kind"] or "insult", reason, now))
    _close(con, mention_id, "confirmed", by.strip(), now)
    return raised


def dismiss(
    con: duckdb.DuckDBPyConnection, mention_id: str, *, by: str, now: datetime, note: str | None = None
) -> None:
    """A person says the post is harmless: harm none is stored as a labelled correction (training data)."""
    m, _ = _open_item(con, mention_id)
    sentiment = "neutral" if m.sentiment == "negative" else m.sentiment
    correct_labels(con, mention_id, by=by, now=now, harm="none", harm_kind=None, sentiment=sentiment, note=note)
    _close(con, mention_id, "dismissed", by.strip(), now)


def expire(cfg: Config, con: duckdb.DuckDBPyConnection, now: datetime) -> list[dict]:
    """Open items older than `triage.review_within_hours` become alerts (returns the new alert rows)."""
    cutoff = now - timedelta(hours=cfg.triage.review_within_hours)
    rows = fetch_dicts(
        con,
        f"""SELECT {_M}, t.kind AS triage_kind, t.reason AS triage_reason
            FROM triage t JOIN mentions m USING (mention_id)
            WHERE t.review_status = 'open' AND t.created_at <= ? AND m.deleted_at IS NULL""",
        [cutoff],
    )
    raised: list[dict] = []
    hours = f"{cfg.triage.review_within_hours:g}"
    for r in rows:
        m = mention_from_row(r)
        reason = f"Niemand heeft dit bericht binnen {hours} uur beoordeeld; daarom nu een melding. {r['triage_reason']}"
        raised += alerts.enqueue(con, alert_for(cfg, m, r["triage_kind"] or "insult", reason, now))
        _close(con, m.mention_id, "expired", "edumon", now)
    return raised
