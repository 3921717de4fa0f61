"""`edumon run`, `edumon demo`, `edumon check-config`: one monitoring cycle and the config it runs."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import click

import pipeline
from core.config import Config
from edumon import demo as d
from edumon.cli.options import config_option
from edumon.cli.report import cycle_summary
from flows.monitor import monitor_cycle
from pipeline.cyclelock import CycleBusy, cycle_lock


def _run_flow(cfg: Config, use_prefect: bool):  # type: ignore[no-untyped-def]
    if not use_prefect:
        try:
            with cycle_lock(cfg, "cycle"):
                return pipeline.run_cycle(cfg)
        except CycleBusy as e:
            raise click.ClickException(str(e)) from None
    if cfg.path is None:  # pragma: no cover - demo configs are written to disk first
        raise click.ClickException("the flow needs a config file")
    state = monitor_cycle(str(cfg.path), return_state=True)
    if state.is_cancelled():
        raise click.ClickException(state.message or "the cycle was cancelled")
    report = state.result(raise_on_failure=False)
    if isinstance(report, BaseException):
        raise click.ClickException(f"cycle crashed: {type(report).__name__}: {report}")
    return report


@click.command()
@config_option
@click.option(
    "--prefect/--no-prefect",
    "use_prefect",
    default=True,
    show_default=True,
    help="Run as a Prefect flow (visible in the Prefect UI) or as plain Python.",
)
def run(cfg: Config, use_prefect: bool) -> None:
    """Run one monitoring cycle: fetch, keep what is about a school, classify, store.

    Exits 1 when a source failed (after storing what the healthy ones returned).

    \b
    Example:
        edumon run --config config/example.toml
    """
    report = _run_flow(cfg, use_prefect)
    click.echo(cycle_summary(cfg, report))
    if not report.ok:
        sys.exit(1)


@click.command()
@click.option(
    "--db",
    "db_path",
    default="demo/edumon.duckdb",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Where the demo warehouse goes.",
)
@click.option("--keep", is_flag=True, help="Keep the existing demo warehouse instead of starting afresh.")
@click.option(
    "--prefect/--no-prefect",
    "use_prefect",
    default=True,
    show_default=True,
    help="Run the cycle as a Prefect flow (ephemeral, no server needed).",
)
def demo(db_path: str, keep: bool, use_prefect: bool) -> None:
    """Run one real cycle offline against sample Dutch sources served on 127.0.0.1.

    \b
    Example:
        edumon demo
    """
    db = Path(db_path)
    if not keep:
        d.reset(db)
    with d.demo_sources(db) as src:
        src.config.path = _write_demo_config(src.config, db.parent)
        report = _run_flow(src.config, use_prefect)
        click.echo(cycle_summary(src.config, report))
        click.echo(f"Alerts received by the demo webhook on 127.0.0.1: {len(src.webhook_deliveries())}")
        for path in d.write_digests(src.config, db.parent):
            click.echo(f"Digest: {path}")
        click.echo(f"Warehouse: {db}")


def _write_demo_config(cfg: Config, where: Path) -> Path:
    """The flow takes a config path: write the demo's config as TOML."""
    where.mkdir(parents=True, exist_ok=True)
    path = where / "demo-config.toml"
    path.write_text(to_toml(cfg), encoding="utf-8")
    return path


def to_toml(cfg: Config) -> str:
    """Serialise a Config back to TOML (for the demo)."""

    def val(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False)

    def table(name: str, obj: Any, array: bool = False) -> list[str]:
        out = [f"[[{name}]]" if array else f"[{name}]"]
        sub: list[str] = []
        for f in dataclasses.fields(obj):
            if f.metadata.get("internal"):
                continue
            v = getattr(obj, f.name)
            if v is None:
                continue
            if dataclasses.is_dataclass(v):
                sub += table(f"{name}.{f.name}", v)
            elif isinstance(v, list) and v and dataclasses.is_dataclass(v[0]):
                for item in v:
                    sub += table(f"{name}.{f.name}", item, array=True)
            else:
                out.append(f"{f.name} = {val(v)}")
        return out + [""] + sub

    lines: list[str] = []
    for f in dataclasses.fields(cfg):
        if f.metadata.get("internal"):
            continue
        v = getattr(cfg, f.name)
        if isinstance(v, list):
            for item in v:
                lines += table(f.name, item, array=True)
        else:
            lines += table(f.name, v)
    return "\n".join(lines) + "\n"


@click.command("check-config")
@config_option
def check_config(cfg: Config) -> None:
    """Validate a config file and print what it monitors.

    \b
    Example:
        edumon check-config --config config/example.toml
    """
    click.echo(
        f"{cfg.organisation.name}: {len(cfg.schools)} schools, {len(cfg.sources.rss)} feeds, "
        f"{len(cfg.sources.bluesky)} Bluesky accounts, {len(cfg.sources.mastodon)} Mastodon instances"
    )
