"""Backups and restores of the warehouse file, while edumon runs.

`backup` copies the warehouse through a read-only DuckDB connection (`COPY FROM DATABASE` into
a new file): a read-only connection keeps writers out for the few seconds of the copy, so the
copy is one consistent state, and it waits (bounded) while a cycle holds the lock.  The copy
is written under a temporary name, checked (it opens and holds the same rows) and then renamed.

`restore` puts a backup in the warehouse's place.  It refuses while another process holds the
warehouse, keeps the replaced file aside, and carries the alert history of the replaced file
over into the restored one (`CARRY_OVER`): the next cycle fetches again what the sources served
since the backup, and an alert already sent about such a post must not be sent again.  Which
machine-wide lock keeps cycles out meanwhile is the caller's business (the CLI holds the cycle
lock, `pipeline.cyclelock`).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from .schema import LATEST
from .store import Warehouse, _is_lock_error, migrate, schema_version

# The tables that record which alerts exist and were sent (an alert's id is derived from its
# kind, subject, channel and recipient, so a known id is never raised again) and the escalation
# episodes that were alerted once.  The replaced file's rows win over the backup's.
CARRY_OVER = ("alerts", "alert_messages", "escalations")


class BackupError(ValueError):
    """A backup that cannot be made or used (a bad file, an existing output); one line."""


class WarehouseInUse(RuntimeError):
    """Another process has the warehouse open: a restore would pull it from under it."""


@dataclass
class BackupResult:
    path: Path
    schema: int | None
    rows: dict[str, int]
    seconds: float


@dataclass
class RestoreResult:
    path: Path
    backup_schema: int | None
    schema: int
    replaced: Path | None  # where the replaced warehouse was kept (None: there was none)
    carried: dict[str, int] = field(default_factory=dict)  # rows of the alert history carried over
    seconds: float = 0.0


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(path: Path) -> str:
    """A path as an SQL string literal ('' doubling)."""
    return "'" + str(path).replace("'", "''") + "'"


def stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


def default_backup_path(wh: Warehouse, now: datetime | None = None) -> Path:
    """`<warehouse dir>/backups/<name>-<UTC time>.duckdb`."""
    return wh.path.parent / "backups" / f"{wh.path.stem}-{stamp(now)}.duckdb"


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table of the connection's own database."""
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1"
    ).fetchall()
    return {t: con.execute(f"SELECT count(*) FROM {_q(t)}").fetchone()[0] for (t,) in tables}


def _fresh_output(output: Path) -> Path:
    if output.exists():
        raise BackupError(f"{output}: already exists; give another --output")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".partial")
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)
    return tmp


def backup(wh: Warehouse, output: Path | None = None) -> BackupResult:
    """A consistent copy of the warehouse at `output` (default: `default_backup_path`).

    Waits up to `wh.lock_timeout_s` while a writer holds the file (then `WarehouseLocked`);
    meanwhile writers wait for the copy.  The copy is checked to open and to hold the same
    number of rows in every table before it gets its name."""
    started = time.monotonic()
    output = Path(output) if output is not None else default_backup_path(wh)
    if output.resolve() == wh.path.resolve():
        raise BackupError(f"{output}: that is the warehouse itself; give another --output")
    tmp = _fresh_output(output)
    try:
        with wh.connect(read_only=True) as con:
            version = schema_version(con)
            counts = row_counts(con)
            name = con.execute("SELECT current_database()").fetchone()[0]
            con.execute(f"ATTACH {_lit(tmp)} AS edumon_backup (READ_WRITE)")
            try:
                con.execute(f"COPY FROM DATABASE {_q(name)} TO edumon_backup")
            finally:
                con.execute("DETACH edumon_backup")
        copy = duckdb.connect(str(tmp), read_only=True)
        try:
            copied = row_counts(copy)
        finally:
            copy.close()
        if copied != counts:
            raise BackupError(f"{output}: the copy does not hold the same rows ({copied} vs {counts}); nothing kept")
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupResult(output, version, counts, time.monotonic() - started)


def inspect_backup(path: Path) -> int | None:
    """The schema version of a backup file; `BackupError` when it is not an edumon warehouse
    this code can use (not DuckDB, no schema, or a schema newer than this code)."""
    if not path.is_file():
        raise FileNotFoundError(2, "no such file", str(path))
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as e:
        raise BackupError(f"{path}: not a warehouse backup ({str(e).splitlines()[0]})") from None
    try:
        version = schema_version(con)
        tables = set(row_counts(con))
    finally:
        con.close()
    if version is None or "mentions" not in tables:
        raise BackupError(f"{path}: not an edumon warehouse (no schema_version or mentions table)")
    if version > LATEST:
        raise BackupError(
            f"{path}: the backup is at schema {version}, this edumon knows up to {LATEST}: upgrade edumon"
        )
    return version


