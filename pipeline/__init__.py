"""One monitoring cycle as plain functions: fetch -> relevance -> classify -> urgent alerts -> store.

The Prefect flow (`flows/monitor.py`) runs the same functions as tasks;
`run_cycle` runs them in order without Prefect.  Nothing is written until
every target has been fetched, and then everything of the cycle is written
in one short transaction: mentions, classifications, cursors and
`source_runs` together.  A crash before that loses nothing (the cursors
were not moved, the next cycle fetches the same items again), and a re-run
stores nothing twice.

Urgent alerts (triage `alert`, urgency `urgent`: threats) go out right after classification,
before the store (`protocol.urgent`, recorded in a ledger beside the warehouse), so a locked
warehouse never delays them; the reads before them (spool replay, cursors, cached labels) wait
at most `QUICK_READ_S` for the lock. After the protocol's actions, the analysts' copy is
published (`warehouse.publish`), so analysts never open the main file.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import protocol
from classifiers import Classifier, load_classifier
from connectors import FetchResult, Target, all_targets, connector
from core.config import Config
from core.mention import Mention, utcnow
from core.secrets import Secrets, redact
from pipeline import hooks
from pipeline.relevance import match_mention
from protocol import urgent
from warehouse import (
    Warehouse,
    WarehouseLocked,
    record_run,
    save_labels,
    save_state,
    spool,
    upsert_mentions,
    views,
    warehouse_for,
)
from warehouse.publish import publish
from warehouse.rows import mention_from_row

log = logging.getLogger("edumon.cycle")

QUICK_READ_S = 1.0  # before the urgent alerts, a read waits at most this long for the warehouse's lock


@dataclass
class TargetReport:
    source: str
    target: str
    status: str
    error: str | None = None
    http_status: int | None = None
    requests: int = 0
    fetched: int = 0
    relevant: int = 0
    new: int = 0
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime = field(default_factory=utcnow)
    newest_item_at: datetime | None = None  # the newest item's date: source health judges silence on it


@dataclass
class CycleReport:
    cycle_id: str
    started_at: datetime
    finished_at: datetime | None = None
    targets: list[TargetReport] = field(default_factory=list)
    stored: list[Mention] = field(default_factory=list)  # mentions stored for the first time
    spooled: int = 0  # mentions kept in the spool (warehouse locked)
    replayed: int = 0  # mentions written from an earlier spool
    error: str | None = None
    actions: Any = None  # protocol.ActionsReport
    urgent: Any = None  # protocol.urgent.UrgentReport: urgent alerts sent before the store
    published: str | None = None  # the analysts' copy, when this cycle published it

    @property
    def failed(self) -> list[TargetReport]:
        return [t for t in self.targets if t.status in ("failed", "rate_limited")]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.error


def spool_dir(cfg: Config) -> Path:
    return Path(cfg.warehouse.spool_dir) if cfg.warehouse.spool_dir else Path(cfg.warehouse.path).parent / "spool"


def quick_warehouse(cfg: Config) -> Warehouse:
    """The warehouse for the reads before the urgent alerts: a lock held by another process is
    waited for at most `QUICK_READ_S` (then: replay later, fetch without cursors, classify all)."""
    return Warehouse(cfg.warehouse.path, lock_timeout_s=min(QUICK_READ_S, cfg.warehouse.lock_timeout_s))


def secret_values(cfg: Config, secrets: Secrets) -> list[str]:
    names = [s.app_password_env for s in cfg.sources.bluesky] + [s.access_token_env for s in cfg.sources.mastodon]
    return secrets.values(*names)


# --- steps ---------------------------------------------------------------------------------


def fetch_target(target: Target, state: dict[str, Any], secrets: Secrets) -> tuple[FetchResult, TargetReport]:
    """Fetch one target; an unexpected exception becomes a failed result, never a crash."""
    started = utcnow()
    try:
        result = connector(target.source).fetch(target, dict(state), secrets)
    except Exception as e:  # a connector bug must not stop the other sources
        log.debug("connector crashed: %s", traceback.format_exc())
        result = FetchResult(
            target=target, state=dict(state), status="failed", error=f"connector error: {type(e).__name__}: {e}"
        )
    report = TargetReport(
        target.source,
        target.key,
        result.status,
        result.error,
        result.http_status,
        result.requests,
        len(result.mentions),
        started_at=started,
        finished_at=utcnow(),
        newest_item_at=max((m.published_at for m in result.mentions if m.published_at), default=None),
    )
    return result, report


def assign_schools(cfg: Config, mentions: Sequence[Mention]) -> list[Mention]:
    """Set `school_ids` on each mention and keep only those about a school."""
    kept = []
    for m in mentions:
        m.school_ids = match_mention(m, cfg.schools)
        if m.school_ids:
            kept.append(m)
    return kept


def classify(mentions: Sequence[Mention], classifier: Classifier, cached: dict[str, dict[str, Any]]) -> int:
    """Label the mentions, reusing cached labels by text hash; returns how many texts were classified."""
    todo: dict[str, str] = {}
    for m in mentions:
        if m.text_hash not in cached:
            todo.setdefault(m.text_hash, m.text)
    fresh: dict[str, dict[str, Any]] = {}
    if todo:
        hashes = list(todo)
        labels = classifier.classify([todo[h] for h in hashes])
        if len(labels) != len(hashes):
            raise RuntimeError(f"classifier returned {len(labels)} labels for {len(hashes)} texts")
        for h, lab in zip(hashes, labels):
            fresh[h] = {
                "sentiment": lab.sentiment,
                "harm": lab.harm,
                "harm_kind": lab.harm_kind,
                "scores": dict(lab.scores),
                "cues": list(lab.cues),
                "classifier": lab.classifier,
            }
    for m in mentions:
        found = cached.get(m.text_hash) or fresh[m.text_hash]
        m.sentiment, m.harm, m.harm_kind = found["sentiment"], found["harm"], found["harm_kind"]
        m.scores, m.cues, m.classifier = dict(found["scores"]), list(found["cues"]), found["classifier"]
    return len(todo)


def store(
    wh: Warehouse,
    cycle_id: str,
    mentions: Sequence[Mention],
    states: Sequence[tuple[str, str, dict[str, Any]]],
    reports: Sequence[TargetReport],
) -> list[Mention]:
    """Write one cycle in one transaction; returns the mentions stored for the first time."""
    with wh.transaction() as con:
        res = upsert_mentions(con, mentions)
        save_labels(con, mentions)
        hooks.checkpoint("mid-store")
        for source, target, state in states:
            save_state(con, source, target, state)
        new_ids = set(res.inserted_ids)
        new = [m for m in mentions if m.mention_id in new_ids]
        seen: set[str] = set()
        for r in reports:
            r.new = 0
        by_target = {(r.source, r.target): r for r in reports}
        for m in new:
            if m.mention_id in seen:
                continue
            seen.add(m.mention_id)
            rep = by_target.get((m.source, m.target or ""))
            if rep:
                rep.new += 1
        for r in reports:
            record_run(
                con,
                cycle_id=cycle_id,
                source=r.source,
                target=r.target,
                status=r.status,
                error=r.error,
                http_status=r.http_status,
                requests=r.requests,
                fetched=r.fetched,
                relevant=r.relevant,
                new=r.new,
                started_at=r.started_at,
                finished_at=r.finished_at,
                newest_item_at=r.newest_item_at,
            )
    # first occurrence per id only
    out, seen = [], set()
    for m in new:
        if m.mention_id not in seen:
            seen.add(m.mention_id)
            out.append(m)
    return out


def replay_spool(cfg: Config, wh: Warehouse, report: CycleReport | None = None) -> int:
    """Write what earlier cycles spooled; returns the number of mentions written.

    With `report`, the mentions stored for the first time are added to
    `report.stored` (they are new this cycle: alerts and the digest must see
    them), and a damaged spool file is set aside as `*.bad` and named in
    `report.error` instead of stopping every cycle from now on.
    """
    n = 0
    for path, payload in spool.pending(spool_dir(cfg)):
        try:
            if payload is None:
                raise ValueError("not valid JSON")
            mentions = [mention_from_row(d) for d in payload["mentions"]]
            reports = [
                TargetReport(
                    **{
                        **r,
                        "started_at": datetime.fromisoformat(r["started_at"]),
                        "finished_at": datetime.fromisoformat(r["finished_at"]),
                        "newest_item_at": datetime.fromisoformat(r["newest_item_at"])
                        if r.get("newest_item_at")
                        else None,
                    }
                )
                for r in payload["reports"]
            ]
            states = [(str(s[0]), str(s[1]), dict(s[2])) for s in payload["states"]]
            cycle_id = str(payload["cycle_id"])
        except (ValueError, KeyError, TypeError, IndexError) as e:
            bad = spool.set_aside(path)
            msg = f"damaged spool file {path.name} set aside as {bad.name} ({type(e).__name__}: {e})"
            log.error(msg)
            if report is not None:
                report.error = f"{report.error}; {msg}" if report.error else msg
            continue
        stored = store(wh, cycle_id, mentions, states, reports)
        hooks.checkpoint("after-replay")
        path.unlink()
        n += len(stored)
        if report is not None:
            report.stored.extend(stored)
    return n


@dataclass
class Batch:
    """What a cycle will write: the relevant, classified mentions and the targets' new cursors."""

    mentions: list[Mention] = field(default_factory=list)
    states: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


