"""Retention: the boundary day, the open police report exception, evidence, deletion at the source."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from analysts_data import add_followup, article, bsky, make_config, toot, utc, write_config
from click.testing import CliRunner

from core.mention import Mention
from edumon.cli import main
from pipeline.deletion import check_deleted, mark_deleted, one_by_one
from warehouse import Warehouse, upsert_mentions
from warehouse.retention import purge, retention_cutoff

AMS = ZoneInfo("Europe/Amsterdam")
# 12:00 local on 10 June 2026; 90 days before is 12 March (CET, +1)
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=AMS)


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=AMS).astimezone(timezone.utc)


def post(n: int, when: datetime, **kw) -> Mention:  # type: ignore[no-untyped-def]
    return bsky(
        f"user{n}.bsky.social",
        f"did:plc:u{n}",
        f"r{n}",
        f"Ley College bericht nummer {n} " + "x" * n,
        when,
        ["ley-college"],
        "negative",
        "none",
        **kw,
    )


def ids(wh: Warehouse) -> set[str]:
    return {r[0] for r in wh.query("SELECT mention_id FROM mentions")}


def test_cutoff_is_local_midnight_days_ago() -> None:
    assert retention_cutoff(NOW, 90, "Europe/Amsterdam") == utc(2026, 3, 11, 23, 0)
    # summer: 90 days before 1 October is 3 July, midnight CEST is 22:00 UTC
    assert retention_cutoff(datetime(2026, 10, 1, 1, 0, tzinfo=AMS), 90, "Europe/Amsterdam") == utc(2026, 7, 2, 22, 0)


@pytest.fixture(params=["plain", "foreign_key"])
def boundary(tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    cfg = make_config(tmp_path)
    wh = Warehouse(cfg.warehouse.path)
    ms = {
        "d89": post(1, local(2026, 3, 13, 9)),
        "d90_early": post(2, local(2026, 3, 12, 0, 30)),  # 23:30 UTC on the 11th: kept (local day 90)
        "d90_late": post(3, local(2026, 3, 12, 23, 50)),
        "d91_late": post(4, local(2026, 3, 11, 23, 50)),  # 91 days: goes
        "d91_police": post(5, local(2026, 3, 11, 10)),  # 91 days, open police report: stays
        "d91_police_closed": post(6, local(2026, 3, 11, 10)),
        "d91_irl_open": post(7, local(2026, 3, 11, 10)),  # an open in_real_life follow-up does not keep it
        "d200": article(
            "https://nieuws.example.nl/oud",
            "Oud nieuws over Ley College",
            "tekst",
            local(2025, 11, 22, 12),
            ["ley-college"],
            "neutral",
        ),
        # published long ago but collected recently: posted_at is the publication
        "old_fetched_recently": post(8, local(2026, 1, 1, 12), fetched=local(2026, 6, 1, 12)),
        # a bogus publication date in the future counts from collection
        "future_date": post(9, local(2027, 1, 1, 12), fetched=local(2026, 3, 1, 12)),
    }
    with wh.transaction() as con:
        assert upsert_mentions(con, list(ms.values())).inserted == len(ms)
        add_followup(con, ms["d91_police"].mention_id, ["ley-college"], "report_police", "open", local(2026, 3, 11, 12))
        add_followup(
            con,
            ms["d91_police_closed"].mention_id,
            ["ley-college"],
            "report_police",
            "done",
            local(2026, 3, 11, 12),
            local(2026, 4, 1, 12),
        )
        add_followup(
            con, ms["d91_irl_open"].mention_id, ["ley-college"], "in_real_life", "open", local(2026, 3, 11, 12)
        )
        # the evidence table issue 6 adds (append-only: mention_id and what was captured)
        ref = " REFERENCES mentions (mention_id)" if request.param == "foreign_key" else ""
        con.execute("DROP TABLE evidence")  # a stand-in for the real one (issue 6), with and without a foreign key
        con.execute(
            f"CREATE TABLE evidence (evidence_id VARCHAR, mention_id VARCHAR{ref}, kind VARCHAR, "
            "content VARCHAR, captured_at TIMESTAMPTZ)"
        )
        for k in ("d91_police", "d91_police_closed", "d89"):
            con.execute("INSERT INTO evidence VALUES (?, ?, 'screenshot', 'png...', now())", [k, ms[k].mention_id])
    return cfg, wh, ms


def test_purge_at_the_boundary_day(boundary) -> None:  # type: ignore[no-untyped-def]
    cfg, wh, ms = boundary
    rep = purge(cfg, now=NOW)
    gone = {k for k, m in ms.items() if m.mention_id not in ids(wh)}
    assert gone == {"d91_late", "d91_police_closed", "d91_irl_open", "d200", "old_fetched_recently", "future_date"}
    assert rep.expired == 6 and rep.deleted_at_source == 0 and rep.kept_for_police == 1
    assert rep.cutoff_day.isoformat() == "2026-03-12"
    assert "removed 6 mentions" in rep.summary() and "kept 1 tied to an open police report" in rep.summary()
    # a second run removes nothing more
    again = purge(cfg, now=NOW)
    assert again.mentions == 0 and again.kept_for_police == 1


def test_open_police_report_keeps_mention_and_evidence_until_closed(boundary) -> None:  # type: ignore[no-untyped-def]
    cfg, wh, ms = boundary
    rep = purge(cfg, now=NOW)
    assert rep.removed["evidence"] == 1 and rep.removed["followups"] == 2
    ev = {r[0] for r in wh.query("SELECT evidence_id FROM evidence")}
    assert ev == {"d91_police", "d89"}  # the closed case's evidence went with its mention
    assert wh.query("SELECT mention_id, status FROM followups WHERE action = 'report_police'") == [
        (ms["d91_police"].mention_id, "open")
    ]
    # the police case is closed: the next purge takes the mention, its follow-up and its evidence
    with wh.transaction() as con:
        con.execute(
            "UPDATE followups SET status = 'done', updated_at = ? WHERE mention_id = ?",
            [NOW, ms["d91_police"].mention_id],
        )
    rep = purge(cfg, now=NOW + timedelta(days=1))
    assert ms["d91_police"].mention_id not in ids(wh)
    assert rep.kept_for_police == 0 and rep.removed["evidence"] == 1
    assert {r[0] for r in wh.query("SELECT evidence_id FROM evidence")} == {"d89"}


def test_purged_mentions_are_not_stored_again(boundary) -> None:  # type: ignore[no-untyped-def]
    cfg, wh, ms = boundary
    purge(cfg, now=NOW)
    # the feed still serves the old article: it is not stored (nor alerted) again
    with wh.transaction() as con:
        res = upsert_mentions(con, [ms["d200"], ms["d91_late"], post(20, local(2026, 6, 9, 12))])
    assert res.inserted == 1
    assert wh.query("SELECT reason, count(*) FROM purged_mentions GROUP BY ALL") == [("retention", 6)]
    # tombstones expire after tombstone_days
    rep = purge(cfg, now=NOW + timedelta(days=366))
    assert rep.tombstones_expired == 6


def test_dry_run_changes_nothing(boundary) -> None:  # type: ignore[no-untyped-def]
    cfg, wh, ms = boundary
    before = ids(wh)
    rep = purge(cfg, now=NOW, dry_run=True)
    assert rep.expired == 6 and rep.kept_for_police == 1 and rep.removed["evidence"] == 1
    assert ids(wh) == before and "would remove 6 mentions" in rep.summary()


def test_shorter_retention_from_config(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, days=30)
    wh = Warehouse(cfg.warehouse.path)
    with wh.transaction() as con:
        upsert_mentions(con, [post(1, local(2026, 5, 11, 12)), post(2, local(2026, 5, 10, 12))])
    rep = purge(cfg, now=NOW)
    assert rep.expired == 1 and len(ids(wh)) == 1


def test_deleted_at_source_is_purged_by_the_same_policy(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    wh = Warehouse(cfg.warehouse.path)
    a, b, c = post(1, local(2026, 6, 1, 12)), post(2, local(2026, 6, 2, 12)), post(3, local(2026, 6, 3, 12))
    with wh.transaction() as con:
        upsert_mentions(con, [a, b, c])
        add_followup(con, b.mention_id, ["ley-college"], "report_police", "open", local(2026, 6, 2, 13))
    assert mark_deleted(wh, [a.mention_id, b.mention_id, "no-such-id"], NOW - timedelta(hours=1)) == 2
    assert mark_deleted(wh, [a.mention_id], NOW) == 0  # marked once, first time kept
    rep = purge(cfg, now=NOW)
    assert rep.deleted_at_source == 1 and rep.expired == 0 and rep.kept_for_police == 1
    assert ids(wh) == {b.mention_id, c.mention_id}
    assert wh.query("SELECT reason FROM purged_mentions") == [("deleted_at_source",)]
    # with a grace period, a post deleted at the source waits
    cfg2 = make_config(tmp_path, deleted_at_source_days=7)
    mark_deleted(wh, [c.mention_id], NOW)
    assert purge(cfg2, now=NOW + timedelta(days=6)).deleted_at_source == 0
    assert purge(cfg2, now=NOW + timedelta(days=7)).deleted_at_source == 1


def test_check_deleted_with_a_lookup(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    wh = Warehouse(cfg.warehouse.path)
    gone = post(1, local(2026, 6, 1, 12))
    there = post(2, local(2026, 6, 1, 12))
    unsure = toot(
        "piet@mastodon.nl",
        "1",
        "11",
        "De Regenboog doet mee",
        local(2026, 6, 1, 12),
        ["regenboog-leiderdorp"],
        "neutral",
        "none",
    )
    broken = toot(
        "kees@mastodon.nl",
        "2",
        "12",
        "Ley College zoekt docenten",
        local(2026, 6, 1, 12),
        ["ley-college"],
        "neutral",
        "none",
    )
    news = article(
        "https://nieuws.example.nl/a", "Ley College", "nieuws", local(2026, 6, 1, 12), ["ley-college"], "neutral"
    )
    with wh.transaction() as con:
        upsert_mentions(con, [gone, there, unsure, broken, news])
    asked: list[Mention] = []

    def lookup(m: Mention) -> bool | None:
        asked.append(m)
        if m.mention_id == broken.mention_id:
            raise ConnectionError("instance down")
        return {gone.mention_id: False, there.mention_id: True}.get(m.mention_id)

    rep = check_deleted(cfg, one_by_one(lookup), now=NOW)
    assert {m.mention_id for m in asked} == {gone.mention_id, there.mention_id, unsure.mention_id, broken.mention_id}
    assert {m.source_id for m in asked if m.mention_id == gone.mention_id} == {gone.source_id}
    assert (rep.checked, rep.gone, rep.marked, rep.unknown) == (4, 1, 1, 2)
    assert wh.query("SELECT mention_id FROM mentions WHERE deleted_at IS NOT NULL") == [(gone.mention_id,)]
    # marked ones are not asked again
    asked.clear()
    check_deleted(cfg, one_by_one(lookup), now=NOW)
    assert gone.mention_id not in {m.mention_id for m in asked}


def test_purge_cli(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    wh = Warehouse(cfg.warehouse.path)
    now = datetime.now(timezone.utc)
    with wh.transaction() as con:
        upsert_mentions(con, [post(1, now - timedelta(days=100)), post(2, now - timedelta(days=10))])
    cfg_path = write_config(tmp_path, "\n[retention]\ndays = 90\n")
    r = CliRunner().invoke(main, ["purge", "--config", str(cfg_path), "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "would remove 1 mentions" in r.output and len(ids(wh)) == 2
    r = CliRunner().invoke(main, ["purge", "--config", str(cfg_path)])
    assert r.exit_code == 0 and "removed 1 mentions" in r.output and len(ids(wh)) == 1
    bad = write_config(tmp_path, "\n[retention]\ndays = 0\n")
    r = CliRunner().invoke(main, ["purge", "--config", str(bad)])
    assert r.exit_code == 2 and "retention.days: must be at least 1" in r.output
