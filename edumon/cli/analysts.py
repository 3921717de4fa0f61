"""`edumon export`, `edumon query` and `edumon purge`: analysts and retention.

`query` and `export` read the analysts' copy (`warehouse.publish`), never the main file, so an
analyst can never hold up a monitoring cycle; `--main` is for administrators. When there is no
copy yet, or it was not made with the caller's pseudonym key, it is published first (a short
read of the main file, waiting on its lock like any reader)."""

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
from warehouse.export import CopyNotCurrent, export_copy
from warehouse.export import export as do_export
from warehouse.publish import copy_info, open_copy, publication, publish
from warehouse.retention import purge as do_purge
from warehouse.views import PseudonymKeyMismatch, PseudonymKeyMissing, key_id, prepare, pseudonym_key, require_key

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
    help="Seconds to wait for the main file's lock (--main, or when the analysts' copy must be "
    "published first) [default: warehouse.lock_timeout_s].",
)
@click.option("--max-rows", type=int, default=200, show_default=True, help="Rows shown as a table (csv/json: all).")
@click.option(
    "--main",
    "main_file",
    is_flag=True,
    help="Administrators: query the main warehouse (all tables; waits for, and holds, its lock) "
    "instead of the analysts' copy.",
)
def query(cfg: Config, sql: str, fmt: str, wait: float | None, max_rows: int, main_file: bool) -> None:
    """Run one SQL query on the analysts' copy of the warehouse (read-only).

    The copy holds `daily_mentions`, `mentions_pseudonymous` and `followup_stats`
    (see docs/analysts.md); it is published after every cycle and purge, so a query
    never waits for a cycle and never holds one up. `--main` queries the main file.

    \b
    Example:
        edumon query --config config/example.toml \\
            "SELECT school_id, sum(n) FROM daily_mentions WHERE sentiment = 'negative' GROUP BY ALL"
    """

    try:
        key = pseudonym_key(cfg)
    except PseudonymKeyMissing as e:
        raise CliError(str(e)) from None
    wait_s = cfg.warehouse.lock_timeout_s if wait is None else wait
    try:
        if main_file:
            names, rows, unpseudonymised = _query_main(cfg, sql, key, wait_s)
        else:
            ensure_copy(cfg, key, wait_s, "edumon query")
            with open_copy(cfg) as con:
                names, rows = _run(con, sql)
                unpseudonymised = int(publication(con).get("authors_without_pseudonym") or 0)
    except (FileNotFoundError, PseudonymKeyMissing) as e:
        raise CliError(str(e)) from None
    except PseudonymKeyMismatch as e:
        raise usage_error(str(e)) from None
    except duckdb.Error as e:
        raise CliError(f"query error: {_query_error(e, main_file)}") from None
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


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = con.execute(sql)
    if cur.description is None:
        return [], []
    return [d[0] for d in cur.description], cur.fetchall()


def _query_main(cfg: Config, sql: str, key: bytes | None, wait: float) -> tuple[list[str], list[tuple[Any, ...]], int]:
    def run(wh: Warehouse) -> tuple[list[str], list[tuple[Any, ...]], int]:
        prep = prepare(wh, cfg, key)
        with wh.connect(read_only=True) as con:
            return (*_run(con, sql), prep.unpseudonymised)

    return with_lock_wait(cfg, wait, "edumon query", run)


def _query_error(e: duckdb.Error, main_file: bool) -> str:
    msg = str(e).strip().splitlines()[0]
    if "read-only" in msg.lower():
        where = "the warehouse" if main_file else "the analysts' copy"
        return f"{where} is opened read-only here; edumon query cannot change it ({msg})"
    if not main_file and isinstance(e, duckdb.CatalogException):
        return msg + " (the analysts' copy holds daily_mentions, mentions_pseudonymous and followup_stats)"
    return msg


def ensure_copy(cfg: Config, key: bytes | None, wait: float, what: str) -> None:
    """Publish the analysts' copy when there is none yet, or when it was not made with `key`
    (another key, or without one while the caller has it); otherwise leave the main file alone."""
    info = copy_info(cfg)
    if info is not None and (
        key is None
        or (info.get("pseudonym_key_id") == key_id(key) and info.get("authors_without_pseudonym", "0") == "0")
    ):
        return
    try:
        with_lock_wait(cfg, wait, what, lambda wh: publish(cfg, wh=wh))
    except PermissionError as e:
        raise CliError(
            f"{what}: cannot write the analysts' copy ({e}); ask the administrator to run a cycle or "
            "`edumon export` with the pseudonym key"
        ) from None


@click.command()
@config_option
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Directory for the Parquet files."
)
@click.option(
    "--rotate-key",
    is_flag=True,
    help="Make the key in the environment the warehouse's new pseudonym key: every author gets a new "
    "pseudonym (older exports no longer match). Without it, a key other than the warehouse's is refused. "
    "Reads the main warehouse.",
)
@click.option(
    "--main",
    "main_file",
    is_flag=True,
    help="Administrators: export from the main warehouse (waits for its lock) instead of the analysts' copy.",
)
def export(cfg: Config, out_dir: str, rotate_key: bool, main_file: bool) -> None:
    """Export the pseudonymous mentions and the views as Parquet (zstd, one folder per month),
    from the analysts' copy (`--main`: from the main warehouse).

    No handle, name, author id or raw payload is exported; authors appear as a keyed
    hash (key: $EDUMON_PSEUDONYM_KEY, or the variable [analytics] pseudonym_key_env names).
    A key other than the one the warehouse's pseudonyms were made with is refused (exit 2);
    --rotate-key changes it on purpose.

    \b
    Example:
        EDUMON_PSEUDONYM_KEY=... edumon export --config config/example.toml --out export/
    """

    wait = cfg.warehouse.lock_timeout_s
    try:
        with Progress(f"Exporting to {out_dir}"):
            if main_file or rotate_key:
                report = with_lock_wait(
                    cfg, wait, "edumon export", lambda wh: do_export(cfg, out_dir, wh=wh, rotate_key=rotate_key)
                )
            else:
                key = require_key(cfg)
                ensure_copy(cfg, key, wait, "edumon export")
                report = export_copy(cfg, out_dir)
    except PseudonymKeyMismatch as e:
        raise usage_error(str(e)) from None
    except (PseudonymKeyMissing, FileNotFoundError, CopyNotCurrent) as e:
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
    click.echo(report.summary())  # names what became of the analysts' copy
