"""Every SQL block of the analysts' guide (docs/analysts.md) runs: on the warehouse, on its analysts' copy
and on its Parquet export."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from analysts_data import KEY_A, build_view_warehouse

from core.config import Config
from core.secrets import Secrets
from warehouse import Warehouse
from warehouse.export import export
from warehouse.publish import open_copy, publish
from warehouse.views import prepare

GUIDE = (Path(__file__).resolve().parents[1] / "docs" / "analysts.md").read_text(encoding="utf-8")

BLOCKS = re.findall(r"```sql\n(.*?)```", GUIDE, re.S)
SETUP = [b for b in BLOCKS if "read_parquet" in b]
QUERIES = [b for b in BLOCKS if "read_parquet" not in b]


def test_the_guide_has_the_questions() -> None:
    assert len(SETUP) == 1 and len(QUERIES) >= 8
    text = " ".join(QUERIES)
    for view in ("daily_mentions", "mentions_pseudonymous", "followup_stats"):
        assert view in text


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return [tuple(str(v) for v in r) for r in con.execute(sql).fetchall()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Warehouse, Config]:
    tmp = tmp_path_factory.mktemp("guide")
    cfg, _ = build_view_warehouse(tmp)
    wh = Warehouse(cfg.warehouse.path)
    prepare(wh, cfg, KEY_A.encode())
    export(cfg, tmp / "export", secrets=Secrets(environ={"EDUMON_PSEUDONYM_KEY": KEY_A}))
    publish(cfg, Secrets(environ={"EDUMON_PSEUDONYM_KEY": KEY_A}))
    return tmp, wh, cfg


@pytest.mark.parametrize("n", range(len(QUERIES)))
def test_guide_sql_runs_on_warehouse_copy_and_parquet(
    exported: tuple[Path, Warehouse, Config], monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    tmp, wh, cfg = exported
    monkeypatch.chdir(tmp)  # the guide's paths are relative: export/...
    sql = QUERIES[n]
    with wh.connect(read_only=True) as con:
        on_warehouse = _rows(con, sql)
    assert on_warehouse, f"docs/analysts.md query {n} returns nothing on the fixture:\n{sql}"
    mem = duckdb.connect()
    mem.execute("SET TimeZone = 'UTC'")
    mem.execute(SETUP[0])
    assert _rows(mem, sql) == on_warehouse
    with open_copy(cfg) as con:
        assert _rows(con, sql) == on_warehouse


def test_negatives_per_school_per_week_numbers(tmp_path: Path) -> None:
    cfg, _ = build_view_warehouse(tmp_path)
    wh = Warehouse(cfg.warehouse.path)
    prepare(wh, cfg, None)
    first = next(q for q in QUERIES if "pct_negative" in q)
    with wh.connect(read_only=True) as con:
        rows = con.execute(first).fetchall()
    got = {(r[0], r[1].isoformat()): r[2:] for r in rows}
    assert got[("ley-college", "2026-03-09")] == (3, 5, 60.0)
    assert got[("regenboog-leiderdorp", "2026-03-09")] == (0, 1, 0.0)
    assert got[("regenboog-leiderdorp", "2026-06-29")] == (1, 1, 100.0)
