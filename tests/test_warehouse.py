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


def test_a_mention_survives_the_row_mapping_both_ways(tmp_path: Path) -> None:
    """`warehouse.rows` is the one mapping: a stored row and a spooled dict both come back as the same Mention."""
    import json

    from warehouse.rows import MENTION_COLS, mention_from_row

    post = Mention(
        source="bluesky",
        source_id="at://did:plc:x/app.bsky.feed.post/1",
        text="Ley College 🎉 open dag",
        url="https://bsky.app/profile/did:plc:x/post/1",
        author="ouder.bsky.social",
        author_id="did:plc:x",
        published_at=datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc),
        fetched_at=datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc),
        target="Ley College",
        lang="nl",
        links=["https://ley.example/open-dag"],
        has_media=True,
        media=[{"kind": "image", "alt": "het plein"}],
        metrics={"likes": 3},
        school_ids=["ley"],
        sentiment="positive",
        harm="none",
        scores={"harm.threat": 0.01},
        cues=[],
        classifier="test/1",
    )
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.transaction() as con:
        assert upsert_mentions(con, [post]).inserted == 1
        cur = con.execute(f"SELECT {MENTION_COLS} FROM mentions")
        row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    assert mention_from_row(row) == post
    spooled = json.loads(post.to_json())  # how the spool keeps a mention the locked warehouse could not take
    assert mention_from_row(spooled) == post