def prepare(
    cfg: Config,
    results: Sequence[tuple[FetchResult, TargetReport]],
    classifier: Classifier,
    report: CycleReport,
    secrets: Secrets,
) -> Batch:
    """Relevance and classification of what the targets returned; writes nothing.

    Reads the labels the warehouse already holds for the same texts (a locked
    warehouse means: classify everything).  Adds the target reports to `report`.
    """
    batch = Batch()
    hide = secret_values(cfg, secrets)
    for res, rep in results:
        kept = assign_schools(cfg, res.mentions)
        rep.relevant = len(kept)
        if rep.error:
            rep.error = redact(rep.error, hide)
        batch.mentions.extend(kept)
        if res.status != "rate_limited" or res.state:
            batch.states.append((res.target.source, res.target.key, res.state))
        report.targets.append(rep)
    try:
        cached = quick_warehouse(cfg).cached_labels([m.text_hash for m in batch.mentions])
    except WarehouseLocked:
        cached = {}
    classify(batch.mentions, classifier, cached)
    return batch


def write(cfg: Config, batch: Batch, report: CycleReport, secrets: Secrets) -> CycleReport:
    """The cycle's one write: mentions, labels, cursors and source runs in one transaction,
    or the spool when the warehouse is locked.  Then the analysts' views are brought up to
    date (derived from that write; a failure there never fails the cycle)."""
    wh = warehouse_for(cfg)
    hooks.checkpoint("before-store")
    try:
        if spool_pending(cfg):  # what the replay at the start could not write (the lock was held then)
            report.replayed += replay_spool(cfg, wh, report)
        report.stored = report.stored + store(wh, report.cycle_id, batch.mentions, batch.states, report.targets)
    except WarehouseLocked as e:
        report.spooled = len(batch.mentions)
        report.error = f"{e}; kept {len(batch.mentions)} mentions in the spool, written next cycle"
        spool.write(
            spool_dir(cfg),
            report.cycle_id,
            {
                "cycle_id": report.cycle_id,
                "mentions": [m.to_dict() for m in batch.mentions],
                "states": batch.states,
                "reports": [asdict(r) for r in report.targets],
            },
        )
        log.warning(report.error)
    else:
        refresh_analyst_views(cfg, wh, secrets)
    return report


