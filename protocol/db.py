"""Small warehouse helpers shared by the protocol modules: Arrow batch inserts and stable ids.
Stored mentions are read back through `warehouse.rows` (the one Mention <-> row mapping)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.rows import utc


def stable_id(*parts: Any) -> str:
    """A deterministic id from its parts: the same subject always gets the same id."""
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8")).hexdigest()[:24]


def _arrow_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return utc(v)
    if isinstance(v, tuple):
        return list(v)
    return v


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: Sequence[dict[str, Any]],
    types: dict[str, pa.DataType] | None = None,
) -> int:
    """Insert rows (dicts with the same keys) in one batch from Arrow; existing keys are kept
    (ON CONFLICT DO NOTHING).  Returns the number of rows inserted."""
    if not rows:
        return 0
    cols = list(rows[0])
    types = types or {}
    arrays = []
    for c in cols:
        values = [_arrow_value(r[c]) for r in rows]
        tp = types.get(c)
        if tp is None:
            sample = next((v for v in values if v is not None), None)
            if isinstance(sample, datetime):
                tp = pa.timestamp("us", tz="UTC")
            elif isinstance(sample, list):
                tp = pa.list_(pa.string())
            elif isinstance(sample, bool):
                tp = pa.bool_()
            elif isinstance(sample, int):
                tp = pa.int64()
            elif isinstance(sample, float):
                tp = pa.float64()
            else:
                tp = pa.string()
        arrays.append(pa.array(values, type=tp))
    tbl = pa.Table.from_arrays(arrays, names=cols)
    name = f"_in_{table}"
    con.register(name, tbl)
    try:
        col_list = ", ".join(cols)
        res = con.execute(
            f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {name} ON CONFLICT DO NOTHING RETURNING 1"
        ).fetchall()
    finally:
        con.unregister(name)
    return len(res)


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params or []))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def resolve_mention_id(con: duckdb.DuckDBPyConnection, given: str, table: str = "mentions") -> str:
    """The full mention id for an id or a unique prefix of at least 6 characters (raises KeyError/ValueError)."""
    given = given.strip()
    # fetchall, not fetchone: DuckDB refuses the next statement while a result is unfinished
    if con.execute(f"SELECT 1 FROM {table} WHERE mention_id = ? LIMIT 1", [given]).fetchall():
        return given
    if len(given) < 6:
        raise KeyError(given)
    rows = con.execute(
        f"SELECT DISTINCT mention_id FROM {table} WHERE starts_with(mention_id, ?) LIMIT 2", [given]
    ).fetchall()
    if not rows:
        raise KeyError(given)
    if len(rows) > 1:
        raise ValueError(f"{given}: more than one mention starts with this; give more characters")
    return rows[0][0]
