"""What the review page reads and writes, on short warehouse connections.

Reads are read-only connections; every write is one short
`Warehouse.transaction()` that goes through the protocol's and the feedback
module's functions, the same ones the CLI uses.  One lock per process keeps
the page's own connections from overlapping (DuckDB refuses a read-only and a
read-write connection to one file in one process), but it is held for one
connection attempt at a time, never while waiting for another process.

While another process (a monitoring cycle) holds the warehouse's lock, nothing
queues: a read tries for READ_WAIT_S and then serves the last answer it had for
the same question (marked with its time, `as_of`), or says "bezig"
(`WarehouseLocked`); a write tries for WRITE_WAIT_S, and a second write while
one is already waiting says "bezig" (`Busy`) at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import duckdb

from core.config import Config
from core.vocabulary import FOLLOWUP_STATUSES as STATUSES
from core.vocabulary import HARMS, SOURCES
from protocol import review
from protocol.evidence import evidence_for
from protocol.feedback import correct_labels, dismiss
from protocol.followups import REASON, decide_for_schools, get_followup, history, school_decisions, update_followup
from warehouse import Warehouse, WarehouseLocked

T = TypeVar("T")

PERIODS = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30), "all": None}
MAX_ITEMS = 200  # follow-ups shown per school; the counts still count them all
ACTS = ("note", "done", "dismissed", "correct_online", "report_police")
READ_WAIT_S = 2.0  # a read waits this long for another process's lock, then serves its last answer
WRITE_WAIT_S = 2.0  # a write waits this long, then says "bezig"
CACHE_ENTRIES = 256  # last answers kept for reads while the warehouse is locked


class Busy(RuntimeError):
    """Another write of the page is already waiting for the warehouse: this one is not queued."""


class NotFound(LookupError):
    """No such follow-up, or not one this user may see (the page never says which)."""


@dataclass
class Filters:
    """The overview's filters; unknown values fall back to the defaults."""

    school: str | None = None
    status: str = "open"
    harm: str | None = None
    source: str | None = None
    period: str = "all"
    page: int = 1  # pages of MAX_ITEMS follow-ups per school

    @classmethod
    def from_query(cls, q: Any) -> Filters:
        def pick(name: str, allowed: Sequence[str], default: Any) -> Any:
            v = q.get(name) or None
            return v if v in allowed else default

        return cls(
            school=q.get("school") or None,
            status=pick("status", STATUSES + ("all",), "open"),
            harm=pick("harm", HARMS, None),
            source=pick("source", SOURCES, None),
            period=pick("period", tuple(PERIODS), "all"),
            page=int(q.get("pagina"))
            if str(q.get("pagina") or "").isdigit() and 0 < int(q.get("pagina")) < 10**6
            else 1,
        )

    def since(self, now: datetime) -> datetime | None:
        span = PERIODS[self.period]
        return None if span is None else now - span


@dataclass
class SchoolSection:
    school_id: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)  # status -> follow-ups matching the other filters
    items: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    more: int = 0  # matching follow-ups after this page
    before: int = 0  # matching follow-ups on earlier pages
    as_of: datetime | None = None  # set when the warehouse was locked and this is an earlier answer


SEVERITY_SQL = (
    "CASE WHEN m.harm = 'threat' OR f.action = 'report_police' THEN 3 WHEN m.harm = 'insult' THEN 2 ELSE 1 END"
)


# who last set a follow-up's action: the protocol (advice) or a staff member (done)
ACTION_BY_SQL = (
    "(SELECT arg_max(e.by_whom, e.event_at) FROM followup_events e "
    "WHERE e.mention_id = f.mention_id AND e.field IN ('action', 'created'))"
)


