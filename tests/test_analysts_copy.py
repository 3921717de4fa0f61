"""The analysts' copy (issue 18, point 7): published after every cycle and purge, holding only the
analysts' views; a reader holding it open never blocks a cycle nor the next publish, and
`edumon query` / `edumon export` read it while the main file is locked."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from analysts_data import KEY_A, build_view_warehouse, write_config
from click.testing import CliRunner
from protocol_env import NEUTRAL, POSITIVE, THREAT, Env, env, item, smtp_server

from core.config import load_config
from core.secrets import Secrets
from edumon.cli import main
from pipeline import run_cycle
from tests.locks import hold_lock
from warehouse import Warehouse
from warehouse.publish import analysts_path, open_copy, publication, publish

__all__ = ["env", "smtp_server"]
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

VIEWS = {"daily_mentions", "mentions_pseudonymous", "followup_stats"}

# An analyst's session on the copy: opens it, answers "count" on each line of stdin, forever.
READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("SELECT count(*) FROM mentions_pseudonymous").fetchall()[0][0], flush=True)
    for line in sys.stdin:
        print(con.execute("SELECT count(*) FROM mentions_pseudonymous").fetchall()[0][0], flush=True)
""")


def copy_tables(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()} | {
            r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
    finally:
        con.close()


def test_a_cycle_publishes_a_copy_with_only_the_analysts_views(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUMON_PSEUDONYM_KEY", KEY_A)
    report = run_cycle(env.cfg)
    assert report.published == str(analysts_path(env.cfg))
    path = analysts_path(env.cfg)
    assert path.parent == env.db.parent and path.name == "w.analysts.duckdb"  # the default: beside the main file
    assert copy_tables(path) == VIEWS | {"publication"}
    with open_copy(env.cfg) as con:
        info = publication(con)
        n = con.execute("SELECT count(*) FROM mentions_pseudonymous").fetchall()[0][0]
        cols = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns()").fetchall()}
        texts = " ".join(r[0] for r in con.execute("SELECT text FROM mentions_pseudonymous").fetchall())
    assert n == len(report.stored) == 6
    assert not cols & {"author", "author_id", "url", "raw", "source_id", "reply_to", "media", "body"}
    assert "anoniem_77" not in texts and "forumgebruiker" not in texts
    assert info["authors_without_pseudonym"] == "0" and info["pseudonym_key_id"]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp") or p.name.endswith(".tmp.wal")]
    with duckdb.connect(str(env.db), read_only=True) as con:  # the copy equals the views on the main file
        main_rows = sorted(con.execute("SELECT * FROM daily_mentions").fetchall())
    with open_copy(env.cfg) as con:
        assert sorted(con.execute("SELECT * FROM daily_mentions").fetchall()) == main_rows


def test_a_reader_holding_the_copy_blocks_neither_the_cycle_nor_the_next_publish(env: Env) -> None:
    run_cycle(env.cfg)
    path = analysts_path(env.cfg)
    before = os.stat(path).st_ino
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert reader.stdin is not None and reader.stdout is not None
    try:
        assert reader.stdout.readline().strip() == "6"  # the analyst is in, and stays
        env.set_feed(THREAT, POSITIVE, NEUTRAL, item("t8", "Nieuws", "Het Ley College opent een nieuwe mediatheek."))
        t0 = time.monotonic()
        report = run_cycle(env.cfg)
        took = time.monotonic() - t0
        assert report.ok and report.spooled == 0 and len(report.stored) == 1
        assert took < env.cfg.warehouse.lock_timeout_s  # nothing waited for the analyst
        assert report.published == str(path) and os.stat(path).st_ino != before  # a new file took its place
        reader.stdin.write("again\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "6"  # the analyst still reads the copy they opened
        with open_copy(env.cfg) as con:
            assert con.execute("SELECT count(*) FROM mentions_pseudonymous").fetchall()[0][0] == 7
        assert run_cycle(env.cfg).published == str(path)  # and the publish after that too
    finally:
        reader.kill()
        reader.wait()


def test_query_and_export_read_the_copy_while_the_main_file_is_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, _ = build_view_warehouse(tmp_path)
    cfg_path = write_config(tmp_path)
    monkeypatch.setenv("EDUMON_PSEUDONYM_KEY", KEY_A)
    publish(cfg, Secrets(environ={"EDUMON_PSEUDONYM_KEY": KEY_A}))
    holder = hold_lock(Path(cfg.warehouse.path), 60)  # a writer (or an admin's session) on the main file
    try:
        t0 = time.monotonic()
        q = CliRunner().invoke(main, ["query", "--config", str(cfg_path), "SELECT sum(n) AS n FROM daily_mentions"])
        e = CliRunner().invoke(main, ["export", "--config", str(cfg_path), "--out", str(tmp_path / "x")])
        took = time.monotonic() - t0
        m = CliRunner().invoke(main, ["query", "--config", str(cfg_path), "--main", "--wait", "0.5", "SELECT 1"])
    finally:
        holder.kill()
        holder.wait()
    assert q.exit_code == 0, q.output
    assert "locked" not in q.output and q.output.strip().splitlines()[-2].strip() == "7"
    assert e.exit_code == 0, e.output
    assert "mentions_pseudonymous 6 rows" in e.output and (tmp_path / "x" / "manifest.json").exists()
    assert took < 5  # neither waited for the lock
    assert m.exit_code == 1 and "stayed locked" in m.output  # --main is the main file, and waits for it


def test_the_copy_is_published_again_with_the_callers_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, _ = build_view_warehouse(tmp_path)
    cfg_path = write_config(tmp_path)
    publish(cfg)  # a cycle without the key: no pseudonyms in the copy
    with open_copy(cfg) as con:
        assert publication(con)["authors_without_pseudonym"] == "5"  # five authors
    monkeypatch.setenv("EDUMON_PSEUDONYM_KEY", KEY_A)
    r = CliRunner().invoke(main, ["export", "--config", str(cfg_path), "--out", str(tmp_path / "x")])
    assert r.exit_code == 0, r.output
    with open_copy(cfg) as con:
        assert publication(con)["authors_without_pseudonym"] == "0"
        assert con.execute("SELECT count(DISTINCT author_pseudonym) FROM mentions_pseudonymous").fetchall()[0][0] > 1


def test_purge_publishes_the_copy_again(tmp_path: Path) -> None:
    cfg, _ = build_view_warehouse(tmp_path)  # posts of March and July 2026: past 90 days by now
    cfg_path = write_config(tmp_path)
    publish(load_config(cfg_path))
    with open_copy(cfg) as con:
        assert con.execute("SELECT count(*) FROM mentions_pseudonymous").fetchall()[0][0] == 6
    r = CliRunner().invoke(main, ["purge", "--config", str(cfg_path), "--no-check-deleted"])
    assert r.exit_code == 0 and "removed 5 mentions" in r.output, r.output  # one is tied to a police report
    kept = Warehouse(cfg.warehouse.path).query("SELECT mention_id FROM mentions")
    assert len(kept) == 1
    with open_copy(cfg) as con:  # what was purged is gone from the analysts' copy too
        assert con.execute("SELECT mention_id FROM mentions_pseudonymous").fetchall() == kept
        assert con.execute("SELECT sum(n) FROM daily_mentions").fetchall()[0][0] == 1


def test_configured_path_and_a_locked_main_file_leave_the_old_copy(tmp_path: Path) -> None:
    cfg, _ = build_view_warehouse(tmp_path)
    cfg.warehouse.analysts_path = str(tmp_path / "analysts" / "copy.duckdb")
    first = publish(cfg)
    assert first.path == tmp_path / "analysts" / "copy.duckdb" and first.rows["mentions_pseudonymous"] == 6
    holder = hold_lock(Path(cfg.warehouse.path), 60)
    try:
        from warehouse import WarehouseLocked

        with pytest.raises(WarehouseLocked):
            publish(cfg, wh=Warehouse(cfg.warehouse.path, lock_timeout_s=0.5))
    finally:
        holder.kill()
        holder.wait()
    assert sorted(p.name for p in (tmp_path / "analysts").iterdir()) == ["copy.duckdb"]  # no temp file left
    with open_copy(cfg) as con:
        assert con.execute("SELECT count(*) FROM mentions_pseudonymous").fetchall()[0][0] == 6
