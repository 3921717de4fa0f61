"""`edumon backup`, `edumon restore`, `edumon migrate`: the warehouse file across upgrades."""

from __future__ import annotations

from pathlib import Path

import click

from core.config import Config
from edumon.cli.options import CliError, config_option, one_line_errors
from pipeline.cyclelock import CycleBusy, cycle_lock
from warehouse import Warehouse, warehouse_for
from warehouse import backup as bk
from warehouse.schema import LATEST


def _warehouse(cfg: Config, wait_s: float | None) -> Warehouse:
    wh = warehouse_for(cfg)
    if wait_s is not None:
        wh.lock_timeout_s = wait_s
    return wh


@click.command("backup")
@config_option
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the copy goes (must not exist). Default: backups/<name>-<UTC time>.duckdb beside the warehouse.",
)
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(min=0),
    help="How long to wait while a cycle holds the warehouse (default: warehouse.lock_timeout_s).",
)
@one_line_errors
def backup_cmd(cfg: Config, output: Path | None, wait_s: float | None) -> None:
    """Copy the warehouse into a new DuckDB file, consistently, also while `edumon serve` runs.

    Waits (bounded) while a cycle writes; cycles wait for the copy. The copy is checked to hold
    the same rows before it gets its name. Exits 1 when the warehouse stayed locked.

    \b
    Example:
        edumon backup --config config/edumon.toml --output backups/edumon-before-upgrade.duckdb
    """
    wh = _warehouse(cfg, wait_s)
    if not wh.path.exists():
        raise CliError(f"{wh.path}: no warehouse here yet (run a cycle first)")
    res = bk.backup(wh, output)
    click.echo(
        f"Backed up {wh.path} (schema {res.schema}, {res.rows.get('mentions', 0)} mentions, "
        f"{res.rows.get('alerts', 0)} alerts, {sum(res.rows.values())} rows in {len(res.rows)} tables) "
        f"to {res.path} in {res.seconds:.1f} s"
    )


@click.command("restore")
@config_option(schema_check=False)
@click.argument("backup_file", metavar="BACKUP", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--keep-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the replaced warehouse is kept. Default: replaced/ beside the warehouse.",
)
@click.option(
    "--no-carry-alerts",
    "no_carry",
    is_flag=True,
    help="Do not copy the replaced warehouse's alert history (only when that file is unreadable: "
    "alerts sent since the backup may then be sent again).",
)
@one_line_errors
def restore_cmd(cfg: Config, backup_file: Path, keep_dir: Path | None, no_carry: bool) -> None:
    """Put BACKUP in the warehouse's place: the replaced file is kept aside, and its alert
    history is carried over so no alert is sent twice.

    Refuses (exit 1) while another process has the warehouse open or a cycle runs; the backup
    is migrated to this edumon's schema. A backup from a newer edumon is refused (exit 2).

    \b
    Example:
        edumon restore --config config/edumon.toml backups/edumon-before-upgrade.duckdb
    """
    wh = warehouse_for(cfg)
    try:
        with cycle_lock(cfg, "restore", wait_s=0):
            res = bk.restore(wh, backup_file, keep_dir, carry_alerts=not no_carry)
    except (CycleBusy, bk.WarehouseInUse) as e:
        raise CliError(f"{e}; nothing was changed" if isinstance(e, bk.WarehouseInUse) else str(e)) from None
    carried = ", ".join(f"{n} {t}" for t, n in res.carried.items()) or "none"
    click.echo(f"Restored {backup_file} (schema {res.backup_schema}, now {res.schema}) as {res.path}")
    click.echo(
        f"  kept the replaced warehouse as {res.replaced}" if res.replaced else "  there was no warehouse to replace"
    )
    click.echo(f"  alert history carried over: {carried}")
    click.echo("  the next cycle fetches again what the sources served since the backup (each mention once)")


@click.command("migrate")
@config_option
@one_line_errors
def migrate_cmd(cfg: Config) -> None:
    """Bring the warehouse to this edumon's schema (every command also does this when it first
    writes); prints the versions. A warehouse at a newer schema is refused (exit 2).

    \b
    Example:
        edumon migrate --config config/edumon.toml
    """
    wh = warehouse_for(cfg)
    before, after = wh.upgrade()
    if before == after:
        click.echo(f"{wh.path}: at schema {after}, the newest this edumon knows; nothing to do")
    else:
        click.echo(
            f"{wh.path}: migrated from schema {before if before is not None else 'none'} to {after} (of {LATEST})"
        )


COMMANDS = (backup_cmd, restore_cmd, migrate_cmd)
