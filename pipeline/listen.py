"""`edumon listen`: live streams beside the scheduled cycle (docs/streaming.md).

Stream readers (Jetstream over a WebSocket, Mastodon hashtag streams through Mastodon.py)
run in threads and put every event through one multi-pattern matcher (an Aho-Corasick
automaton over all schools' aliases, `Matcher`): only events that may name a school
become Mentions.  Every `listen.batch_s` seconds the loop takes what arrived and runs it
through the SAME functions a cycle uses (`pipeline.prepare` for relevance and
classification, `pipeline.write` for the one write or the spool, `protocol_actions`,
`deliver_alerts`), under the cycle lock.  A cycle holding that lock makes a batch wait in
memory (`listen.lock_wait_s`), never skipped.

Nothing is lost on restart: after each stored batch, each stream's cursor (Jetstream
`time_us` of the newest event whose matches are stored) is kept in `stream_state`; a
listener starts from it, rewound `rewind_s`, and de-duplication by mention id stores a
replayed post once.  Every `listen.run_every_s` each stream records a `source_runs` row, so
a stream that is disconnected or silent is a source-health finding like any other target.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import ahocorasick

import protocol
from classifiers import Classifier
from connectors import FetchResult, Target
from connectors import jetstream as js
from core.config import Config, School
from core.mention import Mention, utcnow
from core.secrets import Secrets
from pipeline import (
    CycleReport,
    TargetReport,
    deliver_alerts,
    new_cycle,
    prepare,
    protocol_actions,
    replay,
    send_urgent_alerts,
    spool_dir,
    write,
)
from pipeline.cyclelock import CycleBusy, cycle_lock
from pipeline.relevance import matchable
from warehouse import WarehouseLocked, record_run, warehouse_for
from warehouse.streams import load_streams, save_streams

log = logging.getLogger("edumon.listen")


# --- matching --------------------------------------------------------------------------------


class Matcher:
    """Does a text possibly name a school?  One Aho-Corasick pass over the text (lower case,
    white space collapsed, compatibility forms folded) for every alias of every school, also
    as a hashtag without spaces.  A superset of `pipeline.relevance`: what it passes still goes
    through the relevance rules (word bounds, exclusions, context words)."""

    def __init__(self, schools: list[School]) -> None:
        self.automaton = ahocorasick.Automaton()
        for s in schools:
            for alias in s.aliases:
                spaced = " ".join(alias.lower().split())
                for form in {spaced, spaced.replace(" ", "").replace("-", "")}:
                    if form:
                        self.automaton.add_word(form, form)
        if len(self.automaton):
            self.automaton.make_automaton()

    def hit(self, text: str) -> bool:
        if not text or not len(self.automaton):
            return False
        folded = " ".join(matchable(text).lower().split())
        for _ in self.automaton.iter(folded):
            return True
        return False


# --- what the readers hand over ------------------------------------------------------------


@dataclass
class StreamState:
    """One stream as the listener knows it (a row of `stream_state`)."""

    stream: str
    source: str
    cursor_us: int | None = None
    last_event_at: datetime | None = None
    last_received_at: datetime | None = None
    events: int = 0
    matched: int = 0
    connected: bool = False
    error: str | None = None
    mentions: list[Mention] = field(default_factory=list)  # matched, not handed to a batch yet

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "mentions"}


class Feed:
    """The readers' thread-safe inbox: counts events, keeps matches and the newest cursor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.streams: dict[str, StreamState] = {}
        self.safe: list[StreamState] = []  # the streams as of the last batch that stored all it took

    def register(self, stream: str, source: str, cursor_us: int | None = None) -> None:
        with self._lock:
            self.streams.setdefault(stream, StreamState(stream, source, cursor_us))

    def event(
        self, stream: str, mention: Mention | None, cursor_us: int | None = None, at: datetime | None = None
    ) -> None:
        """One event of `stream` (a match when `mention` is given)."""
        now = utcnow()
        with self._lock:
            st = self.streams[stream]
            st.events += 1
            st.last_received_at, st.connected, st.error = now, True, None
            if cursor_us is not None:
                st.cursor_us = cursor_us
            if at is not None:
                st.last_event_at = at
            if mention is not None:
                st.matched += 1
                st.mentions.append(mention)

    def connection(self, stream: str, connected: bool, error: str | None = None) -> None:
        with self._lock:
            st = self.streams[stream]
            st.connected, st.error = connected, error

    def cursor(self, stream: str) -> int | None:
        with self._lock:
            return self.streams[stream].cursor_us

    def take(self) -> tuple[dict[str, list[Mention]], list[StreamState]]:
        """The matches that arrived since the last call, and a snapshot of every stream (its
        cursor covers exactly the events whose matches are handed over here)."""
        with self._lock:
            out = {k: st.mentions for k, st in self.streams.items() if st.mentions}
            for st in self.streams.values():
                st.mentions = []
            return out, [replace(st, mentions=[]) for st in self.streams.values()]

    def snapshot(self) -> list[StreamState]:
        with self._lock:
            return [replace(st, mentions=[]) for st in self.streams.values()]

    def give_back(self, taken: dict[str, list[Mention]]) -> None:
        """Put matches back in front (their batch could not run)."""
        with self._lock:
            for k, ms in taken.items():
                self.streams[k].mentions[:0] = ms


