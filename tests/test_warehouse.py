"""The warehouse: schema versions, idempotent batch writes, de-duplication, the lock."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from core.mention import Mention
from tests.locks import hold_lock
from warehouse import Warehouse, WarehouseLocked, upsert_mentions
from warehouse.schema import LATEST


def m(source_id: str, text: str, url: str | None = None, source: str = "rss") -> Mention:
    return Mention(
        source=source,
        source_id=source_id,
        text=text,
        url=url,
        school_ids=["ley-college"],
        published_at=datetime(2026, 11, 24, 8, tzinfo=timezone.utc),
    )


def test_schema_is_created_and_versioned(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    assert wh.migrate() == LATEST
    assert wh.migrate() == LATEST  # twice is fine
    tables = {r[0] for r in wh.query("SELECT table_name FROM information_schema.tables")}
    assert {
        "mentions",
        "source_runs",
        "source_state",
        "classifications",
        "followups",
        "alerts",
        "schema_version",
    } <= tables
    assert wh.query("SELECT max(version) FROM schema_version")[0][0] == LATEST


def test_upsert_is_idempotent_and_dedups_same_story(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    story = "Leerlingen van het Ley College winnen de landelijke debatwedstrijd in Den Haag"
    batch = [
        m("feed-a-1", story, "https://nieuws.example.nl/debat?utm_source=rss"),
        m(
            "feed-b-9", "Ley College wint debat (andere samenvatting)", "https://www.nieuws.example.nl/debat/"
        ),  # same link
        m("feed-c-3", story.upper() + "  ", "https://other.example.nl/x"),  # same normalised text
        m("bsky-1", "Ley College!", source="bluesky"),
        m("bsky-2", "Ley College!", source="bluesky"),  # short text: not merged
    ]
    with wh.transaction() as con:
        first = upsert_mentions(con, batch)
    assert first.inserted == 3 and first.duplicates == 2
    with wh.transaction() as con:
        again = upsert_mentions(con, batch + [m("feed-a-1", story, "https://nieuws.example.nl/debat")])
    assert again.inserted == 0
    rows = wh.query("SELECT source_id, school_ids FROM mentions ORDER BY source_id")
    assert [r[0] for r in rows] == ["bsky-1", "bsky-2", "feed-a-1"]
    assert rows[0][1] == ["ley-college"]


def test_bulk_upsert_from_arrow(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    batch = [m(f"id-{i}", f"Bericht nummer {i} over het Ley College en de open dag") for i in range(5000)]
    with wh.transaction() as con:
        assert upsert_mentions(con, batch).inserted == 5000
    with wh.transaction() as con:
        assert upsert_mentions(con, batch[:10] + [m("id-new", "Nieuw bericht over het Ley College")]).inserted == 1
    assert wh.query("SELECT count(*) FROM mentions")[0][0] == 5001


def test_writer_waits_for_another_process_lock(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    Warehouse(path).migrate()
    proc = hold_lock(path, 1.5)
    t0 = time.monotonic()
    wh = Warehouse(path, lock_timeout_s=20)
    with wh.transaction() as con:
        upsert_mentions(con, [m("x", "Over het Ley College")])
    assert time.monotonic() - t0 >= 1.0
    proc.wait()
    assert wh.query("SELECT count(*) FROM mentions")[0][0] == 1


def test_writer_gives_up_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    Warehouse(path).migrate()
    proc = hold_lock(path, 5)
    try:
        with pytest.raises(WarehouseLocked, match="locked by another process"):
            with Warehouse(path, lock_timeout_s=0.5).transaction():
                pass
    finally:
        proc.kill()
        proc.wait()
