"""`edumon export`, `edumon query` and `edumon purge`: analysts and retention."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import click
import duckdb

from core.config import Config
from edumon.cli.options import CliError, config_option, usage_error
from edumon.cli.progress import Progress
from pipeline.deletion import check_deleted as do_check
from warehouse import Warehouse, WarehouseLocked
from warehouse.export import export as do_export
from warehouse.retention import purge as do_purge
from warehouse.views import PseudonymKeyMismatch, PseudonymKeyMissing, prepare, pseudonym_key

T = TypeVar("T")

MAX_CELL = 60


def _warehouse(cfg: Config, timeout: float) -> Warehouse:
    return Warehouse(cfg.warehouse.path, lock_timeout_s=timeout)


def with_lock_wait(cfg: Config, wait: float, what: str, fn: Callable[[Warehouse], T]) -> T:
    """Run `fn`; when another process holds the lock, say so on stderr, wait up to `wait`
    seconds (retrying), and fail with one clear line if it is still held."""
    try:
        return fn(_warehouse(cfg, 0.0))
    except WarehouseLocked:
        pass
    click.echo(
        f"The warehouse is locked by another process (a monitoring cycle?); waiting up to {wait:.0f} s ...", err=True
    )
    try:
        return fn(_warehouse(cfg, wait))
    except WarehouseLocked:
        raise CliError(
            f"{what}: the warehouse stayed locked by another process (a monitoring cycle or purge) for "
            f"{wait:.0f} s; try again in a minute, or use the Parquet export (edumon export)"
        ) from None


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def format_table(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as an aligned text table (long cells shortened, newlines flattened)."""
    cells = [[_cell(v).replace("\n", " ") for v in r] for r in rows]
    cells = [[c if len(c) <= MAX_CELL else c[: MAX_CELL - 1] + "…" for c in r] for r in cells]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()  # noqa: E731
    out = [line(names), line(["-" * w for w in widths])] + [line(r) for r in cells]
    return "\n".join(out)


def _json_value(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


@click.command()
@config_option
@click.argument("sql")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--wait",
    "wait",
    type=float,
    default=None,
    help="Seconds to wait while a cycle holds the lock [default: warehouse.lock_timeout_s].",
)
@click.option("--max-rows", type=int, default=200, show_default=True, help="Rows shown as a table (csv/json: all).")
def query(cfg: Config, sql: str, fmt: str, wait: float | None, max_rows: int) -> None:
    """Run one SQL query on a read-only connection to the warehouse.

    The analysts' views are `daily_mentions`, `mentions_pseudonymous` and
    `followup_stats` (see docs/analysts.md). When a monitoring cycle holds
    the lock, the query waits and retries, then says so.

    \b
    Example:
        edumon query --config config/example.toml \\
            "SELECT school_id, sum(n) FROM daily_mentions WHERE sentiment = 'negative' GROUP BY ALL"
    """

    try:
        key = pseudonym_key(cfg)
    except PseudonymKeyMissing as e:
        raise CliError(str(e)) from None

    def run(wh: Warehouse) -> tuple[list[str], list[tuple[Any, ...]], int]:
        prep = prepare(wh, cfg, key)
        with wh.connect(read_only=True) as con:
            cur = con.execute(sql)
            if cur.description is None:
                return [], [], prep.unpseudonymised
            return [d[0] for d in cur.description], cur.fetchall(), prep.unpseudonymised

    try:
        names, rows, unpseudonymised = with_lock_wait(
            cfg, cfg.warehouse.lock_timeout_s if wait is None else wait, "edumon query", run
        )
    except FileNotFoundError as e:
        raise CliError(str(e)) from None
    except PseudonymKeyMismatch as e:
        raise usage_error(str(e)) from None
    except duckdb.Error as e:
        msg = str(e).strip().splitlines()[0]
        if "read-only" in msg.lower():
            msg = "the warehouse is opened read-only here; edumon query cannot change it (" + msg + ")"
        raise CliError(f"query error: {msg}") from None
    if unpseudonymised:
        click.echo(
            f"note: {unpseudonymised} authors have no pseudonym yet ({cfg.analytics.pseudonym_key_env} "
            "is not set); their author_pseudonym is empty",
            err=True,
        )
    if not names:
        click.echo("(no result)")
        return
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(names)
        w.writerows([[_cell(v) for v in r] for r in rows])
        click.echo(buf.getvalue(), nl=False)
    elif fmt == "json":
        click.echo(
            json.dumps([{n: _json_value(v) for n, v in zip(names, r)} for r in rows], ensure_ascii=False, indent=1)
        )
    else:
        click.echo(format_table(names, rows[:max_rows]))
        more = len(rows) - max_rows
        tail = f" (showing {max_rows}; use --format csv for all)" if more > 0 else ""
        click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''}){tail}")


@click.command()
@config_option
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Directory for the Parquet files."
)
@click.option(
    "--rotate-key",
    is_flag=True,
    help="Make the key in the environment the warehouse's new pseudonym key: every author gets a new "
    "pseudonym (older exports no longer match). Without it, a key other than the warehouse's is refused.",
)
def export(cfg: Config, out_dir: str, rotate_key: bool) -> None:
    """Export the pseudonymous mentions and the views as Parquet (zstd, one folder per month).

    No handle, name, author id or raw payload is exported; authors appear as a keyed
    hash (key: $EDUMON_PSEUDONYM_KEY, or the variable [analytics] pseudonym_key_env names).
    A key other than the one the warehouse's pseudonyms were made with is refused (exit 2);
    --rotate-key changes it on purpose.

    \b
    Example:
        EDUMON_PSEUDONYM_KEY=... edumon export --config config/example.toml --out export/
    """

    try:
        with Progress(f"Exporting to {out_dir}"):
            report = with_lock_wait(
                cfg,
                cfg.warehouse.lock_timeout_s,
                "edumon export",
                lambda wh: do_export(cfg, out_dir, wh=wh, rotate_key=rotate_key),
            )
    except PseudonymKeyMismatch as e:
        raise usage_error(str(e)) from None
    except (PseudonymKeyMissing, FileNotFoundError) as e:
        raise CliError(str(e)) from None
    click.echo(report.summary())


@click.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing (no source checks).")
@click.option(
    "--check-deleted/--no-check-deleted",
    default=True,
    show_default=True,
    help="First ask Bluesky/Mastodon which stored posts were deleted there "
    "(at most [retention] deletion_checks_per_run) and mark them.",
)
def purge(cfg: Config, dry_run: bool, check_deleted: bool) -> None:
    """Remove mentions past the retention period ([retention] days, default 90) and posts
    deleted at their source, except those tied to an open police report.

    Before the purge, up to [retention] deletion_checks_per_run stored Bluesky and Mastodon
    posts are looked up at their source; the ones it no longer has are marked and removed
    by this purge (after [retention] deleted_at_source_days).

    \b
    Example:
        edumon purge --config config/example.toml --dry-run
        edumon purge --config config/example.toml --no-check-deleted
    """

    try:
        if check_deleted and not dry_run:
            with Progress("Asking the sources which stored posts were deleted there"):
                checked = do_check(cfg)
            click.echo(checked.summary())
        with Progress("Counting what the retention rule removes" if dry_run else "Purging"):
            report = do_purge(cfg, dry_run=dry_run)
    except WarehouseLocked as e:
        raise CliError(f"edumon purge: {e}; nothing was removed, try again later") from None
    except FileNotFoundError as e:
        raise CliError(str(e)) from None
    click.echo(report.summary())