# --- the streams ------------------------------------------------------------------------------


class Stream(Protocol):
    key: str
    source: str

    def start(self, feed: Feed, matcher: Matcher) -> None: ...
    def stop(self) -> None: ...


class JetstreamStream:
    """One `[[sources.jetstream]]`: a reader thread running `connectors.jetstream.follow`."""

    source = "bluesky"

    def __init__(self, url: str, timeout_s: float = 20.0) -> None:
        self.url, self.timeout_s = url, timeout_s
        self.key = js.stream_key(url)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, feed: Feed, matcher: Matcher) -> None:
        key = self.key
        resume = feed.cursor(key)  # the stored cursor (already rewound), then the newest seen

        def on_event(event: dict[str, Any]) -> None:
            cursor = event.get("time_us") if isinstance(event.get("time_us"), int) else None
            found = js.created_post(event)
            mention = None
            if found is not None and matcher.hit(js.searchable_text(found[2])):
                mention = js.to_mention(event, key, utcnow())
            feed.event(key, mention, cursor, js.event_time(event))

        def cursor() -> int | None:
            return feed.cursor(key) or resume

        self._thread = threading.Thread(
            target=js.follow,
            args=(self.url, on_event, lambda ok, err: feed.connection(key, ok, err), cursor, self._stop),
            kwargs={"timeout_s": self.timeout_s},
            name=f"listen {key}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)


class MastodonHashtagStream:
    """One hashtag of a `[[sources.mastodon]]` with `stream = true`, through Mastodon.py."""

    source = "mastodon"

    def __init__(self, src: Any, tag: str, token: str | None) -> None:
        from connectors.mastodon import stream as ms

        self._ms, self.src, self.tag, self.token = ms, src, tag, token
        self.key = ms.stream_key(src.api_base_url, tag)
        self.handle: Any = None

    def start(self, feed: Feed, matcher: Matcher) -> None:
        ms, key, base = self._ms, self.key, self.src.api_base_url

        def on_status(entity: Any) -> None:
            m = ms.status_mention(entity, base, key, utcnow())
            blob = "\n".join([m.text, *(e.get("text", "") for e in m.elsewhere)])
            feed.event(key, m if matcher.hit(blob) else None, None, m.published_at)

        listener = ms.Listener(on_status, lambda ok, err: feed.connection(key, ok, err))
        self.handle = ms.follow_hashtag(self.src, self.tag, self.token, listener)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.close()


def configured_streams(cfg: Config, secrets: Secrets) -> list[Stream]:
    """Every stream the config asks `edumon listen` to follow."""
    from connectors.mastodon.stream import stream_tags

    out: list[Stream] = [JetstreamStream(s.url, s.timeout_s) for s in cfg.sources.jetstream]
    for src in cfg.sources.mastodon:
        token = secrets.get(src.access_token_env) if src.access_token_env else None
        out += [MastodonHashtagStream(src, tag, token) for tag in stream_tags(src)]
    return out


def rewind_us(cfg: Config, stream: str) -> int:
    for s in cfg.sources.jetstream:
        if js.stream_key(s.url) == stream:
            return int(s.rewind_s * 1_000_000)
    return 0


def resume_cursors(cfg: Config) -> dict[str, int]:
    """Each stream's stored cursor, rewound by its `rewind_s` (a locked warehouse: wait for it)."""
    with warehouse_for(cfg).connect() as con:
        rows = load_streams(con)
    return {k: r["cursor_us"] - rewind_us(cfg, k) for k, r in rows.items() if r.get("cursor_us")}


# --- one batch: the cycle's own steps -------------------------------------------------------


@dataclass
class BatchOutcome:
    report: CycleReport | None = None  # None: no batch ran (idle, or the cycle lock was busy)
    matched: int = 0
    busy: str | None = None
    idle: bool = False  # nothing matched and nothing spooled: no warehouse connection at all


def _results(taken: dict[str, list[Mention]], states: list[StreamState]) -> list[tuple[FetchResult, TargetReport]]:
    source = {st.stream: st.source for st in states}
    return [
        (FetchResult(Target(source[k], k), mentions=ms), TargetReport(source[k], k, "ok", fetched=len(ms)))
        for k, ms in taken.items()
    ]


def run_batch(cfg: Config, feed: Feed, classifier: Classifier, secrets: Secrets) -> BatchOutcome:
    """Store what the streams matched since the last batch and act on it, exactly as a cycle would:
    spool first, then relevance and classification (`prepare`), the urgent (threat) alerts before
    the store (`send_urgent_alerts`, so a locked warehouse never delays them), the one write or the spool
    (`write`), the streams' cursors, the protocol's actions and alert delivery.  Under the cycle
    lock; when a cycle holds it, the matches wait in memory for the next batch."""
    try:
        with cycle_lock(cfg, "listen", wait_s=cfg.listen.lock_wait_s):
            taken, states = feed.take()
            if not taken and not any(spool_dir(cfg).glob("*.json")):
                feed.safe = states  # nothing unstored before these cursors: saved with the next runs
                return BatchOutcome(None, 0, idle=True)
            try:
                report = replay(cfg, new_cycle())
                batch = prepare(cfg, _results(taken, states), classifier, report, secrets)
                batch.states, report.targets = [], []  # cursors go to stream_state; runs once a minute
                send_urgent_alerts(cfg, batch, report, secrets)  # threats: before (and whatever) the store
                write(cfg, batch, report, secrets)
            except Exception:
                feed.give_back(taken)
                raise
            if not report.spooled:
                feed.safe = states
                save_cursors(cfg, states)
            protocol_actions(cfg, report)
            deliver_alerts(cfg, report, secrets)
            report.finished_at = utcnow()
            return BatchOutcome(report, sum(len(ms) for ms in taken.values()))
    except CycleBusy as e:
        return BatchOutcome(None, 0, str(e))


def save_cursors(cfg: Config, states: list[StreamState]) -> None:
    """Each stream's cursor and lag, after its matches are stored (a locked warehouse: next batch)."""
    try:
        with warehouse_for(cfg).transaction() as con:
            save_streams(con, [st.row() for st in states], utcnow())
    except WarehouseLocked as e:
        log.warning("stream cursors not saved this batch: %s", e)


# --- source health: a run per stream every minute ----------------------------------------------


@dataclass
class RunWindow:
    """Events per stream since the last recorded run."""

    started_at: datetime = field(default_factory=utcnow)
    events: dict[str, int] = field(default_factory=dict)
    matched: dict[str, int] = field(default_factory=dict)


def stream_run(cfg: Config, st: StreamState, window: RunWindow, now: datetime) -> dict[str, Any]:
    """The `source_runs` row of one stream for one window: failed while disconnected, or (a
    Jetstream, which always carries posts) silent for longer than its `silent_after_s`."""
    events = st.events - window.events.get(st.stream, 0)
    matched = st.matched - window.matched.get(st.stream, 0)
    status, error = "ok", None
    if not st.connected:
        status, error = "failed", f"stream not connected: {st.error or 'connecting'}"
    else:
        silent = silent_after_s(cfg, st.stream)
        since = st.last_received_at or window.started_at
        if silent is not None and (now - since).total_seconds() > silent:
            status, error = "failed", f"stream delivered no event for {(now - since).total_seconds():.0f} s"
    return {
        "source": st.source,
        "target": st.stream,
        "status": status,
        "error": error,
        "http_status": None,
        "requests": 0,
        "fetched": events,
        "relevant": matched,
        "new": 0,
        "started_at": window.started_at,
        "finished_at": now,
    }


def silent_after_s(cfg: Config, stream: str) -> float | None:
    for s in cfg.sources.jetstream:
        if js.stream_key(s.url) == stream:
            return s.silent_after_s
    return None  # a hashtag may be quiet for hours: only a lost connection counts


def record_stream_runs(cfg: Config, feed: Feed, window: RunWindow) -> RunWindow:
    """Write one `source_runs` row per stream and the streams' lag; returns the next window."""
    now = utcnow()
    states = feed.snapshot()
    rows = [stream_run(cfg, st, window, now) for st in states]
    cycle_id = "listen-" + now.strftime("%Y%m%dT%H%M%S")
    try:
        with warehouse_for(cfg).transaction() as con:
            for r in rows:
                record_run(con, cycle_id=cycle_id, **r)
            save_streams(con, [st.row() for st in feed.safe], now)  # idle streams' cursors and lag
    except Exception as e:  # a locked warehouse (or any failure here) never stops the listener
        log.warning("stream runs not recorded: %s", e)
        return window
    return RunWindow(now, {st.stream: st.events for st in states}, {st.stream: st.matched for st in states})


def deliver_due(cfg: Config, secrets: Secrets) -> None:
    """Deliver what waits (alerts held by quiet hours, earlier failures, source-health alerts),
    under the cycle lock so a cycle never sends the same alert at the same time; busy: next time."""
    try:
        with cycle_lock(cfg, "listen", wait_s=cfg.listen.lock_wait_s):
            report = new_cycle()
            report.actions = protocol.ActionsReport()
            deliver_alerts(cfg, report, secrets)
    except CycleBusy:
        pass


# --- the loop ---------------------------------------------------------------------------------


@dataclass
class Listening:
    """What `listen` is doing, for the CLI and tests."""

    feed: Feed
    streams: list[Stream]
    batches: int = 0
    stored: int = 0
    alerts_sent: int = 0
    errors: list[str] = field(default_factory=list)


def start(cfg: Config, secrets: Secrets, streams: list[Stream] | None = None) -> Listening:
    """Register every stream with its resume cursor and start its reader."""
    streams = configured_streams(cfg, secrets) if streams is None else streams
    matcher, feed, cursors = Matcher(cfg.schools), Feed(), resume_cursors(cfg)
    for s in streams:
        feed.register(s.key, s.source, cursors.get(s.key))
        s.start(feed, matcher)
    return Listening(feed, streams)


def listen(
    cfg: Config,
    classifier: Classifier,
    secrets: Secrets,
    stop: threading.Event,
    *,
    streams: list[Stream] | None = None,
    on_runs: Callable[[list[str]], None] | None = None,
    on_batch: Callable[[BatchOutcome], None] | None = None,
    on_start: Callable[[Listening], None] | None = None,
) -> Listening:
    """Follow the streams until `stop` is set: a batch every `listen.batch_s`, the streams' runs
    every `listen.run_every_s` (then `on_runs(stream keys)`: the caller's health check).
    On stop, the readers end and one last batch stores what they delivered."""
    state = start(cfg, secrets, streams)
    if on_start:
        on_start(state)
    window, next_runs = RunWindow(), time.monotonic() + cfg.listen.run_every_s
    try:
        while True:
            stopping = stop.wait(cfg.listen.batch_s)
            if stopping:
                for s in state.streams:
                    s.stop()
            _one_batch(cfg, state, classifier, secrets, on_batch)
            if stopping:
                return state
            if time.monotonic() >= next_runs:
                window, next_runs = (
                    record_stream_runs(cfg, state.feed, window),
                    time.monotonic() + cfg.listen.run_every_s,
                )
                if on_runs:
                    on_runs([s.key for s in state.streams])
                deliver_due(cfg, secrets)
    finally:
        for s in state.streams:
            s.stop()


def _one_batch(
    cfg: Config,
    state: Listening,
    classifier: Classifier,
    secrets: Secrets,
    on_batch: Callable[[BatchOutcome], None] | None,
) -> None:
    try:
        out = run_batch(cfg, state.feed, classifier, secrets)
    except Exception as e:  # a failed batch keeps its matches in memory for the next one
        log.exception("listen batch failed")
        state.errors.append(f"{type(e).__name__}: {e}")
        return
    if out.report is not None:
        state.batches += 1
        state.stored += len(out.report.stored)
        if out.report.actions is not None:
            state.alerts_sent = state.alerts_sent + len(out.report.actions.delivered)
    if on_batch:
        on_batch(out)


def lag(row: dict[str, Any], now: datetime) -> timedelta | None:
    """How far behind real time a stream's stored events are (now minus the newest event time)."""
    at = row.get("last_event_at")
    return now - at if at else None
