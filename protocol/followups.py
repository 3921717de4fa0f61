"""The "in real life" rule: every negative mention gets a follow-up.

`followup_for` decides the action; `plan_update` decides whether a change by
staff is allowed and what it changes; the rest stores and reads follow-ups
and their audit trail (`followup_events`: who, when, from, to, note).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from core.mention import Mention
from core.vocabulary import FOLLOWUP_ACTIONS, FOLLOWUP_STATUSES

from .db import fetch_dicts, insert_rows, resolve_mention_id

SYSTEM = "edumon"

ACTION_NL = {
    "in_real_life": "in gesprek gaan (in real life)",
    "report_police": "aangifte doen bij de politie",
    "correct_online": "feitelijke fout online corrigeren",
}

DEFAULT_CRIMINAL_KINDS = ("bedreigen", "stalken")


class FollowupError(ValueError):
    """A change to a follow-up that the protocol does not allow (one line)."""


# why a follow-up exists, from its mention: threat | insult | negative (NULL once the mention is gone)
REASON = "CASE WHEN m.mention_id IS NULL THEN NULL WHEN m.harm IN ('threat', 'insult') THEN m.harm ELSE 'negative' END"


def possibly_criminal(m: Mention, criminal_kinds: Sequence[str] = DEFAULT_CRIMINAL_KINDS) -> bool:
    """A threat, or harm of a kind that may be a crime (stalking, ...)."""
    return m.harm == "threat" or (m.harm not in (None, "none") and m.harm_kind in criminal_kinds)


def followup_for(m: Mention, criminal_kinds: Sequence[str] = DEFAULT_CRIMINAL_KINDS) -> str | None:
    """The follow-up action the protocol asks for, or None.

    A possibly criminal statement -> ``report_police``; any other negative or
    harmful mention -> ``in_real_life``; everything else -> None.
    """
    if possibly_criminal(m, criminal_kinds):
        return "report_police"
    if m.sentiment == "negative" or m.harm in ("insult", "threat"):
        return "in_real_life"
    return None


def reason_for(m: Mention) -> str:
    """Why the follow-up exists: threat | insult | negative."""
    return m.harm if m.harm in ("threat", "insult") else "negative"


@dataclass(frozen=True)
class Change:
    field: str
    from_value: str | None
    to_value: str | None


def plan_update(
    current: dict[str, Any],
    action: str | None = None,
    status: str | None = None,
    note: str | None = None,
    confirm: bool = False,
) -> list[Change]:
    """The changes an update makes, or `FollowupError` when the protocol does not allow it.

    - action must be one of FOLLOWUP_ACTIONS, status one of FOLLOWUP_STATUSES;
    - changing the action needs a note (e.g. the factual error to correct online);
    - closing (done / dismissed) needs a note (what was done, or why it is not about us);
    - an update that changes nothing is refused;
    - `confirm`: staff say the (advised) action is done: recorded as an action event even when
      the action stays the same.
    """
    note = (note or "").strip() or None
    if action is not None and action not in FOLLOWUP_ACTIONS:
        raise FollowupError(f"unknown action {action!r}; expected one of {', '.join(FOLLOWUP_ACTIONS)}")
    if status is not None and status not in FOLLOWUP_STATUSES:
        raise FollowupError(f"unknown status {status!r}; expected one of {', '.join(FOLLOWUP_STATUSES)}")
    changes: list[Change] = []
    if action is not None and (action != current["action"] or confirm):
        if not note:
            raise FollowupError(f"changing the action to {action} needs a --note (why)")
        changes.append(Change("action", current["action"], action))
    if status is not None and status != current["status"]:
        if status in ("done", "dismissed") and not note:
            raise FollowupError(f"closing as {status} needs a --note (what was done, or why it is dismissed)")
        changes.append(Change("status", current["status"], status))
    if note and not changes:
        changes.append(Change("note", current.get("note"), note))
    if not changes:
        raise FollowupError("nothing to change (give --action, --status or --note)")
    return changes


# --- storage ---------------------------------------------------------------------------------


def create_followups(
    con: duckdb.DuckDBPyConnection,
    mentions: Sequence[Mention],
    now: datetime,
    criminal_kinds: Sequence[str] = DEFAULT_CRIMINAL_KINDS,
) -> list[str]:
    """Create the follow-ups the rule asks for (existing ones are kept); returns the new mention ids."""
    rows, events = [], []
    existing = (
        {
            r[0]
            for r in con.execute(
                "SELECT mention_id FROM followups WHERE list_contains(?, mention_id)",
                [[m.mention_id for m in mentions]],
            ).fetchall()
        }
        if mentions
        else set()
    )
    for m in mentions:
        action = followup_for(m, criminal_kinds)
        if action is None or m.mention_id in existing:
            continue
        existing.add(m.mention_id)
        rows.append(
            {
                "mention_id": m.mention_id,
                "school_ids": list(m.school_ids),
                "action": action,
                "status": "open",
                "note": None,
                "created_at": now,
                "updated_at": now,
                "updated_by": SYSTEM,
            }
        )
        events.append(
            {
                "event_id": uuid.uuid4().hex,
                "mention_id": m.mention_id,
                "event_at": now,
                "by_whom": SYSTEM,
                "field": "created",
                "from_value": None,
                "to_value": action,
                "note": f"automatisch: {reason_for(m)}",
            }
        )
    insert_rows(con, "followups", rows)
    insert_rows(con, "followup_events", events)
    return [r["mention_id"] for r in rows]


def get_followup(con: duckdb.DuckDBPyConnection, mention_id: str) -> dict[str, Any]:
    """One follow-up with its mention (raises KeyError)."""
    rows = fetch_dicts(
        con,
        f"""
        SELECT f.*, m.text, m.url, m.author, m.source, m.published_at, m.fetched_at, m.harm, m.harm_kind, m.cues,
               m.sentiment, {REASON} AS reason
        FROM followups f LEFT JOIN mentions m USING (mention_id) WHERE f.mention_id = ?""",
        [mention_id],
    )
    if not rows:
        raise KeyError(mention_id)
    return rows[0]


def resolve(con: duckdb.DuckDBPyConnection, given: str) -> str:
    """A follow-up's mention id from an id or unique prefix (raises KeyError / ValueError)."""
    return resolve_mention_id(con, given, "followups")


