"""Compaction: rewrite the warehouse file so that deleted rows are gone from its bytes too.

DuckDB marks the blocks of deleted rows free and reuses them later, but does not overwrite
them: after a purge the purged texts stay readable in the file (`CHECKPOINT` and `VACUUM`
do not change that; measured with a byte grep). `compact` copies every table, view, index
and constraint to a new file beside it (`COPY FROM DATABASE`: only live rows are written),
checks that every table has the same number of rows, gives it the old file's owner and
permissions, and swaps the new file in with one atomic rename while it still holds the old file's lock, so no other process can write to the
old file between the copy and the swap; a process that opens the path afterwards gets the new
file. On any error the new file is removed and the old one stays as it was.

Needs free disk space for one more copy of the warehouse while it runs.
"""

from __future__ import annotations

import os
import stat
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .store import Warehouse

ALIAS = "edumon_compacted"


class CompactionFailed(RuntimeError):
    """The copy did not match the warehouse; the warehouse was left unchanged."""


@dataclass
class CompactReport:
    bytes_before: int
    bytes_after: int
    seconds: float
    tables: int

    def summary(self) -> str:
        return (
            f"compacted the warehouse file: {self.bytes_before / 1e6:.1f} MB -> {self.bytes_after / 1e6:.1f} MB "
            f"({self.tables} tables, {self.seconds:.1f} s); deleted rows are no longer in the file"
        )


def _sql_str(p: Path) -> str:
    return "'" + str(p).replace("'", "''") + "'"


def _ident(name: str) -> str:
    """A quoted SQL identifier (a database or table name DuckDB reported)."""
    return '"' + name.replace('"', '""') + '"'


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary ORDER BY 1", [database]
    ).fetchall()
    return [r[0] for r in rows]


def _copy(con: duckdb.DuckDBPyConnection, target: Path, clear_setting: str | None) -> int:
    """Copy the open database into `target` and check it; returns the number of tables."""
    source = con.execute("SELECT current_database()").fetchall()[0][0]
    con.execute(f"ATTACH {_sql_str(target)} AS {ALIAS}")
    try:
        con.execute(f"COPY FROM DATABASE {_ident(source)} TO {ALIAS}")
        tables = _tables(con, source)
        if _tables(con, ALIAS) != tables:
            raise CompactionFailed(f"the copy has other tables than {source}")
        for t in tables:
            a = con.execute(f"SELECT count(*) FROM {_ident(source)}.main.{_ident(t)}").fetchall()[0][0]
            b = con.execute(f"SELECT count(*) FROM {ALIAS}.main.{_ident(t)}").fetchall()[0][0]
            if a != b:
                raise CompactionFailed(f"table {t}: {a} rows in the warehouse, {b} in the copy")
        if clear_setting and "settings" in tables:
            con.execute(f"DELETE FROM {ALIAS}.main.settings WHERE key = ?", [clear_setting])
    finally:
        con.execute(f"DETACH {ALIAS}")
    return len(tables)


def _same_owner_and_mode(old: Path, new: Path) -> None:
    """The new file gets the old one's permissions (e.g. readable by the service account only)."""
    st = old.stat()
    os.chmod(new, stat.S_IMODE(st.st_mode))
    try:
        os.chown(new, st.st_uid, st.st_gid)
    except PermissionError:  # not root: the file is ours already
        pass


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def compact(wh: Warehouse, clear_setting: str | None = None) -> CompactReport:
    """Rewrite the warehouse file without its free blocks (see the module text).

    `clear_setting`: a `settings` key to delete in the new file (the purge's "compaction due").
    """
    started = time.monotonic()
    path = wh.path
    before = path.stat().st_size
    target = path.with_name(f".{path.name}.compact-{uuid.uuid4().hex[:8]}")
    with wh.connect() as con:  # a read-write connection: holds the file's lock until the swap is done
        con.execute("CHECKPOINT")
        try:
            n = _copy(con, target, clear_setting)
            _same_owner_and_mode(path, target)
            _fsync(target)
            os.replace(target, path)
        finally:
            for leftover in (target, Path(str(target) + ".wal")):
                leftover.unlink(missing_ok=True)
        _fsync(path.parent)
    return CompactReport(before, path.stat().st_size, time.monotonic() - started, n)
