"""The analysts' copy: a separate, read-only DuckDB file with only what analysts may see.

DuckDB lets one process write a file, and a connection another process keeps open (even
read-only) stops that writer. An analyst's session on the main warehouse could hold up the
monitoring cycle, and with it the alerts (issue 18, point 7). So analysts never open the
main file: after every cycle and every purge, `publish` writes the three analysts' views
(`mentions_pseudonymous`, `daily_mentions`, `followup_stats`) as plain tables into a new
file beside the copy, and `os.replace`s it over the old one. A reader that holds the old
copy open keeps reading the old file (on Linux the replaced file lives on while it is
open) and never blocks the next publish; the next reader opens the new one.

The copy holds no table with a handle, name, author id, raw payload, alert text or
evidence: only the three views, materialised, and a `publication` table saying when and
from what it was made (`published_at`, `schema_version`, `timezone`, `pseudonym_key_id`,
`authors_without_pseudonym`: authors left without a pseudonym, the key not being set).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from .store import Warehouse
from .views import prepare, pseudonym_key
from .viewsql import VIEWS

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Config
    from core.secrets import Secrets


def analysts_path(cfg: Config) -> Path:
    """The copy: `[warehouse] analysts_path`, default `<stem>.analysts.duckdb` beside the database."""
    if cfg.warehouse.analysts_path:
        return Path(cfg.warehouse.analysts_path)
    db = Path(cfg.warehouse.path)
    return db.with_name(f"{db.stem}.analysts.duckdb")


@dataclass
class Published:
    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    info: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        parts = ", ".join(f"{name} {n} rows" for name, n in self.rows.items())
        return f"analysts' copy published to {self.path} ({parts}; {self.seconds:.2f} s)"


def _attach_main(con: duckdb.DuckDBPyConnection, wh: Warehouse) -> None:
    """Attach the main warehouse read-only as `wh`, retrying while another process writes it."""
    wh.retry_locked(lambda: con.execute("ATTACH ? AS wh (READ_ONLY)", [str(wh.path)]))


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def remove_copy(cfg: Config) -> None:
    """Delete the analysts' copy (a reader holding it open keeps its view until it closes)."""
    _remove(analysts_path(cfg))


def publish(
    cfg: Config, secrets: Secrets | None = None, *, wh: Warehouse | None = None, now: datetime | None = None
) -> Published:
    """Write the analysts' copy anew and swap it in atomically; returns what it holds.

    Brings the views up to date first (`views.prepare`: time zone, pseudonyms when the key is
    in the environment; a short write only when needed), then reads the main file with one
    read-only attach. Raises `WarehouseLocked` (nothing changed) when a writer keeps the main
    file locked longer than `wh.lock_timeout_s`, `FileNotFoundError` when there is no warehouse.
    """
    t0 = time.perf_counter()
    wh = wh or Warehouse(cfg.warehouse.path, lock_timeout_s=cfg.warehouse.lock_timeout_s)
    if not wh.path.exists():
        raise FileNotFoundError(f"{wh.path}: no warehouse here yet (run a cycle first)")
    prep = prepare(wh, cfg, pseudonym_key(cfg, secrets))
    dest = analysts_path(cfg)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    out = Published(dest)
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute("SET TimeZone = 'UTC'")
            _attach_main(con, wh)
            for name in VIEWS:  # code constants: the analysts' views
                con.execute(f"CREATE TABLE main.{name} AS SELECT * FROM wh.main.{name}")
                out.rows[name] = con.execute(f"SELECT count(*) FROM main.{name}").fetchall()[0][0]
            out.info = {**_info(con, now), "authors_without_pseudonym": str(prep.unpseudonymised)}
            con.execute("DETACH wh")
            _finish(con, out)
        finally:
            con.close()
        os.replace(tmp, dest)
    finally:
        _remove(tmp)
    out.seconds = time.perf_counter() - t0
    return out


def _info(con: duckdb.DuckDBPyConnection, now: datetime | None) -> dict[str, str]:
    """What the copy was made from, read from the attached main file."""

    def setting(key: str) -> str:
        rows = con.execute("SELECT value FROM wh.main.settings WHERE key = ?", [key]).fetchall()
        return rows[0][0] if rows else ""

    version = con.execute("SELECT coalesce(max(version), 0) FROM wh.main.schema_version").fetchall()[0][0]
    return {
        "published_at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "schema_version": str(version),
        "timezone": setting("timezone"),
        "pseudonym_key_id": setting("pseudonym_key_id"),
    }


def _finish(con: duckdb.DuckDBPyConnection, out: Published) -> None:
    """Write the `publication` table into the copy and checkpoint it (no WAL left behind)."""
    con.execute("CREATE TABLE publication (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    con.register("publication_in", pa.table({"key": list(out.info), "value": list(out.info.values())}))
    try:
        con.execute("INSERT INTO publication SELECT key, value FROM publication_in")
    finally:
        con.unregister("publication_in")
    con.execute("CHECKPOINT")


@contextmanager
def open_copy(cfg: Config) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the analysts' copy (never waits: nothing writes that file)."""
    path = analysts_path(cfg)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no analysts' copy here yet (it is published after every cycle)")
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def publication(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """What the `publication` table of a copy says (empty for a file that is not a copy)."""
    try:
        return dict(con.execute("SELECT key, value FROM publication").fetchall())
    except duckdb.CatalogException:
        return {}


def copy_info(cfg: Config) -> dict[str, str] | None:
    """The copy's `publication` values, or None when there is no copy."""
    try:
        with open_copy(cfg) as con:
            return publication(con)
    except FileNotFoundError:
        return None
