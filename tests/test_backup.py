"""`edumon backup` and `edumon restore` (issue 18, point 8): a consistent copy while edumon runs, a
restore that refuses a warehouse in use, keeps the replaced file and never sends an alert twice."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from analysts_data import build_view_warehouse
from click.testing import CliRunner
from locks import hold_lock
from protocol_env import NEUTRAL, THREAT, Env, env, smtp_server, write_config

from edumon.cli import main
from pipeline import run_cycle
from pipeline.cyclelock import cycle_lock
from warehouse import Warehouse
from warehouse.schema import LATEST

__all__ = ["env", "smtp_server"]
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def snapshot(db: Path) -> dict[str, list[str]]:
    """Every row of every table, as text, sorted."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {t: sorted(map(str, con.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}  # noqa: S608
    finally:
        con.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def one_error(res) -> str:
    errors = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in res.output, res.output
    return errors[0]


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path]:
    """A warehouse with mentions and follow-ups, and its config file."""
    cfg, _ = build_view_warehouse(tmp_path)
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(
        f'[organisation]\nname = "Edu-Ley"\n[warehouse]\npath = "{cfg.warehouse.path}"\nlock_timeout_s = 5\n'
        '[[schools]]\nid = "ley-college"\nname = "Ley College"\n[[schools]]\nid = "regenboog-leiderdorp"\nname = "De Regenboog"\n',
        encoding="utf-8",
    )
    return cfg_path, Path(cfg.warehouse.path)


# --- backup --------------------------------------------------------------------------------------


def test_backup_waits_for_a_cycle_and_holds_the_same_rows(site, tmp_path: Path) -> None:
    cfg_path, db = site
    original = snapshot(db)
    holder = hold_lock(db, 2.0)  # a cycle writing for 2 s
    try:
        started = time.monotonic()
        res = invoke("backup", "--config", str(cfg_path), "--output", str(tmp_path / "b" / "copy.duckdb"))
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert res.exit_code == 0, res.output
    assert waited >= 1.0, "the backup did not wait for the writer"
    assert f"to {tmp_path / 'b' / 'copy.duckdb'}" in res.output and "mentions" in res.output
    assert snapshot(tmp_path / "b" / "copy.duckdb") == original
    # it opens as a warehouse: views and the schema are there
    copy = Warehouse(tmp_path / "b" / "copy.duckdb")
    assert copy.query("SELECT max(version) FROM schema_version")[0][0] == LATEST
    assert copy.query("SELECT count(*) FROM daily_mentions")[0][0] > 0
    # never over an existing file
    again = invoke("backup", "--config", str(cfg_path), "--output", str(tmp_path / "b" / "copy.duckdb"))
    assert again.exit_code == 2 and "already exists" in one_error(again)


def test_backup_and_restore_take_paths_with_quotes_and_spaces(site, tmp_path: Path) -> None:
    cfg_path, db = site
    original = snapshot(db)
    out = tmp_path / 'it\'s a "backup"; DROP TABLE mentions.duckdb'
    res = invoke("backup", "--config", str(cfg_path), "--output", str(out))
    assert res.exit_code == 0, res.output
    assert snapshot(out) == original
    res = invoke("restore", "--config", str(cfg_path), str(out))
    assert res.exit_code == 0, res.output
    assert snapshot(db) == original


def test_backup_gives_up_after_the_bounded_wait_and_leaves_nothing(site, tmp_path: Path) -> None:
    cfg_path, db = site
    holder = hold_lock(db, 30)
    try:
        started = time.monotonic()
        res = invoke("backup", "--config", str(cfg_path), "--output", str(tmp_path / "b.duckdb"), "--wait", "1")
        took = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert res.exit_code == 1 and "locked by another process" in one_error(res)
    assert took < 10
    assert list(tmp_path.glob("b.duckdb*")) == []


WRITER = """
import sys, time, duckdb
deadline = time.monotonic() + float(sys.argv[2])
con = duckdb.connect(sys.argv[1]); con.execute("CREATE TABLE IF NOT EXISTS pair_a (i INTEGER); CREATE TABLE IF NOT EXISTS pair_b (i INTEGER)"); con.close()
print("ready", flush=True)
n = 0
while time.monotonic() < deadline:
    try:
        con = duckdb.connect(sys.argv[1])
    except duckdb.Error:
        time.sleep(0.01); continue
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO pair_a SELECT range FROM range(?, ? + 50)", [n, n])
    time.sleep(0.01)
    con.execute("INSERT INTO pair_b SELECT range FROM range(?, ? + 50)", [n, n])
    con.execute("COMMIT"); con.close(); n += 50
print(n, flush=True)
"""


def test_backup_while_a_writer_keeps_writing_is_one_consistent_state(site, tmp_path: Path) -> None:
    """A writer adds rows to two tables in one transaction at a time, as fast as it can; every
    backup taken meanwhile has as many rows in one as in the other."""
    cfg_path, db = site
    w = subprocess.Popen([sys.executable, "-c", WRITER, str(db), "6"], stdout=subprocess.PIPE, text=True)
    try:
        assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        counts = []
        for i in range(3):
            out = tmp_path / f"during-{i}.duckdb"
            res = invoke("backup", "--config", str(cfg_path), "--output", str(out))
            assert res.exit_code == 0, res.output
            con = duckdb.connect(str(out), read_only=True)
            a, b = con.execute("SELECT (SELECT count(*) FROM pair_a), (SELECT count(*) FROM pair_b)").fetchone()
            con.close()
            assert a == b, f"backup {i} caught a transaction half-way: {a} vs {b}"
            counts.append(a)
    finally:
        w.wait(timeout=60)
    assert counts[-1] > 0, "the writer never wrote while the backups ran"


