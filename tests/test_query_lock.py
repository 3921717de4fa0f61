"""`edumon query` while another process holds the warehouse's write lock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from analysts_data import build_view_warehouse, write_config
from click.testing import CliRunner

from edumon.cli import main
from tests.locks import hold_lock
from warehouse.views import prepare


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    cfg, _ = build_view_warehouse(tmp_path)
    from warehouse import Warehouse

    prepare(Warehouse(cfg.warehouse.path), cfg, None)  # views current: the query needs no write
    yield Path(cfg.warehouse.path), write_config(tmp_path)


def test_query_waits_for_the_writer_and_succeeds(warehouse: tuple[Path, Path]) -> None:
    db, cfg_path = warehouse
    holder = hold_lock(db, 2.0)
    try:
        t0 = time.monotonic()
        r = CliRunner().invoke(
            main, ["query", "--config", str(cfg_path), "--wait", "30", "SELECT sum(n) AS n FROM daily_mentions"]
        )
        waited = time.monotonic() - t0
        assert holder.stdout is not None and holder.stdout.readline().strip() == "released"
    finally:
        holder.kill()
        holder.wait()
    assert r.exit_code == 0, r.output
    assert "locked by another process" in r.output and "waiting up to 30 s" in r.output
    assert r.output.strip().splitlines()[-2].strip() == "7"
    assert waited >= 1.0


def test_query_gives_up_with_one_clear_line(warehouse: tuple[Path, Path]) -> None:
    db, cfg_path = warehouse
    holder = hold_lock(db, 60.0)
    try:
        r = CliRunner().invoke(main, ["query", "--config", str(cfg_path), "--wait", "1", "SELECT 1"])
    finally:
        holder.kill()
        holder.wait()
    assert r.exit_code == 1
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("Error: edumon query: the warehouse stayed locked by another process")
    assert "1 s" in last and "edumon export" in last
