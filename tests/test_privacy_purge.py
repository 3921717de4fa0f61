"""Issue 18.2: after a purge (retention or the author's deletion) nothing of a post survives:
no text, handle or link in any table or column of the warehouse, in the spool, or in the
bytes of the DuckDB file (the compaction rewrites it without the freed blocks)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from protocol_env import (
    HOOK_PATH,
    SMTP_PASSWORD,
    SMTP_USER,
    Hook,
    Mailbox,
    feed,
    item,
    make_config,
    smtp_server,
)

from core.config import Config
from core.mention import utcnow
from fakes.rss import FeedHandler
from fakes.server import FakeServer
from pipeline import run_cycle
from pipeline.deletion import mark_deleted, record_checks
from protocol.feedback import correct_labels
from protocol.followups import update_followup
from warehouse import Warehouse, spool
from warehouse.compact import compact
from warehouse.retention import COMPACTION_DUE, purge
from warehouse.rows import mention_from_row
from warehouse.views import get_setting

__all__ = ["smtp_server"]

TEXT, HANDLE, LINK = "zqxtekst77", "zqxauteur77", "zqxlink77"
MARKERS = (TEXT, HANDLE, LINK)
KEY = "a-pseudonym-key-for-the-tests-0123456789"

MARKED = item(
    LINK,  # the guid, and so the post's link https://forum.example.nl/t/zqxlink77
    "Re: docent",
    f"Die docent van het Ley College moet oppassen, ik ga je opwachten na school. {TEXT}",
    author=HANDLE,
)
OTHER = item("keep1", "Rooster", "Alweer lesuitval bij het Ley College en niemand laat iets weten. Slecht geregeld.")


@pytest.fixture
def cfg(tmp_path: Path, smtp_server: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch) -> Iterator[Config]:
    """A config whose data directory holds only what edumon writes (the config stays outside)."""
    monkeypatch.setenv("TEST_SMTP_USER", SMTP_USER)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("EDUMON_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setenv("EDUMON_PSEUDONYM_KEY", KEY)
    with FakeServer() as srv:
        srv.route("/forum.xml", FeedHandler(feed(MARKED, OTHER)))
        srv.route(HOOK_PATH, Hook())
        yield make_config(
            tmp_path / "data" / "w.duckdb",
            srv,
            smtp_server[1],
            # a spike at one negative, so an escalation alert quotes the post too
            escalation={"enabled": True, "min_negatives": 1, "factor": 1.0, "min_baseline": 1.0},
            staff=[{"name": "Medewerker", "accounts": [HANDLE], "school": "ley-college"}],
        )


def tables_holding(db: Path, needle: str) -> list[str]:
    """`table.column` of every column of every table whose value (as text) contains `needle`."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = con.execute("""SELECT c.table_name, c.column_name FROM information_schema.columns c
                              JOIN information_schema.tables t USING (table_schema, table_name)
                              WHERE t.table_type = 'BASE TABLE' ORDER BY 1, 2""").fetchall()
        assert len(cols) > 150, "the scan must see every table"
        out = []
        for table, col in cols:
            n = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE strpos(lower(CAST("{col}" AS VARCHAR)), ?) > 0', [needle]
            ).fetchall()[0][0]
            if n:
                out.append(f"{table}.{col}")
        return out
    finally:
        con.close()


def files_holding(data_dir: Path, needle: str) -> list[str]:
    """Every file under the data directory whose bytes contain `needle`."""
    return [
        str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()
    ]


def fill_every_table(cfg: Config) -> str:
    """A cycle with the marked post (a threat by a staff member: follow-up, evidence, flag, triage,
    alerts by e-mail and webhook, an escalation), then what people and the nightly run add: a
    follow-up note, a school's decision, a label correction, a deletion check, spool files."""
    wh = Warehouse(cfg.warehouse.path)
    report = run_cycle(cfg)
    assert report.actions is not None and report.actions.raised and report.actions.escalations
    mid = wh.query("SELECT mention_id FROM mentions WHERE source_id = ?", [LINK])[0][0]
    now = utcnow()
    with wh.transaction() as con:
        update_followup(con, mid, by="comms", now=now, status="done", note=f"gesprek met {HANDLE} over {TEXT}")
        con.execute(
            "INSERT INTO followup_school_decisions VALUES ('d1', ?, 'ley-college', 'done', NULL, ?, 'leider', ?)",
            [mid, f"besproken met {HANDLE}", now],
        )
        correct_labels(con, mid, by="comms", now=now, sentiment="negative", harm="insult", note=f"{HANDLE} pest")
    record_checks(wh, {mid: True}, now)
    row = wh.query_dicts("SELECT * FROM mentions WHERE mention_id = ?", [mid])[0]
    payload = {"cycle_id": "c1", "mentions": [mention_from_row(row).to_dict()], "states": [], "reports": []}
    sdir = spool.spool_dir_for(cfg)
    spool.write(sdir, "pending-1", payload)  # a cycle's results still waiting for the warehouse
    damaged = spool.write(sdir, "damaged-1", payload)
    damaged.write_bytes(damaged.read_bytes()[:-3])  # cut off: replay sets such a file aside
    spool.set_aside(damaged)
    return mid


