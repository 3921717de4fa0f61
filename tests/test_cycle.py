"""Whole cycles against local fake feeds: nothing twice, nothing lost, failures isolated."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from click.testing import CliRunner

import pipeline
from classifiers import Labels, load_classifier
from core.config import Config
from edumon.cli import main
from edumon.cli.cycle import to_toml
from fakes.rss import FeedHandler, Scripted, rss_xml
from fakes.server import FakeServer, Response
from tests.locks import cycle_while_locked
from warehouse import Warehouse

NEWS = [
    {
        "title": "Ley College wint debatwedstrijd",
        "link": "https://nieuws.example.nl/debat",
        "guid": "n1",
        "description": "Leerlingen van het Ley College in Leiderdorp wonnen de finale.",
    },
    {
        "title": "Verkeerschaos bij De Regenboog in Leiderdorp",
        "link": "https://nieuws.example.nl/verkeer",
        "guid": "n2",
        "description": "Ouders zijn boos: de situatie is onveilig en onacceptabel.",
    },
    {
        "title": "Lezing over ley lines",
        "link": "https://nieuws.example.nl/ley-lines",
        "guid": "n3",
        "description": "Een avond over ley lines.",
    },
    {
        "title": "De Regenboog in Zwolle opent plein",
        "link": "https://nieuws.example.nl/zwolle",
        "guid": "n4",
        "description": "Nieuw schoolplein.",
    },
]
REGIO = [  # the debate story again (same link, tracking parameters) and one new story
    {
        "title": "Debat gewonnen door Ley College",
        "link": "https://nieuws.example.nl/debat?utm_source=regio",
        "guid": "r1",
        "description": "Het Ley College wint.",
    },
    {
        "title": "#LeyCollege zoekt docenten wiskunde",
        "link": "https://regio.example.nl/vacature",
        "guid": "r2",
        "description": "Vacature.",
    },
]


class CountingClassifier:
    """The default classifier, counting the texts it is asked to classify."""

    name, version = "counting", "1"

    def __init__(self) -> None:
        self.inner = load_classifier()
        self.seen: list[str] = []

    def classify(self, texts: Sequence[str]) -> list[Labels]:
        self.seen.extend(texts)
        return self.inner.classify(texts)


def serve(srv: FakeServer) -> tuple[FeedHandler, FeedHandler]:
    news, regio = FeedHandler(rss_xml(NEWS)), FeedHandler(rss_xml(REGIO))
    srv.route("/news.xml", news)
    srv.route("/regio.xml", regio)
    return news, regio


def test_two_cycles_store_everything_once(fake_server: FakeServer, make_config: Callable[..., Config]) -> None:
    news, _ = serve(fake_server)
    cfg = make_config(rss=[fake_server.url + "/news.xml", fake_server.url + "/regio.xml"])
    clf = CountingClassifier()
    first = pipeline.run_cycle(cfg, classifier=clf)
    assert first.ok
    wh = Warehouse(cfg.warehouse.path)
    rows = wh.query("SELECT source_id, school_ids, sentiment, harm FROM mentions ORDER BY source_id")
    assert [(r[0], r[1]) for r in rows] == [
        ("n1", ["ley-college"]),
        ("n2", ["regenboog-leiderdorp"]),
        ("r2", ["ley-college"]),
    ]
    assert all(r[2] in ("positive", "neutral", "negative") and r[3] in ("none", "insult", "threat") for r in rows)
    assert {(t.target.rsplit("/", 1)[1], t.fetched, t.relevant, t.new) for t in first.targets} == {
        ("news.xml", 4, 2, 2),
        ("regio.xml", 2, 2, 1),
    }

    # second cycle: the news feed answers 304, the regio feed adds a story
    news.set(rss_xml(NEWS))  # unchanged -> same ETag -> 304
    fake_server.route(
        "/regio.xml",
        FeedHandler(
            rss_xml(
                REGIO
                + [
                    {
                        "title": "Ley College haalt geld op voor goed doel",
                        "link": "https://regio.example.nl/goed-doel",
                        "guid": "r3",
                        "description": "Sponsorloop.",
                    }
                ]
            )
        ),
    )
    n_classified = len(clf.seen)
    second = pipeline.run_cycle(cfg, classifier=clf)
    assert second.ok
    assert [m.source_id for m in second.stored] == ["r3"]
    assert {t.status for t in second.targets} == {"ok", "not_modified"}
    assert wh.query("SELECT count(*) FROM mentions")[0][0] == 4
    assert wh.query("SELECT count(DISTINCT mention_id) FROM mentions")[0][0] == 4
    # texts seen before are never classified again
    assert len(clf.seen) == n_classified + 1
    runs = wh.query("SELECT status, count(*) FROM source_runs GROUP BY status ORDER BY status")
    assert runs == [("not_modified", 1), ("ok", 3)]


def test_a_failing_source_does_not_stop_the_others(
    fake_server: FakeServer, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    serve(fake_server)
    fake_server.route("/down.xml", Scripted([Response(500, "kapot")]))
    cfg = make_config(rss=[fake_server.url + "/down.xml", fake_server.url + "/news.xml"])
    cfg_file = tmp_path / "edumon.toml"
    cfg_file.write_text(to_toml(cfg))
    result = CliRunner().invoke(main, ["run", "--no-prefect", "--config", str(cfg_file)])
    assert result.exit_code == 1, result.output
    assert "failed" in result.output and "HTTP 500" in result.output
    wh = Warehouse(cfg.warehouse.path)
    assert wh.query("SELECT count(*) FROM mentions")[0][0] == 2
    failed = wh.query("SELECT target, error FROM source_runs WHERE status = 'failed'")
    assert failed == [(fake_server.url + "/down.xml", "HTTP 500 Internal Server Error")]


def test_locked_warehouse_spools_and_the_next_cycle_writes(
    fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    serve(fake_server)
    cfg = make_config(rss=[fake_server.url + "/news.xml"], warehouse={"lock_timeout_s": 0.5})
    path = Path(cfg.warehouse.path)
    report = cycle_while_locked(cfg)
    assert report.spooled == 2 and "spool" in (report.error or "")
    assert len(list((path.parent / "spool").glob("*.json"))) == 1
    wh = Warehouse(path)
    assert wh.query("SELECT count(*) FROM mentions")[0][0] == 0
    nxt = pipeline.run_cycle(cfg)
    assert nxt.replayed == 2 and nxt.ok
    assert wh.query("SELECT count(*) FROM mentions")[0][0] == 2
    assert list((path.parent / "spool").glob("*.json")) == []


def test_crash_before_storing_loses_nothing(fake_server: FakeServer, make_config: Callable[..., Config]) -> None:
    serve(fake_server)
    cfg = make_config(rss=[fake_server.url + "/news.xml"])

    class Crash:
        name, version = "crash", "1"

        def classify(self, texts: Sequence[str]) -> list[Labels]:
            raise RuntimeError("killed mid-cycle")

    try:
        pipeline.run_cycle(cfg, classifier=Crash())
    except RuntimeError:
        pass
    wh = Warehouse(cfg.warehouse.path)
    assert wh.states() == {}  # the cursor did not move
    report = pipeline.run_cycle(cfg)  # so the next cycle fetches the feed in full (no 304)
    assert {t.status for t in report.targets} == {"ok"} and len(report.stored) == 2


def test_demo_prints_a_cycle_with_stored_mentions(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "edumon.duckdb"
    result = CliRunner().invoke(main, ["demo", "--no-prefect", "--db", str(db)])
    assert result.exit_code == 0, result.output
    by_source = dict(Warehouse(db).query("SELECT source, count(*) FROM mentions GROUP BY source"))
    assert by_source["rss"] == 10 and by_source["bluesky"] > 0 and by_source["mastodon"] > 0  # all three sources
    assert f"Stored {sum(by_source.values())} new mentions" in result.output
    assert "Ley College: " in result.output and "rss 6" in result.output
    # the protocol: alerts really delivered to the demo's local webhook, and the digest written
    sent = Warehouse(db).query("SELECT count(*) FROM alerts WHERE status = 'sent' AND channel = 'webhook'")[0][0]
    assert sent >= 2 and f"Alerts received by the demo webhook on 127.0.0.1: {sent}" in result.output
    # triage (issue 15): the English visitor's compliment and the titled roster complaint alert nobody
    alerted = [
        t
        for (t,) in Warehouse(db).query(
            "SELECT DISTINCT m.text FROM alerts a JOIN mentions m USING (mention_id) WHERE a.kind IN ('threat', 'insult')"
        )
    ]
    assert any("Ik ga je opwachten" in t for t in alerted) and any("kankerschool" in t for t in alerted), alerted
    assert not [t for t in alerted if "Visited Ley College" in t or "rooster" in t.lower()], alerted
    html = (db.parent / "digest.html").read_text(encoding="utf-8")
    assert "<svg" in html and "<script" not in html and "&lt;script&gt;" in html
    assert "Bedreiging en pesten" in (db.parent / "digest.txt").read_text(encoding="utf-8")


def test_classify_command_adds_labels(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"id": 1, "text": "Wat een geweldige open dag op het Ley College!"},
                {"id": "b", "text": "Ik ga je opwachten na school, vuile kankerlijer"},
            ]
        )
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["classify", "--input", str(src), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, "b"]
    assert rows[0]["sentiment"] == "positive" and rows[0]["harm"] == "none"
    assert rows[1]["harm"] in ("insult", "threat") and rows[1]["sentiment"] == "negative"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n')
    result = CliRunner().invoke(main, ["classify", "--input", str(bad), "--output", str(out)])
    assert result.exit_code != 0 and "bad.jsonl: row 1 has no 'text' field" in result.output
    assert "Traceback" not in result.output
