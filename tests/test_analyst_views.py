"""The analysts' views on known data, pseudonyms, and the Parquet export."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from analysts_data import EXPECTED_DAILY, HANDLES, KEY_A, KEY_B, build_view_warehouse, write_config
from click.testing import CliRunner

from core.secrets import Secrets
from edumon.cli import main
from warehouse import Warehouse
from warehouse.export import export
from warehouse.views import PseudonymKeyMissing, prepare, pseudonym


def secrets(key: str) -> Secrets:
    return Secrets(environ={"EDUMON_PSEUDONYM_KEY": key})


def test_daily_mentions_counts_by_local_day(tmp_path: Path) -> None:
    cfg, _ = build_view_warehouse(tmp_path)
    wh = Warehouse(cfg.warehouse.path)
    prepare(wh, cfg, None)
    rows = wh.query("SELECT CAST(day AS VARCHAR), school_id, source, sentiment, harm, n FROM daily_mentions")
    got = {tuple(r[:5]): r[5] for r in rows}
    assert got == EXPECTED_DAILY
    assert len(rows) == len(EXPECTED_DAILY)  # one row per combination


def test_daily_mentions_follows_the_configured_time_zone(tmp_path: Path) -> None:
    cfg, _ = build_view_warehouse(tmp_path)
    wh = Warehouse(cfg.warehouse.path)
    cfg.organisation.timezone = "UTC"
    assert prepare(wh, cfg, None).wrote
    days = dict(wh.query("SELECT CAST(day AS VARCHAR), sum(n) FROM daily_mentions GROUP BY ALL"))
    # in UTC the 23:30 post of 9 March stays on the 9th and the article of 23:00 on 10 March on the 10th
    assert days == {"2026-03-09": 1, "2026-03-10": 5, "2026-07-01": 1}
    cfg.organisation.timezone = "Europe/Amsterdam"
    prepare(wh, cfg, None)
    days = dict(wh.query("SELECT CAST(day AS VARCHAR), sum(n) FROM daily_mentions GROUP BY ALL"))
    assert days == {"2026-03-10": 5, "2026-03-11": 1, "2026-07-02": 1}


def test_followup_stats_per_school_week_and_action(tmp_path: Path) -> None:
    cfg, _ = build_view_warehouse(tmp_path)
    wh = Warehouse(cfg.warehouse.path)
    prepare(wh, cfg, None)
    rows = wh.query_dicts("SELECT * FROM followup_stats")
    by = {(r["school_id"], r["week"].isoformat(), r["action"]): r for r in rows}
    cols = ("opened", "closed", "dismissed", "open_at_week_end", "median_hours_to_close")
    pick = lambda k: tuple(by[k][c] for c in cols)  # noqa: E731
    assert pick(("ley-college", "2026-03-09", "in_real_life")) == (2, 1, 0, 1, 24.0)
    assert pick(("ley-college", "2026-03-16", "in_real_life")) == (0, 1, 1, 0, 168.0)
    assert pick(("regenboog-leiderdorp", "2026-03-09", "in_real_life")) == (1, 0, 0, 1, None)
    assert pick(("regenboog-leiderdorp", "2026-03-16", "in_real_life")) == (0, 1, 1, 0, 168.0)
    # opened 23:30 UTC on Sunday 15 March = Monday 16 March local: counted in the local week
    assert ("ley-college", "2026-03-09", "report_police") not in by
    assert pick(("ley-college", "2026-03-16", "report_police")) == (1, 0, 0, 1, None)
    # still open: it stays in the backlog every later week
    assert pick(("ley-college", "2026-04-06", "report_police")) == (0, 0, 0, 1, None)
    # nothing after everything was closed
    assert ("ley-college", "2026-03-23", "in_real_life") not in by


def _all_text(rows: list[tuple]) -> str:
    return json.dumps(rows, default=str, ensure_ascii=False)


def test_no_handle_reaches_mentions_pseudonymous(tmp_path: Path) -> None:
    cfg, ms = build_view_warehouse(tmp_path)
    wh = Warehouse(cfg.warehouse.path)
    prepare(wh, cfg, KEY_A.encode())
    rows = wh.query("SELECT * FROM mentions_pseudonymous")
    assert len(rows) == len(ms)
    dump = _all_text(rows)
    # the fixture's handles are really in the warehouse ...
    raw = _all_text(wh.query("SELECT * FROM mentions"))
    assert all(h in raw for h in HANDLES if h not in ("@klaas",)) and "@klaas" in raw
    # ... and none of them in the view
    for h in HANDLES:
        assert h not in dump, h
    texts = dict(wh.query("SELECT mention_id, text FROM mentions_pseudonymous"))
    assert texts[ms[2].mention_id] == "Eens met @[account], Ley College roostert slecht"
    assert texts[ms[1].mention_id] == "Weer uitval bij Ley College. groet, @[account]"
    assert "@[account] [link]" in texts[ms[3].mention_id]
    hosts = dict(wh.query("SELECT mention_id, link_hosts FROM mentions_pseudonymous"))
    assert hosts[ms[0].mention_id] == ["bsky.app"]
    # the news article keeps its link; social posts have none
    urls = dict(wh.query("SELECT source, article_url FROM mentions_pseudonymous WHERE source IN ('rss', 'mastodon')"))
    assert urls == {"rss": "https://nieuws.example.nl/ley-college-wint", "mastodon": None}


def test_pseudonyms_are_keyed_hashes_of_the_author(tmp_path: Path) -> None:
    cfg, ms = build_view_warehouse(tmp_path)
    wh = Warehouse(cfg.warehouse.path)
    prepare(wh, cfg, KEY_A.encode())
    p = dict(wh.query("SELECT mention_id, author_pseudonym FROM mentions_pseudonymous"))
    assert p[ms[0].mention_id] == p[ms[1].mention_id]  # the same author: one pseudonym
    assert p[ms[0].mention_id] != p[ms[2].mention_id]  # another author: another
    assert p[ms[0].mention_id] == pseudonym(KEY_A.encode(), "bluesky:did:plc:jan111")
    assert len(set(p.values())) == 5  # jan, anna, piet, the newsroom, marie


def _dataset(out: Path, name: str) -> list[dict]:
    con = duckdb.connect()
    cur = con.execute(f"SELECT * FROM read_parquet('{out}/{name}/*/*.parquet', hive_partitioning = true)")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_export_parquet_partitioned_by_month_without_handles(tmp_path: Path) -> None:
    cfg, ms = build_view_warehouse(tmp_path)
    out = tmp_path / "export"
    rep = export(cfg, out, secrets=secrets(KEY_A))
    assert rep.rows == {"mentions_pseudonymous": 6, "daily_mentions": 6, "followup_stats": rep.rows["followup_stats"]}
    assert sorted(p.name for p in (out / "mentions_pseudonymous").iterdir()) == ["month=2026-03", "month=2026-07"]
    files = list(out.rglob("*.parquet"))
    assert files
    for f in files:
        meta = pq.ParquetFile(f).metadata
        assert all(meta.row_group(0).column(i).compression == "ZSTD" for i in range(meta.num_columns))
        data = f.read_bytes()
        decoded = _all_text(pq.read_table(f).to_pylist())
        for h in HANDLES:
            assert h.encode() not in data, (f, h)
            assert h not in decoded, (f, h)
    manifest = (out / "manifest.json").read_text()
    for h in HANDLES:
        assert h not in manifest
    # the export holds the same numbers as the views
    daily = {
        (str(r["day"]), r["school_id"], r["source"], r["sentiment"], r["harm"]): r["n"]
        for r in _dataset(out, "daily_mentions")
    }
    assert daily == EXPECTED_DAILY
    months = {r["mention_id"]: r["month"] for r in _dataset(out, "mentions_pseudonymous")}
    assert months[ms[0].mention_id] == "2026-03" and months[ms[5].mention_id] == "2026-07"


def test_pseudonyms_stable_across_exports_and_different_with_another_key(tmp_path: Path) -> None:
    cfg, ms = build_view_warehouse(tmp_path)
    get = lambda out: {r["mention_id"]: r["author_pseudonym"] for r in _dataset(out, "mentions_pseudonymous")}  # noqa: E731
    export(cfg, tmp_path / "one", secrets=secrets(KEY_A))
    export(cfg, tmp_path / "two", secrets=secrets(KEY_A))
    # another key only on purpose (issue 18.3: never silently), see tests/test_pseudonyms.py
    export(cfg, tmp_path / "three", secrets=secrets(KEY_B), rotate_key=True)
    a1, a2, b = get(tmp_path / "one"), get(tmp_path / "two"), get(tmp_path / "three")
    assert a1 == a2 and all(a1.values())
    assert all(a1[k] != b[k] for k in a1)
    assert b[ms[0].mention_id] == b[ms[1].mention_id]
    # and back to the first key: the first pseudonyms again
    export(cfg, tmp_path / "four", secrets=secrets(KEY_A), rotate_key=True)
    assert get(tmp_path / "four") == a1


def test_export_replaces_purged_months(tmp_path: Path) -> None:
    cfg, ms = build_view_warehouse(tmp_path)
    out = tmp_path / "export"
    export(cfg, out, secrets=secrets(KEY_A))
    with Warehouse(cfg.warehouse.path).transaction() as con:
        con.execute("DELETE FROM mentions WHERE source = 'bluesky' AND published_at > '2026-06-01'")
    export(cfg, out, secrets=secrets(KEY_A))
    assert sorted(p.name for p in (out / "mentions_pseudonymous").iterdir()) == ["month=2026-03"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_export_without_key_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_view_warehouse(tmp_path)
    cfg_path = write_config(tmp_path)
    monkeypatch.delenv("EDUMON_PSEUDONYM_KEY", raising=False)
    res = CliRunner().invoke(main, ["export", "--config", str(cfg_path), "--out", str(tmp_path / "x")])
    assert res.exit_code == 1
    assert "EDUMON_PSEUDONYM_KEY is not set" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
    with pytest.raises(PseudonymKeyMissing, match="too short"):
        export(make_cfg(tmp_path), tmp_path / "x", secrets=secrets("short"))


def make_cfg(tmp: Path):  # type: ignore[no-untyped-def]
    from core.config import load_config

    return load_config(write_config(tmp))


def test_export_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_view_warehouse(tmp_path)
    cfg_path = write_config(tmp_path)
    monkeypatch.setenv("EDUMON_PSEUDONYM_KEY", KEY_A)
    res = CliRunner().invoke(main, ["export", "--config", str(cfg_path), "--out", str(tmp_path / "x")])
    assert res.exit_code == 0, res.output
    assert "mentions_pseudonymous 6 rows" in res.output and "daily_mentions 6 rows" in res.output
    assert "(2026-03 .. " in res.output
    assert (tmp_path / "x" / "daily_mentions" / "month=2026-07").is_dir()


def test_query_cli_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_view_warehouse(tmp_path)
    cfg_path = write_config(tmp_path)
    monkeypatch.setenv("EDUMON_PSEUDONYM_KEY", KEY_A)
    sql = "SELECT school_id, sum(n) AS n FROM daily_mentions GROUP BY ALL ORDER BY school_id"
    r = CliRunner().invoke(main, ["query", "--config", str(cfg_path), sql])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert lines[0].split() == ["school_id", "n"]
    assert lines[2].split() == ["ley-college", "5"] and lines[3].split() == ["regenboog-leiderdorp", "2"]
    assert lines[-1] == "(2 rows)"
    r = CliRunner().invoke(main, ["query", "--config", str(cfg_path), "--format", "csv", sql])
    assert r.output == "school_id,n\nley-college,5\nregenboog-leiderdorp,2\n"
    r = CliRunner().invoke(
        main,
        [
            "query",
            "--config",
            str(cfg_path),
            "--format",
            "json",
            "SELECT day, school_id FROM daily_mentions WHERE harm = 'threat'",
        ],
    )
    assert json.loads(r.output) == [{"day": "2026-07-02", "school_id": "regenboog-leiderdorp"}]


def test_query_cli_is_read_only_and_errors_are_one_line(tmp_path: Path) -> None:
    cfg, _ = build_view_warehouse(tmp_path)
    cfg_path = write_config(tmp_path)
    # the administrator's view of the main file (--main) is read-only too
    r = CliRunner().invoke(main, ["query", "--config", str(cfg_path), "--main", "DELETE FROM mentions"])
    assert r.exit_code == 1 and "read-only" in r.output and len(r.output.strip().splitlines()) == 1
    assert Warehouse(cfg.warehouse.path).query("SELECT count(*) FROM mentions") == [(6,)]
    # the analysts' copy (the default) has no `mentions` table at all, and is read-only
    r = CliRunner().invoke(main, ["query", "--config", str(cfg_path), "DELETE FROM mentions"])
    assert r.exit_code == 1 and "does not exist" in r.output and "analysts' copy holds daily_mentions" in r.output
    r = CliRunner().invoke(main, ["query", "--config", str(cfg_path), "DELETE FROM daily_mentions"])
    assert r.exit_code == 1 and "read-only" in r.output and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(main, ["query", "--config", str(cfg_path), "SELECT sum(n) FROM daily_mentions"])
    assert r.exit_code == 0 and r.output.strip().splitlines()[-2].strip() == "7"
    r = CliRunner().invoke(main, ["query", "--config", str(cfg_path), "SELECT nonsense FROM nowhere"])
    assert r.exit_code == 1 and r.output.startswith("Error: query error:") and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(main, ["query", "--config", str(tmp_path / "missing.toml"), "SELECT 1"])
    assert r.exit_code == 2 and "config file not found" in r.output