@pytest.mark.parametrize("why", ["deleted_by_author", "retention"])
def test_after_a_purge_no_text_handle_or_link_survives_anywhere(cfg: Config, why: str) -> None:
    db = Path(cfg.warehouse.path)
    data_dir = db.parent
    mid = fill_every_table(cfg)
    # the scan sees the marked post everywhere it is kept before the purge
    held = {c.split(".")[0] for m in MARKERS for c in tables_holding(db, m)}
    for table in ("mentions", "evidence", "alert_messages", "followups", "followup_events", "label_feedback"):
        assert table in held, table
    assert {"followup_school_decisions", "pseudonyms"} <= held
    assert any(".bad" in f for f in files_holding(data_dir, TEXT))
    assert any(f.endswith(".json") for f in files_holding(data_dir, TEXT))

    if why == "deleted_by_author":
        mark_deleted(Warehouse(db), [mid], utcnow())
        report = purge(cfg)
        assert report.mention_ids == [mid]  # only that post: the other stays
    else:
        report = purge(cfg, now=utcnow() + timedelta(days=cfg.retention.days + 2))
        assert mid in report.mention_ids
    assert report.compaction is not None and report.spool_files == 2

    for marker in MARKERS:
        assert tables_holding(db, marker) == [], marker
        assert files_holding(data_dir, marker) == [], marker
    assert Warehouse(db).query("SELECT count(*) FROM mentions")[0][0] == (1 if why == "deleted_by_author" else 0)
    assert get_setting_of(db, COMPACTION_DUE) is None  # done
    assert purge(cfg).compaction is None  # nothing removed: no compaction due


def get_setting_of(db: Path, key: str) -> str | None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return get_setting(con, key)
    finally:
        con.close()


def test_without_the_compaction_the_deleted_text_stays_in_the_file(cfg: Config) -> None:
    """Why the purge compacts: DuckDB leaves the deleted rows' blocks in the file unchanged."""
    db = Path(cfg.warehouse.path)
    mid = fill_every_table(cfg)
    mark_deleted(Warehouse(db), [mid], utcnow())
    report = purge(cfg, compact_file=False)
    assert report.mention_ids == [mid] and report.compaction is None
    assert tables_holding(db, TEXT) == []  # gone from every table ...
    assert TEXT.encode() in db.read_bytes()  # ... but still readable in the file
    assert get_setting_of(db, COMPACTION_DUE) is not None  # and the compaction is still due
    rows_before = Warehouse(db).query("SELECT count(*) FROM mentions")[0][0]
    db.chmod(0o600)  # readable by the service account only
    size = db.stat().st_size
    done = compact(Warehouse(db), clear_setting=COMPACTION_DUE)
    assert TEXT.encode() not in db.read_bytes()
    assert db.stat().st_mode & 0o777 == 0o600  # and it stays so
    assert [p.name for p in db.parent.iterdir() if p.name.startswith(".")] == []  # no copy left beside it
    assert done.bytes_before == size and done.bytes_after == db.stat().st_size
    # the compacted file is the same warehouse: rows, keys, views
    wh = Warehouse(db)
    assert wh.query("SELECT count(*) FROM mentions")[0][0] == rows_before
    assert wh.query("SELECT count(*) FROM mentions_pseudonymous")[0][0] == rows_before
    with pytest.raises(duckdb.ConstraintException):
        with wh.transaction() as con:
            con.execute("INSERT INTO settings VALUES ('timezone', 'UTC')")  # the primary key holds
    report = run_cycle(cfg)  # and a cycle runs on it
    assert report.ok


def test_a_locked_warehouse_postpones_the_compaction_to_the_next_purge(
    cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    from locks import hold_lock

    import warehouse.retention as retention

    db = Path(cfg.warehouse.path)
    run_cycle(cfg)
    mid = Warehouse(db).query("SELECT mention_id FROM mentions WHERE source_id = ?", [LINK])[0][0]
    with Warehouse(db).transaction() as con:  # the police report is closed (an open one keeps the post)
        update_followup(con, mid, by="comms", now=utcnow(), status="done", note="aangifte gedaan")
    mark_deleted(Warehouse(db), [mid], utcnow())
    real, holders = retention.compact, []

    def another_process_takes_the_lock_first(wh: Warehouse, clear_setting: str | None = None):  # type: ignore[no-untyped-def]
        holders.append(hold_lock(db, 30))
        return real(wh, clear_setting=clear_setting)

    monkeypatch.setattr(retention, "compact", another_process_takes_the_lock_first)
    cfg.warehouse.lock_timeout_s = 1
    try:
        report = purge(cfg)
    finally:
        for h in holders:
            h.kill()
            h.wait()
    assert report.mention_ids == [mid]  # the purge itself is done ...
    assert report.compaction is None and "compaction postponed to the next purge" in report.summary()
    assert tables_holding(db, TEXT) == []
    assert TEXT.encode() in db.read_bytes()  # ... the file is not compacted yet
    assert get_setting_of(db, COMPACTION_DUE) is not None
    monkeypatch.setattr(retention, "compact", real)
    again = purge(cfg)  # the next night
    assert again.mention_ids == [] and again.compaction is not None
    assert TEXT.encode() not in db.read_bytes()