def update_followup(
    con: duckdb.DuckDBPyConnection,
    mention_id: str,
    *,
    by: str,
    now: datetime,
    action: str | None = None,
    status: str | None = None,
    note: str | None = None,
    confirm: bool = False,
) -> list[Change]:
    """Apply a staff change and record it in the audit trail (one event per changed field);
    `confirm` records an unchanged action as done by staff (see `plan_update`)."""
    if not by or not by.strip():
        raise FollowupError("who made the change is required (--by)")
    current = get_followup(con, mention_id)
    changes = plan_update(current, action, status, note, confirm)
    note = (note or "").strip() or None
    new = {"action": current["action"], "status": current["status"], "note": current["note"]}
    for c in changes:
        new[c.field] = c.to_value
    if note:
        new["note"] = note
    con.execute(
        "UPDATE followups SET action = ?, status = ?, note = ?, updated_at = ?, updated_by = ? WHERE mention_id = ?",
        [new["action"], new["status"], new["note"], now, by.strip(), mention_id],
    )
    insert_rows(
        con,
        "followup_events",
        [
            {
                "event_id": uuid.uuid4().hex,
                "mention_id": mention_id,
                "event_at": now,
                "by_whom": by.strip(),
                "field": c.field,
                "from_value": c.from_value,
                "to_value": c.to_value,
                "note": note,
            }
            for c in changes
        ],
    )
    return changes


def history(con: duckdb.DuckDBPyConnection, mention_id: str) -> list[dict[str, Any]]:
    """The audit trail of one follow-up, oldest first."""
    return fetch_dicts(con, "SELECT * FROM followup_events WHERE mention_id = ? ORDER BY event_at, field", [mention_id])