def store_cycle(
    cfg: Config,
    results: Sequence[tuple[FetchResult, TargetReport]],
    classifier: Classifier,
    report: CycleReport,
    secrets: Secrets,
) -> CycleReport:
    """Relevance, classification (pure preparation), the urgent alerts, and the cycle's one write."""
    batch = prepare(cfg, results, classifier, report, secrets)
    send_urgent_alerts(cfg, batch, report, secrets)
    return write(cfg, batch, report, secrets)


def send_urgent_alerts(cfg: Config, batch: Batch, report: CycleReport, secrets: Secrets) -> CycleReport:
    """Threat alerts for the classified batch, before (and whatever happens to) the store."""
    report.urgent = urgent.send_urgent(cfg, batch.mentions, secrets, report.cycle_id)
    return report


def spool_pending(cfg: Config) -> bool:
    d = spool_dir(cfg)
    return d.exists() and any(d.glob("*.json"))


def protocol_actions(cfg: Config, report: CycleReport, now: datetime | None = None) -> CycleReport:
    """Follow-ups, evidence, flags, alerts raised and escalation for what the warehouse holds;
    writes the warehouse, sends nothing, never raises.  Skipped when the cycle was spooled
    (the next cycle acts on the replayed mentions)."""
    if not report.spooled:
        report.actions = protocol.decide_actions(cfg, warehouse_for(cfg), now)
    return report


