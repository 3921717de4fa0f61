"""The analysts' export: the pseudonymous views as Parquet (zstd, partitioned by month).

Layout of `OUT`::

    OUT/manifest.json
    OUT/mentions_pseudonymous/month=2025-03/data_0.parquet
    OUT/daily_mentions/month=2025-03/data_0.parquet
    OUT/followup_stats/month=2025-03/data_0.parquet

Each dataset is written to a temporary directory beside it and swapped in whole, so a
month that was purged from the warehouse disappears from the export too, and a reader
never sees half an export. Only the three views are exported: no table with a handle,
name, author id or raw payload is ever read. The warehouse is read with a read-only
connection (after at most one short write, when pseudonyms or the time zone need
bringing up to date).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from .publish import open_copy, publication
from .store import Warehouse
from .views import get_setting, key_id, missing_pseudonyms, prepare, require_key, schema_version

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Config
    from core.secrets import Secrets

# dataset -> the query (with a `month` column to partition by)
DATASETS: dict[str, str] = {
    "mentions_pseudonymous": "SELECT * FROM mentions_pseudonymous ORDER BY posted_at, mention_id",
    "daily_mentions": "SELECT *, strftime(day, '%Y-%m') AS month FROM daily_mentions ORDER BY day, school_id, source",
    "followup_stats": "SELECT *, strftime(week, '%Y-%m') AS month FROM followup_stats ORDER BY week, school_id, action",
}


@dataclass
class ExportReport:
    out: Path
    rows: dict[str, int] = field(default_factory=dict)
    months: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> str:
        parts = ", ".join(f"{name} {n} rows" for name, n in self.rows.items())
        months = sorted({m for ms in self.months.values() for m in ms})
        span = f" ({months[0]} .. {months[-1]})" if months else ""
        return f"exported to {self.out}: {parts}{span}"


def _sql_str(p: Path) -> str:
    return "'" + str(p).replace("'", "''") + "'"


@contextmanager
def _current(wh: Warehouse, cfg: Config, key: bytes, rotate: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection on which every author has a pseudonym under `key` (a cycle
    may store new authors between `prepare` and the read: then prepare again). `rotate`:
    the key replaces the warehouse's (every pseudonym recomputed)."""
    for attempt in range(3):
        prepare(wh, cfg, key, rotate=rotate and attempt == 0)
        with wh.connect(read_only=True) as con:
            if missing_pseudonyms(con, key) == 0:
                yield con
                return
    raise RuntimeError("new authors keep arriving faster than their pseudonyms are computed; try again")


def export(
    cfg: Config,
    out: str | Path,
    *,
    secrets: Secrets | None = None,
    now: datetime | None = None,
    wh: Warehouse | None = None,
    rotate_key: bool = False,
) -> ExportReport:
    """Write the pseudonymous datasets of the main warehouse to `out` (created if needed).

    A key other than the one the warehouse's pseudonyms were made with is refused
    (`PseudonymKeyMismatch`) unless `rotate_key`: then it becomes the warehouse's key."""
    key = require_key(cfg, secrets)
    wh = wh or Warehouse(cfg.warehouse.path, lock_timeout_s=cfg.warehouse.lock_timeout_s)
    if not wh.path.exists():
        raise FileNotFoundError(f"{wh.path}: no warehouse here yet (run a cycle first)")
    with _current(wh, cfg, key, rotate_key) as con:
        meta = {"schema_version": schema_version(con), "timezone": get_setting(con, "timezone")}
        return write_datasets(con, cfg, Path(out), {**meta, "pseudonym_key_id": key_id(key)}, now)


def export_copy(
    cfg: Config, out: str | Path, *, secrets: Secrets | None = None, now: datetime | None = None
) -> ExportReport:
    """Write the pseudonymous datasets of the analysts' copy (`warehouse.publish`) to `out`.

    Never touches the main warehouse. The key in the environment must be the one the copy's
    pseudonyms were made with (else the pseudonyms would not match earlier exports)."""
    key = require_key(cfg, secrets)
    with open_copy(cfg) as con:
        info = publication(con)
        if info.get("pseudonym_key_id") != key_id(key) or info.get("authors_without_pseudonym", "0") != "0":
            raise CopyNotCurrent(
                "the analysts' copy was not published with this pseudonym key; publish it again "
                "(edumon export does so when it can) or ask the administrator"
            )
        meta = {
            "schema_version": int(info.get("schema_version") or 0),
            "timezone": info.get("timezone"),
            "pseudonym_key_id": key_id(key),
            "published_at": info.get("published_at"),
        }
        return write_datasets(con, cfg, Path(out), meta, now)


class CopyNotCurrent(RuntimeError):
    """The analysts' copy does not carry pseudonyms under the caller's key."""


def write_datasets(
    con: duckdb.DuckDBPyConnection, cfg: Config, out: Path, meta: dict[str, Any], now: datetime | None
) -> ExportReport:
    """Write the datasets readable on `con` to `out`, swapping each in whole."""
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport(out=out)
    staging = out / f".staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        for name, sql in DATASETS.items():
            _write_dataset(con, name, sql, staging / name, report)
        manifest = {
            "generated_at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
            **meta,
            "retention_days": cfg.retention.days,
            "rows": report.rows,
            "note": (
                "Pseudonymised personal data (AVG/GDPR), not anonymous: post texts can identify people. "
                f"Replace it with a fresh export at least every {cfg.retention.days} days and delete "
                "old copies; never try to re-identify authors. See docs/privacy.md."
            ),
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for name in [*DATASETS, "manifest.json"]:
            final = out / name
            old = out / f".old-{uuid.uuid4().hex[:8]}-{name}"
            if final.exists():
                final.rename(old)
            (staging / name).rename(final)
            if old.exists():
                shutil.rmtree(old) if old.is_dir() else old.unlink()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _write_dataset(con: duckdb.DuckDBPyConnection, name: str, sql: str, target: Path, report: ExportReport) -> None:
    n = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
    if n:
        con.execute(f"COPY ({sql}) TO {_sql_str(target)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (month))")
    else:  # an empty dataset still has its schema, so the readers' globs match
        (target / "month=none").mkdir(parents=True)
        con.execute(
            f"COPY (SELECT * EXCLUDE (month) FROM ({sql}) LIMIT 0) TO "
            f"{_sql_str(target / 'month=none' / 'data_0.parquet')} (FORMAT parquet, COMPRESSION zstd)"
        )
    report.rows[name] = n
    report.months[name] = sorted(p.name.split("=", 1)[1] for p in target.glob("month=*") if p.name != "month=none")