def list_followups(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    *,
    school: str | None = None,
    status: str | None = None,
    older_than: timedelta | None = None,
    newer_than: timedelta | None = None,
) -> list[dict[str, Any]]:
    """Follow-ups filtered by school, status and age (since creation), oldest first."""
    where, params = ["1=1"], []
    if school:
        where.append("list_contains(f.school_ids, ?)")
        params.append(school)
    if status:
        where.append("f.status = ?")
        params.append(status)
    if older_than is not None:
        where.append("f.created_at <= ?")
        params.append(now - older_than)
    if newer_than is not None:
        where.append("f.created_at >= ?")
        params.append(now - newer_than)
    return fetch_dicts(
        con,
        f"""
        SELECT f.*, m.text, m.url, m.source, m.author, m.harm, {REASON} AS reason
        FROM followups f LEFT JOIN mentions m USING (mention_id)
        WHERE {" AND ".join(where)} ORDER BY f.created_at, f.mention_id""",
        params,
    )


# --- each school its own decision (issue 17) ------------------------------------------------------


def school_decisions(
    con: duckdb.DuckDBPyConnection, mention_ids: Sequence[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The latest decision per (mention, school) of follow-ups closed by one of their schools."""
    if not mention_ids:
        return {}
    rows = fetch_dicts(
        con,
        "SELECT * FROM followup_school_decisions WHERE mention_id IN (SELECT unnest(?)) ORDER BY decided_at",
        [list(mention_ids)],
    )
    return {(r["mention_id"], r["school_id"]): r for r in rows}


def combined_decision(school_ids: Sequence[str], decided: dict[str, dict[str, Any]]) -> tuple[str, str | None] | None:
    """The follow-up's own (status, reason) once every school decided, else None: dismissed (with the
    reason) only when all dismissed for the same reason, dismissed as "other" when their reasons
    differ, done when at least one school handled it. One school never outvotes another."""
    if not school_ids or any(s not in decided for s in school_ids):
        return None
    statuses = {decided[s]["status"] for s in school_ids}
    if statuses != {"dismissed"}:
        return "done", None
    reasons = {decided[s]["reason"] for s in school_ids}
    return "dismissed", reasons.pop() if len(reasons) == 1 else "other"


def decide_for_schools(
    con: duckdb.DuckDBPyConnection,
    mention_id: str,
    schools: Sequence[str],
    *,
    by: str,
    now: datetime,
    status: str,
    note: str,
    reason: str | None = None,
) -> tuple[str, str | None] | None:
    """Close a follow-up for some of its schools only (a leader's decision for their own school):
    recorded per school and in the audit trail; the follow-up itself is untouched. Returns
    `combined_decision` once every school has decided (the caller then closes the follow-up)."""
    if status not in ("done", "dismissed"):
        raise FollowupError(f"a school's decision is done or dismissed, not {status!r}")
    if not note.strip():
        raise FollowupError(f"closing as {status} needs a --note (what was done, or why it is dismissed)")
    current = get_followup(con, mention_id)
    before = school_decisions(con, [mention_id])
    rows, events = [], []
    for sid in schools:
        was = before.get((mention_id, sid), {}).get("status", current["status"])
        rows.append(dict(decision_id=uuid.uuid4().hex, mention_id=mention_id, school_id=sid, status=status))
        rows[-1].update(reason=reason, note=note.strip())
        rows[-1].update(by_whom=by, decided_at=now)
        events.append(
            {
                "event_id": uuid.uuid4().hex,
                "mention_id": mention_id,
                "event_at": now,
                "by_whom": by,
                "field": f"status:{sid}",
                "from_value": was,
                "to_value": status,
                "note": note.strip(),
            }
        )
    insert_rows(con, "followup_school_decisions", rows)
    insert_rows(con, "followup_events", events)
    decided = {sid: r for (mid, sid), r in school_decisions(con, [mention_id]).items()}
    return combined_decision(current["school_ids"], decided)