def group_alerts(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per subject (the mention, or a spike's / source's ref): its kinds, schools, how many
    messages went out and their delivery states, an excerpt of the post and its follow-up's status;
    urgent subjects first, then newest first."""
    out: dict[str | None, dict[str, Any]] = {}
    for r in rows:
        a = out.setdefault(
            r["ref"], {**r, "kinds": [], "schools": set(), "statuses": set(), "deliveries": 0, "urgent": False}
        )
        if r["kind"] not in a["kinds"]:
            a["kinds"].append(r["kind"])
        a["schools"].update(s for s in (r["school_id"] or "").split(",") if s)
        a["statuses"].add(r["status"])
        a["deliveries"] += 1
        a["urgent"] = a["urgent"] or r["severity"] == "urgent"
        a["created_at"] = min(a["created_at"], r["created_at"])
    for a in out.values():
        a["statuses"] = sorted(a["statuses"])
        a["excerpt"] = excerpt(a.get("text"))
        a["open"] = a.get("followup_status") in (None, "open")  # urgent only while it is open
    return sorted(out.values(), key=lambda a: not (a["urgent"] and a["open"]))


def excerpt(text: str | None, chars: int = 160) -> str:
    """The first `chars` characters of a post, on one line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= chars else flat[: chars - 1].rstrip() + "…"


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


class ReviewStore:
    """The page's access to one warehouse."""

    def __init__(self, cfg: Config, wh: Warehouse | None = None) -> None:
        self.cfg = cfg
        self.wh = wh or Warehouse(cfg.warehouse.path, lock_timeout_s=cfg.warehouse.lock_timeout_s)
        self._once = Warehouse(self.wh.path, lock_timeout_s=0)  # one attempt; `_attempt` retries
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._cache_lock = threading.Lock()
        self._cache: OrderedDict[Hashable, tuple[datetime, Any]] = OrderedDict()
        self.school_names = {s.id: s.name for s in cfg.schools}

    # --- plumbing ------------------------------------------------------------------------
    def migrate(self) -> None:
        with self._lock:
            self.wh.migrate()

    def _attempt(self, fn: Callable[[duckdb.DuckDBPyConnection], T], write: bool, wait_s: float) -> T:
        """fn on a fresh connection; tries again for `wait_s` while another process holds the lock,
        holding the page's own lock only for one attempt at a time (so nothing queues behind it)."""
        deadline = time.monotonic() + wait_s
        while True:
            with self._lock, ExitStack() as stack:
                try:
                    con = stack.enter_context(self._once.transaction() if write else self._once.connect(True))
                except WarehouseLocked:
                    con = None
                if con is not None:
                    return fn(con)
            if time.monotonic() >= deadline:
                raise WarehouseLocked(f"{self.wh.path}: the database is locked by another process")
            time.sleep(0.1)

    def _read(self, fn: Callable[[duckdb.DuckDBPyConnection], T], key: Hashable) -> tuple[T, datetime | None]:
        """fn's answer and None, or (warehouse locked) the last answer to `key` and when it was read."""
        try:
            value = self._attempt(fn, False, READ_WAIT_S)
        except WarehouseLocked:
            with self._cache_lock:
                if key not in self._cache:
                    raise
                at, value = self._cache[key]
            return value, at
        with self._cache_lock:
            self._cache[key] = (datetime.now(timezone.utc), value)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return value, None

    def _write(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        if not self._writing.acquire(blocking=False):
            raise Busy("another change is waiting for the warehouse")
        try:
            return self._attempt(fn, True, WRITE_WAIT_S)
        finally:
            self._writing.release()

    # --- the review queue (triage "review") --------------------------------------------------
    def review_queue(self, visible: Sequence[str]) -> tuple[list[dict[str, Any]], datetime | None]:
        """The open review items of these schools, and when they were read if the warehouse was busy."""
        return self._read(lambda con: review.queue(con, list(visible)), ("review_queue", tuple(visible)))

    def review_decide(self, visible: Sequence[str], mention_id: str, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run a confirm/dismiss in one write, only for a mention of a visible school (else NotFound)."""

        def write(con: duckdb.DuckDBPyConnection) -> T:
            self._check_visible(con, visible, mention_id)
            return fn(con)

        return self._write(write)

    # --- reads ---------------------------------------------------------------------------
    def overview(self, visible: Sequence[str], flt: Filters, now: datetime) -> list[SchoolSection]:
        """Per visible school: follow-ups (most severe, then newest first), counts per status, alerts."""
        schools = [s for s in visible if flt.school in (None, s)]
        if not schools:
            return []

        def read(con: duckdb.DuckDBPyConnection) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
            where, params = ["list_has_any(f.school_ids, ?)"], [list(schools)]
            if flt.harm:
                where.append("coalesce(m.harm, 'none') = ?")
                params.append(flt.harm)
            if flt.source:
                where.append("m.source = ?")
                params.append(flt.source)
            since = flt.since(now)
            if since is not None:  # as the digest: mentions fetched in the period, not deleted
                where.append("m.fetched_at >= ? AND m.fetched_at < ? AND m.deleted_at IS NULL")
                params += [since, now]
            rows = _dicts(
                con,
                f"""
                SELECT f.mention_id, f.school_ids, f.action, f.status, f.note, {REASON} AS reason, f.created_at,
                       f.updated_at, f.updated_by, m.text, m.title, m.url, m.source, m.author,
                       m.published_at, m.fetched_at, m.sentiment, m.harm, m.harm_kind, m.cues, m.has_media,
                       {SEVERITY_SQL} AS severity, {ACTION_BY_SQL} AS action_by
                FROM followups f LEFT JOIN mentions m USING (mention_id)
                WHERE {" AND ".join(where)}
                ORDER BY severity DESC, coalesce(m.published_at, m.fetched_at, f.created_at) DESC, f.mention_id""",
                params,
            )
            a_where, a_params = ["list_has_any(string_split(a.school_id, ','), ?)"], [list(schools)]
            if since is not None:
                a_where.append("a.created_at >= ?")
                a_params.append(since)
            alert_rows = _dicts(
                con,
                f"""
                SELECT a.school_id, a.kind, a.severity, coalesce(am.ref, a.mention_id) AS ref, a.mention_id,
                       am.subject, a.status, a.created_at, am_m.text, fu.status AS followup_status
                FROM alerts a LEFT JOIN alert_messages am USING (alert_id)
                     LEFT JOIN mentions am_m ON am_m.mention_id = a.mention_id
                     LEFT JOIN followups fu ON fu.mention_id = a.mention_id
                WHERE {" AND ".join(a_where)}
                ORDER BY a.severity = 'urgent' DESC, a.created_at DESC, a.alert_id""",
                a_params,
            )
            alerts = group_alerts(alert_rows)
            ids = [r["mention_id"] for r in rows]
            by_id = {r["mention_id"]: {**r, "decided": {}} for r in rows}
            rows = list(by_id.values())
            for (mid, sid), d in school_decisions(con, ids).items():  # a school's own decision (issue 17)
                by_id[mid]["decided"][sid] = d["status"]
            return rows, alerts, self._flags(con, ids)

        key = ("overview", tuple(schools), flt.status, flt.harm, flt.source, flt.period)
        (rows, alerts, flags), as_of = self._read(read, key)
        sections = []
        for sid in schools:
            sec = SchoolSection(sid, self.school_names.get(sid, sid), {s: 0 for s in STATUSES}, as_of=as_of)
            for r in rows:
                if sid not in r["school_ids"]:
                    continue
                r = {**r, "status": r["decided"].get(sid, r["status"])}
                sec.counts[r["status"]] = sec.counts.get(r["status"], 0) + 1
                if flt.status in ("all", r["status"]):
                    if sec.before < (flt.page - 1) * MAX_ITEMS:
                        sec.before += 1
                    elif len(sec.items) < MAX_ITEMS:
                        sec.items.append({**r, "flags": flags.get(r["mention_id"], [])})
                    else:
                        sec.more += 1
            sec.alerts = [a for a in alerts if sid in a["schools"]]
            sections.append(sec)
        return sections

    @staticmethod
    def _flags(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Protocol flags per mention: media consent, staff disclosure (flags) and spike / pile-on (escalations)."""
        out: dict[str, list[dict[str, Any]]] = {}
        if not ids:
            return out
        for r in _dicts(
            con,
            "SELECT mention_id, kind, detail FROM flags WHERE mention_id IN (SELECT unnest(?)) ORDER BY created_at",
            [list(ids)],
        ):
            out.setdefault(r["mention_id"], []).append({"kind": r["kind"], "detail": r["detail"]})
        for r in _dicts(
            con,
            """SELECT DISTINCT mid AS mention_id, kind FROM
                                (SELECT unnest(mention_ids) AS mid, kind FROM escalations)
                                WHERE mid IN (SELECT unnest(?))""",
            [list(ids)],
        ):
            out.setdefault(r["mention_id"], []).append({"kind": r["kind"], "detail": None})
        return out

    def followup(self, visible: Sequence[str], mention_id: str) -> dict[str, Any]:
        """One follow-up with its mention, flags, audit trail, evidence and feedback; `NotFound` when
        it does not exist or belongs to none of the user's schools."""

        def read(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
            try:
                f = get_followup(con, mention_id)
            except KeyError:
                raise NotFound(mention_id) from None
            if not set(f["school_ids"]) & set(visible):
                raise NotFound(mention_id)
            extra = _dicts(
                con, "SELECT title, author_id, has_media, lang, target FROM mentions WHERE mention_id = ?", [mention_id]
            )
            f.update(extra[0] if extra else {})
            f["flags"] = self._flags(con, [mention_id]).get(mention_id, [])
            f["history"] = history(con, mention_id)
            decided = {sid: d for (_, sid), d in school_decisions(con, [mention_id]).items()}
            f["school_status"] = {sid: decided.get(sid, {}).get("status", f["status"]) for sid in f["school_ids"]}
            mine = {f["school_status"][sid] for sid in f["school_ids"] if sid in visible}
            f["status"] = mine.pop() if len(mine) == 1 else f["status"]  # the user's own schools' status
            f["action_by"] = next(
                (e["by_whom"] for e in reversed(f["history"]) if e["field"] in ("action", "created")), None
            )
            f["evidence"] = evidence_for(con, mention_id)
            f["feedback"] = _dicts(
                con, "SELECT * FROM label_feedback WHERE mention_id = ? ORDER BY created_at", [mention_id]
            )
            f["alerts"] = _dicts(
                con,
                "SELECT * FROM alerts LEFT JOIN alert_messages USING (alert_id) "
                "WHERE coalesce(ref, mention_id) = ? "
                "AND list_has_any(string_split(school_id, ','), ?) ORDER BY created_at",
                [mention_id, list(visible)],
            )
            return f

        f, as_of = self._read(read, ("followup", tuple(visible), mention_id))
        return {**f, "as_of": as_of}

    # --- writes (the CLI's functions, one short transaction each) -----------------------------
    def _check_visible(self, con: duckdb.DuckDBPyConnection, visible: Sequence[str], mention_id: str) -> None:
        row = con.execute("SELECT school_ids FROM followups WHERE mention_id = ?", [mention_id]).fetchone()
        if row is None or not set(row[0]) & set(visible):
            raise NotFound(mention_id)

    def act(
        self,
        visible: Sequence[str],
        mention_id: str,
        *,
        by: str,
        act: str,
        note: str | None,
        reason: str | None = None,
        now: datetime | None = None,
    ) -> list[Any]:
        """A follow-up action: note | done | dismissed (with reason) | correct_online | report_police."""
        when = now or datetime.now(timezone.utc)

        def write(con: duckdb.DuckDBPyConnection) -> list[Any]:
            self._check_visible(con, visible, mention_id)
            schools = get_followup(con, mention_id)["school_ids"]
            mine = [s for s in schools if s in visible]
            if act in ("done", "dismissed") and len(mine) < len(schools):
                return self._decide_for(con, mention_id, mine, by=by, now=when, act=act, note=note, reason=reason)
            if act == "dismissed":
                return dismiss(con, mention_id, by=by, now=when, reason=reason or "other", note=note)
            if act == "done":
                return update_followup(con, mention_id, by=by, now=when, status="done", note=note)
            if act in ("correct_online", "report_police"):
                return update_followup(con, mention_id, by=by, now=when, action=act, note=note, confirm=True)
            if act == "note":
                return update_followup(con, mention_id, by=by, now=when, note=note)
            raise ValueError(f"unknown action {act!r}")

        return self._write(write)

    @staticmethod
    def _decide_for(
        con: duckdb.DuckDBPyConnection,
        mention_id: str,
        schools: Sequence[str],
        *,
        by: str,
        now: datetime,
        act: str,
        note: str | None,
        reason: str | None,
    ) -> list[Any]:
        """A leader closes a follow-up about several schools for their own schools only; once every
        school decided, the follow-up closes (a dismissal as training data only if all agreed)."""
        why = (reason or "other") if act == "dismissed" else None
        combined = decide_for_schools(con, mention_id, schools, by=by, now=now, status=act, note=note or "", reason=why)
        if combined is None:
            return []
        status, why = combined
        closing = "Alle scholen hebben besloten"
        if status == "dismissed":
            return dismiss(con, mention_id, by=by, now=now, reason=why or "other", note=closing)
        return update_followup(con, mention_id, by=by, now=now, status="done", note=closing)

    def correct(
        self,
        visible: Sequence[str],
        mention_id: str,
        *,
        by: str,
        sentiment: str | None,
        harm: str | None,
        harm_kind: str | None,
        note: str | None,
        now: datetime | None = None,
    ) -> list[Any]:
        """Correct a follow-up's labels (kept in `label_feedback` and the audit trail)."""
        when = now or datetime.now(timezone.utc)

        def write(con: duckdb.DuckDBPyConnection) -> list[Any]:
            self._check_visible(con, visible, mention_id)
            return correct_labels(
                con, mention_id, by=by, now=when, sentiment=sentiment, harm=harm, harm_kind=harm_kind, note=note
            )

        return self._write(write)
