"""Label feedback: people's corrections and dismissals, kept as labelled examples.

`plan_correction` decides what a label correction changes (a plain rule);
`correct_labels` and `dismiss` store it in one transaction the caller owns:
the mention's labels, the classification cache, a `label_feedback` row and,
when the mention has a follow-up, entries in its audit trail
(`followup_events`: who, when, from, to).  `feedback_examples` turns the
table into training examples for `edumon train --include-feedback`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from core.vocabulary import HARM_KINDS, HARMS, SENTIMENTS
from protocol.followups import update_followup

DISMISS_REASONS = {
    "not_about_us": "gaat niet over ons",
    "false_alarm": "vals alarm",
    "other": "anders",
}

UNSET: Any = object()


class FeedbackError(ValueError):
    """A correction that cannot be stored (one line)."""


@dataclass(frozen=True)
class LabelChange:
    field: str  # sentiment | harm | harm_kind
    from_value: str | None
    to_value: str | None


def plan_correction(
    current: dict[str, Any], sentiment: str | None = None, harm: str | None = None, harm_kind: str | None = UNSET
) -> tuple[dict[str, str | None], list[LabelChange]]:
    """The labels after a correction and what changed, or `FeedbackError`.

    Harm ``none`` has no kind; a changed harm without a kind has kind None.
    A correction that changes nothing is refused.
    """
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise FeedbackError(f"unknown sentiment {sentiment!r}; expected one of {', '.join(SENTIMENTS)}")
    if harm is not None and harm not in HARMS:
        raise FeedbackError(f"unknown harm {harm!r}; expected one of {', '.join(HARMS)}")
    if harm_kind is not UNSET and harm_kind is not None and harm_kind not in HARM_KINDS:
        raise FeedbackError(f"unknown harm kind {harm_kind!r}; expected one of {', '.join(HARM_KINDS)}")
    new = {"sentiment": current.get("sentiment"), "harm": current.get("harm"), "harm_kind": current.get("harm_kind")}
    if sentiment is not None:
        new["sentiment"] = sentiment
    if harm is not None:
        new["harm"] = harm
    if harm_kind is not UNSET:
        new["harm_kind"] = harm_kind or None
    if new["harm"] == "none":
        if harm_kind not in (UNSET, None):
            raise FeedbackError("harm 'none' has no harm kind")
        new["harm_kind"] = None
    elif harm is not None and harm_kind is UNSET and harm != current.get("harm"):
        new["harm_kind"] = None  # a new harm without a kind: the old kind no longer fits
    changes = [
        LabelChange(f, current.get(f), new[f]) for f in ("sentiment", "harm", "harm_kind") if new[f] != current.get(f)
    ]
    if not changes:
        raise FeedbackError("nothing to change: these are already the labels")
    return new, changes


def _mention(con: duckdb.DuckDBPyConnection, mention_id: str) -> dict[str, Any]:
    cur = con.execute(
        "SELECT mention_id, text, text_hash, sentiment, harm, harm_kind, classifier FROM mentions WHERE mention_id = ?",
        [mention_id],
    )
    row = cur.fetchone()
    if row is None:
        raise KeyError(mention_id)
    return dict(zip([d[0] for d in cur.description], row))


def _has_followup(con: duckdb.DuckDBPyConnection, mention_id: str) -> bool:
    return con.execute("SELECT 1 FROM followups WHERE mention_id = ?", [mention_id]).fetchone() is not None


def _audit(
    con: duckdb.DuckDBPyConnection,
    mention_id: str,
    by: str,
    now: datetime,
    changes: list[LabelChange],
    note: str | None,
) -> None:
    """Label changes in the follow-up's audit trail, one event per changed field."""
    for c in changes:
        con.execute(
            "INSERT INTO followup_events (event_id, mention_id, event_at, by_whom, field, from_value, "
            "to_value, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [uuid.uuid4().hex, mention_id, now, by, c.field, c.from_value, c.to_value, note],
        )