def open_exclusive(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection without waiting: `WarehouseInUse` when another process has it."""
    try:
        return duckdb.connect(str(path))
    except duckdb.Error as e:
        if _is_lock_error(e):
            pid = re.search(r"\(PID (\d+)\)", str(e))
            who = f"another process (PID {pid.group(1)})" if pid else "another process"
            raise WarehouseInUse(
                f"{path}: the warehouse is in use by {who}; "
                "stop `edumon serve`, `edumon web` and other connections, then restore"
            ) from None
        raise


def _open_current(path: Path, carry_alerts: bool) -> duckdb.DuckDBPyConnection | None:
    """The warehouse being replaced, held exclusively; None when there is none (or it cannot be
    read and its alert history is not wanted)."""
    if not path.exists():
        return None
    try:
        return open_exclusive(path)
    except duckdb.Error as e:
        if not carry_alerts:
            return None
        raise BackupError(
            f"{path}: cannot read the warehouse being replaced ({str(e).splitlines()[0]}); "
            "--no-carry-alerts replaces it anyway (alerts sent since the backup may then be sent again)"
        ) from None


def carry_over(con: duckdb.DuckDBPyConnection, into: str) -> dict[str, int]:
    """Copy the alert history (`CARRY_OVER`) of the connection's database into the attached
    database `into`: rows it lacks are added, rows it has are replaced by the newer ones.
    Only the columns both have are copied (the replaced file may be at another schema)."""
    carried = {}
    for table in CARRY_OVER:
        cols = con.execute(
            """SELECT a.column_name FROM duckdb_columns() a JOIN duckdb_columns() b USING (table_name, column_name)
               WHERE a.database_name = current_database() AND b.database_name = ? AND a.table_name = ?
               ORDER BY b.column_index""",
            [into, table],
        ).fetchall()
        if not cols:
            continue
        col_list = ", ".join(_q(c) for (c,) in cols)
        carried[table] = con.execute(f"SELECT count(*) FROM {_q(table)}").fetchone()[0]
        con.execute(
            f"INSERT OR REPLACE INTO {_q(into)}.main.{_q(table)} ({col_list}) SELECT {col_list} FROM {_q(table)}"
        )
    return carried


def _migrated_copy(backup_path: Path, target: Path) -> int:
    """Copy the backup (and a .wal beside it) to `target` and bring it to this code's schema."""
    for stale in (target, target.with_name(target.name + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(backup_path, target)
    wal = backup_path.with_name(backup_path.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    con = duckdb.connect(str(target))
    try:
        return migrate(con)
    finally:
        con.close()


def _set_aside(path: Path, keep_dir: Path) -> Path:
    """Move the warehouse (and its .wal) into `keep_dir`, under a name with the time."""
    keep_dir.mkdir(parents=True, exist_ok=True)
    kept = keep_dir / f"{path.stem}-replaced-{stamp()}{path.suffix}"
    os.replace(path, kept)
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        os.replace(wal, kept.with_name(kept.name + ".wal"))
    return kept


def restore(wh: Warehouse, backup_path: Path, keep_dir: Path | None = None, carry_alerts: bool = True) -> RestoreResult:
    """Put `backup_path` in the place of the warehouse, migrated to this code's schema.

    Refuses (`WarehouseInUse`) while another process has the warehouse open; holds it
    exclusively while the alert history is carried over (unless `carry_alerts` is off); keeps
    the replaced file in `keep_dir` (default `<warehouse dir>/replaced/`).  The backup itself
    is never changed."""
    started = time.monotonic()
    backup_path = Path(backup_path)
    backup_version = inspect_backup(backup_path)
    if wh.path.exists() and backup_path.resolve() == wh.path.resolve():
        raise BackupError(f"{backup_path}: that is the warehouse itself")
    keep_dir = keep_dir or wh.path.parent / "replaced"
    incoming = wh.path.with_name(wh.path.name + ".restoring")
    carried: dict[str, int] = {}
    current = _open_current(wh.path, carry_alerts)
    try:
        version = _migrated_copy(backup_path, incoming)
        if current is not None and carry_alerts:
            current.execute(f"ATTACH {_lit(incoming)} AS edumon_restored (READ_WRITE)")
            current.execute("BEGIN TRANSACTION")
            try:
                carried = carry_over(current, "edumon_restored")
            except BaseException:
                current.execute("ROLLBACK")
                raise
            current.execute("COMMIT")
            current.execute("DETACH edumon_restored")
    except BaseException:
        if current is not None:
            current.close()
        for leftover in (incoming, incoming.with_name(incoming.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    if current is not None:
        current.close()
    replaced = _set_aside(wh.path, keep_dir) if wh.path.exists() else None
    os.replace(incoming, wh.path)
    wal = incoming.with_name(incoming.name + ".wal")
    if wal.exists():
        os.replace(wal, wh.path.with_name(wh.path.name + ".wal"))
    return RestoreResult(wh.path, backup_version, version, replaced, carried, time.monotonic() - started)