# --- restore -------------------------------------------------------------------------------------


def test_restore_after_an_alert_does_not_send_it_again(env: Env, smtp_server, tmp_path: Path) -> None:
    """Back up, a cycle alerts on a threat, restore the backup, the next cycle fetches the threat
    again: the webhook got exactly one alert about it, each mailbox one e-mail."""
    box, _ = smtp_server
    cfg_path = write_config(env.cfg, tmp_path / "edumon.toml")
    env.set_feed(NEUTRAL)
    assert run_cycle(env.cfg).actions.raised == []
    backup = tmp_path / "before.duckdb"
    assert invoke("backup", "--config", str(cfg_path), "--output", str(backup)).exit_code == 0

    env.set_feed(NEUTRAL, THREAT)
    first = run_cycle(env.cfg)
    assert len(first.stored) == 1 and len(first.actions.raised) == 3  # webhook + two e-mail addresses
    assert len(env.hook.delivered) == 1 and len(box.messages) == 2

    res = invoke("restore", "--config", str(cfg_path), str(backup))
    assert res.exit_code == 0, res.output
    assert "alert history carried over: 3 alerts, 3 alert_messages" in res.output
    kept = list((env.db.parent / "replaced").glob("*.duckdb"))
    assert len(kept) == 1 and Warehouse(kept[0]).query("SELECT count(*) FROM alerts")[0][0] == 3
    wh = Warehouse(env.db)
    assert wh.query("SELECT count(*) FROM mentions WHERE source_id = 't1'")[0][0] == 0  # the backup's state
    assert snapshot(backup)["mentions"] == snapshot(env.db)["mentions"]

    again = run_cycle(env.cfg)
    assert [m.source_id for m in again.stored] == ["t1"], "the next cycle did not fetch the threat again"
    assert again.actions.raised == [] and again.actions.errors == []
    assert len(env.hook.delivered) == 1, "the restore made the threat alert go out again"
    assert len(box.messages) == 2
    assert {r[0] for r in wh.query("SELECT status FROM alerts")} == {"sent"}


def test_without_the_alert_history_the_alert_would_go_out_again(env: Env, smtp_server, tmp_path: Path) -> None:
    """The counter-test: what carrying the alert history over prevents."""
    cfg_path = write_config(env.cfg, tmp_path / "edumon.toml")
    env.set_feed(NEUTRAL)
    run_cycle(env.cfg)
    backup = tmp_path / "before.duckdb"
    assert invoke("backup", "--config", str(cfg_path), "--output", str(backup)).exit_code == 0
    env.set_feed(NEUTRAL, THREAT)
    run_cycle(env.cfg)
    res = invoke("restore", "--config", str(cfg_path), str(backup), "--no-carry-alerts")
    assert res.exit_code == 0, res.output
    run_cycle(env.cfg)
    assert len(env.hook.delivered) == 2


def test_restore_refuses_a_warehouse_in_use_and_changes_nothing(site, tmp_path: Path) -> None:
    cfg_path, db = site
    backup = tmp_path / "b.duckdb"
    assert invoke("backup", "--config", str(cfg_path), "--output", str(backup)).exit_code == 0
    before = digest(db)
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); time.sleep(30)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "open"  # an analyst's session
        res = invoke("restore", "--config", str(cfg_path), str(backup))
    finally:
        reader.kill()
        reader.wait()
    assert res.exit_code == 1 and "in use by another process" in one_error(res) and "nothing was changed" in res.output
    assert digest(db) == before and not (db.parent / "replaced").exists()
    assert not list(db.parent.glob("*.restoring*"))

    from core.config import load_config

    with cycle_lock(load_config(cfg_path), "cycle", wait_s=0):  # a cycle running
        busy = invoke("restore", "--config", str(cfg_path), str(backup))
    assert busy.exit_code == 1 and "this restore is skipped" in one_error(busy)
    assert digest(db) == before


def test_restore_refuses_what_is_not_a_usable_backup(site, tmp_path: Path) -> None:
    cfg_path, db = site
    before = digest(db)
    not_db = tmp_path / "notes.duckdb"
    not_db.write_text("hello", encoding="utf-8")
    res = invoke("restore", "--config", str(cfg_path), str(not_db))
    assert res.exit_code == 2 and "not a warehouse backup" in one_error(res)
    res = invoke("restore", "--config", str(cfg_path), str(tmp_path / "missing.duckdb"))
    assert res.exit_code == 2 and "file not found" in one_error(res)
    newer = tmp_path / "newer.duckdb"
    assert invoke("backup", "--config", str(cfg_path), "--output", str(newer)).exit_code == 0
    con = duckdb.connect(str(newer))
    con.execute("INSERT INTO schema_version VALUES (?, 'from-the-future', now())", [LATEST + 1])
    con.close()
    res = invoke("restore", "--config", str(cfg_path), str(newer))
    assert res.exit_code == 2
    assert f"the backup is at schema {LATEST + 1}, this edumon knows up to {LATEST}: upgrade edumon" in one_error(res)
    assert digest(db) == before and not (db.parent / "replaced").exists()
