"""`edumon run`, `edumon demo`, `edumon check-config`: one monitoring cycle and the config it runs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from core.config import Config
from edumon import demo as d
from edumon.cli.options import EXIT_FAILED, CliError, config_option, refuse_other_pseudonym_key
from edumon.cli.report import cycle_summary
from flows.monitor import CycleCrashed, run_cycle
from pipeline import CycleReport
from pipeline.cyclelock import CycleBusy


def _cycle(cfg: Config, use_prefect: bool | None) -> CycleReport:
    """One cycle: a flow run or the plain functions (`flows.monitor.run_cycle`)."""
    refuse_other_pseudonym_key(cfg)
    try:
        return run_cycle(cfg, use_prefect, warn=lambda msg: click.echo(f"note: {msg}", err=True))
    except (CycleBusy, CycleCrashed) as e:
        raise CliError(str(e)) from None


PREFECT_HELP = (
    "Run as a Prefect flow run (visible in the Prefect UI) or as plain Python. "
    "Default: a flow run when a Prefect server is configured (PREFECT_API_URL), else plain Python; "
    "a flow run that cannot start falls back to plain Python."
)


@click.command()
@config_option
@click.option("--prefect/--no-prefect", "use_prefect", default=None, help=PREFECT_HELP)
def run(cfg: Config, use_prefect: bool | None) -> None:
    """Run one monitoring cycle: fetch, keep what is about a school, classify, store,
    the protocol's actions, deliver alerts.

    Exits 1 when a source failed (after storing what the healthy ones returned), when
    an alert could not be delivered, or when another cycle holds the warehouse.

    \b
    Example:
        edumon run --config config/example.toml
    """
    report = _cycle(cfg, use_prefect)
    click.echo(cycle_summary(cfg, report))
    if not report.ok or (report.actions is not None and not report.actions.ok):
        raise click.exceptions.Exit(EXIT_FAILED)


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
@click.option("--prefect/--no-prefect", "use_prefect", default=None, help=PREFECT_HELP)
def demo(db_path: str, keep: bool, use_prefect: bool | None) -> None:
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
        report = _cycle(src.config, use_prefect)
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
