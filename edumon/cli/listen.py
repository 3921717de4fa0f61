"""`edumon listen`: follow the configured live streams (docs/streaming.md)."""

from __future__ import annotations

import signal
import threading
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import click
import duckdb

import health
from classifiers import load_classifier
from core.config import Config
from core.secrets import Secrets
from edumon.cli.options import CliError, config_option
from pipeline import listen as pl
from warehouse import WarehouseLocked, warehouse_for
from warehouse.streams import load_streams


def check_streams(cfg: Config, keys: list[str]) -> None:
    """The source-health rules over the streams' runs; a new finding queues an admin alert
    (delivered by the next batch).  Never stops the listener."""
    now = datetime.now(timezone.utc)
    targets = [(s, k) for s in ("bluesky", "mastodon") for k in keys]
    try:
        with warehouse_for(cfg).transaction() as con:
            found = health.findings(health.recent_runs(con, cfg.health, now), cfg.health, now, targets)
            for f in health.raise_alerts(con, cfg, found, now):
                click.echo(f"source health: {f.kind} {f.source} {f.target} ({f.last_error or ''})", err=True)
    except WarehouseLocked as e:
        click.echo(f"note: stream health not checked: {e}", err=True)


def _print_batch(out: pl.BatchOutcome) -> None:
    r = out.report
    if r is None or not (r.stored or r.spooled or r.error):
        return
    alerts = len(r.actions.delivered) if r.actions is not None else 0
    line = (
        f"{datetime.now(timezone.utc):%H:%M:%S} stored {len(r.stored)} of {out.matched} matches; alerts sent {alerts}"
    )
    click.echo(line + (f"; {r.error}" if r.error else ""))


@click.command()
@config_option
def listen(cfg: Config) -> None:
    """Follow the live streams ([[sources.jetstream]], and [[sources.mastodon]] with
    stream = true) until stopped (Ctrl-C or SIGTERM): every few seconds the matches are
    stored, classified and acted on like a cycle's, and alerts go out at once.

    Resumes each Jetstream from its stored cursor after a restart; the scheduled
    cycle stays the backfill.

    \b
    Example:
        edumon listen --config config/edumon.toml
    """
    secrets = Secrets()
    streams = pl.configured_streams(cfg, secrets)
    if not streams:
        raise CliError("no streams configured: add [[sources.jetstream]] or stream = true on [[sources.mastodon]]")
    classifier = load_classifier(cfg.classifier)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"Listening to {len(streams)} streams: " + ", ".join(s.key for s in streams))
    state = pl.listen(
        cfg,
        classifier,
        secrets,
        stop,
        streams=streams,
        on_runs=lambda keys: check_streams(cfg, keys),
        on_batch=_print_batch,
    )
    click.echo(
        f"Stopped after {state.batches} batches: {state.stored} mentions stored, {state.alerts_sent} alerts sent."
    )


def stream_lines(cfg: Config, con: Any, now: datetime) -> list[str]:
    """`edumon status`: one line per stream with its lag (now minus the newest stored event)."""
    try:
        rows = load_streams(con)
    except duckdb.Error:
        return []
    tz = ZoneInfo(cfg.organisation.timezone)
    out = []
    for key, r in rows.items():
        lag = pl.lag(r, now)
        lag_s = f"{lag.total_seconds():.0f} s" if lag is not None else "-"
        at = r["last_event_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if r.get("last_event_at") else "-"
        state = "connected" if r.get("connected") else f"NOT CONNECTED ({r.get('error') or '?'})"
        out.append(f"stream    lag {lag_s:<10} last event {at}  {state}  {key}")
    return out