def deliver_alerts(cfg: Config, report: CycleReport, secrets: Secrets, now: datetime | None = None) -> CycleReport:
    """One attempt to deliver every pending alert (earlier failures included); never raises.

    Alerts delivered on an earlier attempt of the same cycle stay in `report.actions.delivered`;
    `report.actions.failed` is what this attempt could not deliver."""
    if report.actions is None:
        return report
    tried = report.urgent.attempted if report.urgent else []
    protocol.deliver_alerts(cfg, warehouse_for(cfg), report.actions, secrets, now, skip=tried)
    if report.urgent is not None:
        if not report.urgent.merged:  # the urgent alerts of this cycle count as delivered (or failed) here
            report.actions.delivered = report.urgent.sent + report.actions.delivered
            report.urgent.merged = True
        if tried:  # a retry of this step (Prefect) tries them again like any failed alert
            report.actions.failed = report.urgent.failed + report.actions.failed
            report.urgent.attempted = []
    return report


def publish_copy(cfg: Config, report: CycleReport, secrets: Secrets) -> CycleReport:
    """Publish the analysts' copy after the cycle's writes (not when it spooled); never fails a cycle."""
    if report.spooled:
        return report
    try:
        report.published = str(publish(cfg, secrets).path)
    except Exception as e:  # the copy is a convenience for analysts; the cycle's work is done
        log.warning("analysts' copy not published: %s: %s", type(e).__name__, e)
    return report


def process(
    cfg: Config,
    results: Sequence[tuple[FetchResult, TargetReport]],
    classifier: Classifier,
    report: CycleReport,
    secrets: Secrets,
) -> CycleReport:
    """Everything after the fetch, in order: urgent alerts and the store, the protocol's actions,
    deliver alerts, publish the analysts' copy."""
    store_cycle(cfg, results, classifier, report, secrets)
    protocol_actions(cfg, report)
    deliver_alerts(cfg, report, secrets)
    publish_copy(cfg, report, secrets)
    report.finished_at = utcnow()
    return report


def refresh_analyst_views(cfg: Config, wh: Warehouse, secrets: Secrets) -> None:
    """Keep the analysts' views current (time zone, new authors' pseudonyms); never fails a cycle."""

    try:
        views.prepare(wh, cfg, views.pseudonym_key(cfg, secrets))
    except (WarehouseLocked, views.PseudonymKeyMissing) as e:
        log.warning("analyst views not refreshed: %s", e)


def new_cycle() -> CycleReport:
    now = utcnow()
    return CycleReport(cycle_id=now.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8], started_at=now)


def replay(cfg: Config, report: CycleReport) -> CycleReport:
    """Write what earlier cycles kept in the spool (a locked warehouse: try next cycle)."""
    try:
        report.replayed = replay_spool(cfg, quick_warehouse(cfg), report)
    except WarehouseLocked:
        pass
    return report


def load_states(cfg: Config) -> dict[tuple[str, str], dict[str, Any]]:
    """The targets' cursors; a locked warehouse means: fetch everything again (the warehouse
    de-duplicates when it is free)."""
    try:
        return quick_warehouse(cfg).states()
    except WarehouseLocked:
        return {}


def run_cycle(cfg: Config, *, secrets: Secrets | None = None, classifier: Classifier | None = None) -> CycleReport:
    """Run one monitoring cycle without Prefect, the same steps as the flow; returns what happened."""
    secrets = secrets or Secrets()
    classifier = classifier or load_classifier(cfg.classifier)
    report = replay(cfg, new_cycle())
    states = load_states(cfg)
    results = [fetch_target(t, states.get((t.source, t.key), {}), secrets) for t in all_targets(cfg)]
    return process(cfg, results, classifier, report, secrets)