def _record(
    con: duckdb.DuckDBPyConnection,
    m: dict[str, Any],
    *,
    kind: str,
    reason: str | None,
    about_school: bool,
    labels: dict[str, str | None],
    note: str | None,
    by: str,
    now: datetime,
) -> str:
    fid = uuid.uuid4().hex
    con.execute(
        """INSERT INTO label_feedback (feedback_id, mention_id, text_hash, text, kind, reason, about_school,
                       sentiment, harm, harm_kind, was_sentiment, was_harm, was_harm_kind, classifier, note,
                       by_whom, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            fid,
            m["mention_id"],
            m["text_hash"],
            m["text"],
            kind,
            reason,
            about_school,
            labels.get("sentiment"),
            labels.get("harm"),
            labels.get("harm_kind"),
            m["sentiment"],
            m["harm"],
            m["harm_kind"],
            m["classifier"],
            note,
            by,
            now,
        ],
    )
    return fid


def _who(by: str) -> str:
    if not by or not by.strip():
        raise FeedbackError("who made the change is required (--by)")
    return by.strip()


def correct_labels(
    con: duckdb.DuckDBPyConnection,
    mention_id: str,
    *,
    by: str,
    now: datetime,
    sentiment: str | None = None,
    harm: str | None = None,
    harm_kind: str | None = UNSET,
    note: str | None = None,
) -> list[LabelChange]:
    """Correct a mention's labels: the mention and the label cache take the person's labels, the
    correction is kept in `label_feedback` and, for a follow-up, in its audit trail."""
    by = _who(by)
    note = (note or "").strip() or None
    m = _mention(con, mention_id)
    new, changes = plan_correction(m, sentiment, harm, harm_kind)
    con.execute(
        "UPDATE mentions SET sentiment = ?, harm = ?, harm_kind = ? WHERE mention_id = ?",
        [new["sentiment"], new["harm"], new["harm_kind"], mention_id],
    )
    con.execute(
        "UPDATE classifications SET sentiment = ?, harm = ?, harm_kind = ?, classifier = ?, classified_at = ? "
        "WHERE text_hash = ?",
        [new["sentiment"], new["harm"], new["harm_kind"], f"feedback/{by}", now, m["text_hash"]],
    )
    _record(con, m, kind="correction", reason=None, about_school=True, labels=new, note=note, by=by, now=now)
    if _has_followup(con, mention_id):
        _audit(con, mention_id, by, now, changes, note)
    return changes


def dismissal_labels(current: dict[str, Any], reason: str) -> tuple[bool, dict[str, str | None]]:
    """What a dismissal says about the labels: (about_school, labels).

    ``false_alarm``: nothing harmful and not negative (harm none, a negative
    sentiment becomes neutral).  ``not_about_us``: a relevance mistake, the
    labels are not judged (kept as they were, excluded from training).
    ``other``: no judgement on the labels.
    """
    if reason not in DISMISS_REASONS:
        raise FeedbackError(f"unknown reason {reason!r}; expected one of {', '.join(DISMISS_REASONS)}")
    if reason == "false_alarm":
        sentiment = "neutral" if current.get("sentiment") == "negative" else current.get("sentiment")
        return True, {"sentiment": sentiment, "harm": "none", "harm_kind": None}
    if reason == "not_about_us":
        return False, {"sentiment": None, "harm": None, "harm_kind": None}
    return True, {"sentiment": None, "harm": None, "harm_kind": None}


def dismiss(
    con: duckdb.DuckDBPyConnection, mention_id: str, *, by: str, now: datetime, reason: str, note: str | None = None
) -> list[Any]:
    """Dismiss a follow-up with a reason: the follow-up's status through the protocol's
    `update_followup` (audit trail included) and the dismissal as feedback."""

    by = _who(by)
    m = _mention(con, mention_id)
    about_school, labels = dismissal_labels(m, reason)
    note = (note or "").strip() or None
    full_note = DISMISS_REASONS[reason].capitalize() + (f": {note}" if note else "")
    changes = update_followup(con, mention_id, by=by, now=now, status="dismissed", note=full_note)
    _record(
        con, m, kind="dismissal", reason=reason, about_school=about_school, labels=labels, note=note, by=by, now=now
    )
    return changes


def list_feedback(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict[str, Any]]:
    """The latest feedback rows, newest first."""
    cur = con.execute("SELECT * FROM label_feedback ORDER BY created_at DESC, feedback_id LIMIT ?", [limit])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


_EXAMPLES_SQL = """
SELECT text, sentiment, harm, harm_kind FROM (
    SELECT *, row_number() OVER (PARTITION BY text_hash ORDER BY created_at DESC, feedback_id DESC) AS r
    FROM label_feedback
    WHERE about_school AND sentiment IS NOT NULL AND harm IS NOT NULL
) WHERE r = 1 ORDER BY text_hash
"""


def feedback_examples(wh: Any) -> list[dict[str, Any]]:
    """Labelled examples from people's feedback, one per text (the latest judgement wins):
    ``{"text", "sentiment", "harm", "harm_kind", "source": "feedback"}``.

    Corrections give the corrected labels; a "false alarm" dismissal gives harm
    ``none``; "not about us" and "other" dismissals judge no label and are left out.
    """
    if not wh.path.exists():
        return []
    wh.migrate()
    rows = wh.query(_EXAMPLES_SQL)
    return [{"text": t, "sentiment": s, "harm": h, "harm_kind": k, "source": "feedback"} for t, s, h, k in rows]
