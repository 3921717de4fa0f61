"""Bad input: hostile or odd post text and author names are stored intact and shown safely;
quotes and SQL are data; invalid config values are one clear line each."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pipeline
from classifiers import load_classifier
from connectors import FetchResult, Target
from core.config import Config, School
from core.mention import Mention
from core.secrets import Secrets
from edumon.cli import main
from edumon.cli.cycle import to_toml
from edumon.cli.report import cycle_summary
from fakes.rss import FeedHandler, rss_xml
from fakes.server import FakeServer
from pipeline.relevance import match_schools
from tests.locks import hold_lock
from warehouse import Warehouse

REPO = Path(__file__).resolve().parents[1]

BIG = " ".join(["Het Ley College schreef een heel lang jaarverslag over lessen, toetsen en excursies."] * 12_000)
assert len(BIG) > 1_000_000

HOSTILE: dict[str, dict[str, str]] = {  # guid -> RSS item; every text names the Ley College
    "big": {"title": "Jaarverslag Ley College", "description": BIG},
    "rtl": {"title": "مدرسة Ley College في ليدن", "description": "עברית \u202eتحذير\u202c \u200fnog een zin"},
    "emoji": {"title": "👨‍👩‍👧‍👦 Open dag Ley College 🎉🏫", "description": "🇳🇱 top 👍🏽"},
    "zero-width": {"title": "Ley\u200b College\u200d pest\ufeff", "description": "L\u00adey Col\u200clege kantine"},
    "markup": {
        "title": "&lt;script&gt;alert('x')&lt;/script&gt; hack op Ley College",
        "description": "&lt;img src=x onerror=alert(1)&gt; &lt;/textarea&gt;&lt;b&gt;vet&lt;/b&gt;",
        "author": '<img src=x onerror=alert(1)> Jan "de" Boer & co',
    },
    "sql": {
        "title": "Ley College'); DROP TABLE mentions; --",
        "description": "\"; DELETE FROM mentions WHERE ''=' OR 1=1 -- O'Neill's \\ backslash %s ? $1",
        "author": "Robert'); DROP TABLE source_runs;--",
    },
}
EXPECTED_TEXT = {
    "big": "Jaarverslag Ley College\n" + BIG,
    "rtl": "مدرسة Ley College في ليدن\nעברית \u202eتحذير\u202c \u200fnog een zin",
    "emoji": "👨‍👩‍👧‍👦 Open dag Ley College 🎉🏫\n🇳🇱 top 👍🏽",
    "zero-width": "Ley\u200b College\u200d pest\ufeff\nL\u00adey Col\u200clege kantine",
    "markup": "<script>alert('x')</script> hack op Ley College\n<img src=x onerror=alert(1)> </textarea><b>vet</b>",
    "sql": "Ley College'); DROP TABLE mentions; --\n"
    "\"; DELETE FROM mentions WHERE ''=' OR 1=1 -- O'Neill's \\ backslash %s ? $1",
}
EXPECTED_AUTHOR = {
    "markup": '<img src=x onerror=alert(1)> Jan "de" Boer & co',
    "sql": "Robert'); DROP TABLE source_runs;--",
}


def hostile_feed() -> bytes:
    return rss_xml(
        [{**item, "guid": guid, "link": f"https://nieuws.example.nl/{guid}"} for guid, item in HOSTILE.items()]
    )


def test_hostile_posts_from_a_feed_are_stored_intact_once(
    fake_server: FakeServer, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    fake_server.route("/feed.xml", FeedHandler(hostile_feed()))
    cfg = make_config(rss=[fake_server.url + "/feed.xml"])
    cfg_path = tmp_path / "edumon.toml"
    cfg_path.write_text(to_toml(cfg), encoding="utf-8")
    res = CliRunner().invoke(main, ["run", "--no-prefect", "--config", str(cfg_path)])
    assert res.exit_code == 0, res.output
    assert f"Stored {len(HOSTILE)} new mentions" in res.output
    wh = Warehouse(cfg.warehouse.path)
    for guid, text in EXPECTED_TEXT.items():
        rows = wh.query("SELECT text, author, school_ids, sentiment FROM mentions WHERE source_id = ?", [guid])
        assert len(rows) == 1, guid
        assert rows[0][0] == text, guid
        assert rows[0][2] == ["ley-college"], guid  # zero-width characters did not hide the school
        assert rows[0][3] in ("positive", "neutral", "negative")
        if guid in EXPECTED_AUTHOR:
            assert rows[0][1] == EXPECTED_AUTHOR[guid]
    # the SQL in the data did nothing: every table is still there and counted right
    assert wh.query("SELECT count(*) FROM source_runs") == [(1,)]
    raw = json.loads(wh.query("SELECT raw FROM mentions WHERE source_id = 'sql'")[0][0])
    assert raw["title"] == HOSTILE["sql"]["title"]
    # again: nothing twice
    fake_server.route("/feed.xml", FeedHandler(hostile_feed() + b" "))  # new ETag, same items
    again = CliRunner().invoke(main, ["run", "--no-prefect", "--config", str(cfg_path)])
    assert again.exit_code == 0 and "Stored 0 new mentions" in again.output, again.output
    assert wh.query("SELECT count(*) FROM mentions") == [(len(HOSTILE),)]


def fetched(target: Target, mentions: list[Mention]) -> tuple[FetchResult, pipeline.TargetReport]:
    """What a JSON connector hands the pipeline (the Bluesky/Mastodon connectors are tested the
    same way against their fake servers)."""
    res = FetchResult(target, mentions, requests=1, http_status=200)
    return res, pipeline.TargetReport(target.source, target.key, "ok", requests=1, fetched=len(mentions))


def hostile_json_post() -> dict[str, Any]:
    """What a JSON API (Bluesky, Mastodon) can legally send: escaped NUL, every control character,
    lone surrogates, line and paragraph separators."""
    controls = "".join(chr(c) for c in range(0x20)) + "\x7f\x85"
    doc = (
        '{"text": "Ley College \\u0000 nul \\ud800 half \\udc00 \\ud83d\\ude00 '
        + json.dumps(controls)[1:-1]
        + ' \\u2028 regel \\u2029 alinea", "author": "evil\\u001b[2J\\ud83d <b>x</b>"}'
    )
    return json.loads(doc)


def test_json_post_with_nul_controls_and_lone_surrogates_is_stored(make_config: Callable[..., Config]) -> None:
    post = hostile_json_post()
    assert "\ud800" in post["text"]  # Python holds it; UTF-8 writers refuse it
    cfg = make_config()
    target = Target("bluesky", "test|Ley College")
    ok = Mention(
        source="bluesky",
        source_id="at://did:plc:x/post/1",
        text=post["text"],
        author=post["author"],
        raw=json.dumps(post),
        target=target.key,
    )
    plain = Mention(
        source="bluesky", source_id="at://did:plc:x/post/2", text="Ley College gewoon bericht", target=target.key
    )
    report = pipeline.process(
        cfg, [fetched(target, [ok, plain])], load_classifier(cfg.classifier), pipeline.new_cycle(), Secrets({})
    )
    assert report.ok and len(report.stored) == 2  # the bad post did not block the good one
    wh = Warehouse(cfg.warehouse.path)
    text, author, raw = wh.query("SELECT text, author, raw FROM mentions WHERE source_id = ?", [ok.source_id])[0]
    expected = post["text"].replace("\ud800", "\ufffd").replace("\udc00", "\ufffd").replace("\ud83d\ude00", "😀")
    assert text == expected
    assert "\x00 nul" in text and "\x1b" in text and "\u2028 regel" in text
    assert author == "evil\x1b[2J\ufffd <b>x</b>"
    assert json.loads(raw) == post  # the raw JSON is kept as sent (escaped)


def test_hostile_post_survives_the_spool_round_trip(make_config: Callable[..., Config]) -> None:
    post = hostile_json_post()
    cfg = make_config(warehouse={"lock_timeout_s": 0.3})
    target = Target("bluesky", "test|Ley College")
    m = Mention(
        source="bluesky", source_id="at://did:plc:x/post/9", text=post["text"], author=post["author"], target=target.key
    )
    wh = Warehouse(cfg.warehouse.path)
    wh.migrate()
    lock = hold_lock(wh.path, 30)
    try:
        spooled = pipeline.process(
            cfg, [fetched(target, [m])], load_classifier(cfg.classifier), pipeline.new_cycle(), Secrets({})
        )
    finally:
        lock.kill()
        lock.wait()
    assert spooled.spooled == 1
    nxt = pipeline.run_cycle(cfg)
    assert nxt.replayed == 1
    assert wh.query("SELECT text, author FROM mentions") == [(m.text, m.author)]


def test_the_terminal_summary_cannot_be_hijacked_by_a_post(make_config: Callable[..., Config]) -> None:
    cfg = make_config()
    report = pipeline.new_cycle()
    report.stored = [
        Mention(
            source="bluesky",
            source_id="1",
            school_ids=["ley-college"],
            sentiment="negative",
            harm="threat",
            harm_kind="bedreigen",
            text="\x1b[2J\x1b[31mLey College is onveilig\x07\u202eesrever\u202c\x9b1m",
        )
    ]
    out = cycle_summary(cfg, report)
    assert not any(c in out for c in "\x1b\x07\x9b\u202e\u202c")
    assert "\\x1b[2J\\x1b[31mLey College is onveilig\\x07\\u202eesrever\\u202c\\x9b1m" in out


@pytest.mark.parametrize(
    "text",
    [
        "Ley\u200b College",
        "L\u00adey College",
        "Ｌｅｙ Ｃｏｌｌｅｇｅ",
        "\u202eLey College\u202c",
        "𝐋𝐞𝐲 𝐂𝐨𝐥𝐥𝐞𝐠𝐞",
        "Ley\u00a0College",
        "#Ley\u200dCollege",
    ],
)
def test_invisible_characters_and_lookalike_letters_do_not_hide_a_school(text: str) -> None:
    schools = [School(id="ley-college", name="Ley College", aliases=["Ley College"])]
    assert match_schools(text, schools) == ["ley-college"]


def test_invisible_characters_do_not_make_a_false_match() -> None:
    schools = [School(id="ley-college", name="Ley College", aliases=["Ley College"])]
    assert match_schools("Val\u200bley College", schools) == []
    assert match_schools("Ley Colleges\u200b", schools) == []


# --- SQL ------------------------------------------------------------------------------------

SQL_CALLS = {"execute", "executemany", "query", "query_dicts", "sql", "fetch_df"}
# f-strings that build SQL from code constants only (never from data); each reviewed.
REVIEWED_SQL_FSTRINGS = {
    ("warehouse/store.py", "cols"),  # the mentions columns, a code constant
    ("warehouse/store.py", "MENTION_SELECT"),  # the same columns as a SELECT list, a code constant
    ("warehouse/store.py", "INSERT_COLS"),  # the mentions columns, a code constant
    ("warehouse/views.py", "POSTED_DAY_SQL"),  # a code constant
    ("warehouse/export.py", "sql"),  # DATASETS, code constants
    ("warehouse/export.py", "_sql_str(target)"),  # the export path, quoted ('' doubling): tested below
    ("warehouse/export.py", "_sql_str(target / 'month=none' / 'data_0.parquet')"),
    ("warehouse/retention.py", "table"),  # DEPENDENT_TABLES, a code constant
    ("warehouse/retention.py", "where"),  # _WITH_MENTIONS and _BY_AGE conditions, code constants
    ("warehouse/compact.py", "_sql_str(target)"),  # the compaction's new file, quoted ('' doubling)
    ("warehouse/compact.py", "ALIAS"),  # a code constant
    ("warehouse/compact.py", "_ident(source)"),  # the database name DuckDB reports, quoted ("" doubling)
    ("warehouse/compact.py", "_ident(t)"),  # table names DuckDB reports, quoted ("" doubling)
    ("warehouse/views.py", "AUTHOR_KEY_SQL"),  # a code constant
    ("warehouse/publish.py", "name"),  # VIEWS, the analysts' view names, code constants
    ("edumon/protocol/db.py", "table"),  # table names: literals at every call site
    ("edumon/protocol/db.py", "col_list"),  # keys of rows built in code
    ("edumon/protocol/db.py", "name"),  # "_in_" + the table name
    ("warehouse/backup.py", "_lit(tmp)"),  # the backup's path, quoted ('' doubling): tests/test_backup.py
    ("warehouse/backup.py", "_lit(incoming)"),  # "<warehouse>.restoring", quoted the same way
    ("warehouse/backup.py", "_q(name)"),  # current_database(), quoted as an identifier
    ("warehouse/backup.py", "_q(t)"),  # table names from the catalogue, quoted
    ("warehouse/backup.py", "_q(table)"),  # CARRY_OVER, a code constant
    ("warehouse/backup.py", "_q(into)"),  # "edumon_restored", a code constant
    ("warehouse/backup.py", "col_list"),  # column names from the catalogue, quoted
}


def _sql_fstrings() -> list[tuple[str, int, str]]:
    out = []
    for folder in ("edumon", "connectors", "classifiers", "warehouse", "flows"):
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SQL_CALLS
                    and node.args
                ):
                    continue
                sql = node.args[0]
                parts = [sql] if isinstance(sql, ast.JoinedStr) else []
                if isinstance(sql, ast.BinOp) or (
                    isinstance(sql, ast.Call) and isinstance(sql.func, ast.Attribute) and sql.func.attr == "format"
                ):
                    parts.append(sql)
                for p in parts:
                    values = [ast.unparse(v.value) for v in ast.walk(p) if isinstance(v, ast.FormattedValue)]
                    if not values:
                        values = [ast.unparse(p)]
                    for v in values:
                        out.append((str(path.relative_to(REPO)), node.lineno, v))
    return out


def test_no_sql_is_built_from_data() -> None:
    """Every value in a query goes in as a parameter; only reviewed code constants are interpolated."""
    unreviewed = [(f, line, v) for f, line, v in _sql_fstrings() if (f, v) not in REVIEWED_SQL_FSTRINGS]
    assert unreviewed == [], "SQL built by interpolation; use ? parameters: " + repr(unreviewed)


def test_quotes_in_config_and_cursor_values_are_data(
    fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    """A feed URL and an ETag full of quotes go through source_state and source_runs as plain values."""
    etag = '"it\'s"; DROP TABLE source_state; --'
    handler = FeedHandler(rss_xml([{"title": "Ley College", "guid": "q", "link": "https://n.example.nl/q"}]))
    handler.etag = etag
    fake_server.route("/it's.xml", handler)
    url = fake_server.url + "/it's.xml?q='1'--"
    cfg = make_config(rss=[url])
    assert pipeline.run_cycle(cfg).ok
    wh = Warehouse(cfg.warehouse.path)
    assert wh.states()[("rss", url)]["etag"] == etag
    second = pipeline.run_cycle(cfg)
    assert second.targets[0].status == "not_modified"
    assert wh.query("SELECT target, status FROM source_runs ORDER BY finished_at") == [
        (url, "ok"),
        (url, "not_modified"),
    ]


# --- invalid config values ------------------------------------------------------------------

BASE = """
[organisation]
name = "Edu-Ley"
[[schools]]
id = "ley-college"
name = "Ley College"
[[sources.rss]]
url = "https://example.nl/feed.xml"
"""


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ('url = "https://example.nl/feed.xml"', 'url = "https://example.nl/feed.xml"\ntimeout_s = -1'),
            "sources.rss[0].timeout_s: must be more than 0 seconds",
        ),
        (
            ('url = "https://example.nl/feed.xml"', 'url = "https://example.nl/feed.xml"\ntimeout_s = 0'),
            "sources.rss[0].timeout_s: must be more than 0 seconds",
        ),
        (
            ('url = "https://example.nl/feed.xml"', 'url = "https://example.nl/feed.xml"\ntimeout_s = nan'),
            "sources.rss[0].timeout_s: expected a finite number, got nan",
        ),
        (
            ('url = "https://example.nl/feed.xml"', 'url = "https://example.nl/feed.xml"\nretries = -1'),
            "sources.rss[0].retries: must be between 0 and 10",
        ),
        (
            ('url = "https://example.nl/feed.xml"', 'url = "https://example.nl/feed.xml"\nretries = 1.5'),
            "sources.rss[0].retries: expected an integer, got a number",
        ),
        (('url = "https://example.nl/feed.xml"', 'url = "https://"'), "sources.rss[0].url: expected an http(s) URL"),
        (
            ('url = "https://example.nl/feed.xml"', 'url = "http://exa mple.nl/feed"'),
            "sources.rss[0].url: expected an http(s) URL",
        ),
        (
            ("[organisation]", "[warehouse]\nlock_timeout_s = -3\n[organisation]"),
            "warehouse.lock_timeout_s: must not be negative",
        ),
        (
            ("[organisation]", "[warehouse]\nlock_timeout_s = inf\n[organisation]"),
            "warehouse.lock_timeout_s: expected a finite number, got inf",
        ),
        (
            ("[organisation]", '[alerts]\nwebhook_url = "javascript:alert(1)"\n[organisation]'),
            "alerts.webhook_url: expected an http(s) URL",
        ),
        (('id = "ley-college"', 'id = "ley college\'; --"'), "schools[0].id: use letters, digits"),
        (
            ('name = "Ley College"', 'name = "Ley College"\naliases = ["Ley College", "  "]'),
            "schools[0].aliases[1]: must not be empty",
        ),
        (  # issue 18: an empty list matched nothing silently; leaving the key out matches the name
            ('name = "Ley College"', 'name = "Ley College"\naliases = []'),
            "schools[0].aliases: empty for school 'ley-college'",
        ),
        (
            (
                "[organisation]",
                '[[sources.bluesky]]\nhandle = "me.example.nl"\napp_password_env = "s3cr3t-bsky-XYZ"\n[organisation]',
            ),
            "sources.bluesky[0].app_password_env: expected the NAME of an environment variable",
        ),
    ],
)
def test_invalid_config_values_are_one_clear_line(tmp_path: Path, change: tuple[str, str], message: str | None) -> None:
    p = tmp_path / "edumon.toml"
    p.write_text(BASE.replace(*change, 1), encoding="utf-8")
    res = CliRunner().invoke(main, ["check-config", "--config", str(p)])
    if message is None:
        assert res.exit_code == 0, res.output
        return
    assert res.exit_code == 2, res.output
    errors = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], res.output
    assert "Traceback" not in res.output
    assert "s3cr3t-bsky-XYZ" not in res.output  # a secret pasted in the wrong place is never echoed


def test_config_that_is_not_utf8_or_not_a_file_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "latin1.toml"
    p.write_bytes(BASE.replace("Edu-Ley", "Edu-Léy").encode("latin-1"))
    res = CliRunner().invoke(main, ["check-config", "--config", str(p)])
    assert res.exit_code == 2 and "not UTF-8 text" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(main, ["check-config", "--config", str(tmp_path)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert len([ln for ln in res.output.splitlines() if ln.startswith("Error:")]) == 1


# --- odd links and texts in the record itself ---------------------------------------------


def test_a_link_with_a_bad_port_does_not_fail_the_feed(
    fake_server: FakeServer, make_config: Callable[..., Config]
) -> None:
    items = [
        {"title": "Ley College opent lab", "guid": "p1", "link": "https://nieuws.example.nl:99999/lab"},
        {"title": "Ley College sportdag", "guid": "p2", "link": "http://[::1/sport"},
        {"title": "Ley College musical", "guid": "p3", "link": "https://nieuws.example.nl/musical"},
    ]
    fake_server.route("/feed.xml", FeedHandler(rss_xml(items)))
    cfg = make_config(rss=[fake_server.url + "/feed.xml"])
    report = pipeline.run_cycle(cfg)
    assert report.ok, report.targets
    rows = Warehouse(cfg.warehouse.path).query("SELECT source_id, url FROM mentions ORDER BY source_id")
    assert rows == [
        ("p1", "https://nieuws.example.nl:99999/lab"),
        ("p2", "http://[::1/sport"),
        ("p3", "https://nieuws.example.nl/musical"),
    ]


def _reference_normalise(text: str) -> str:
    """The original normalisation (slow but obviously right); stored hashes depend on it."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c) and unicodedata.category(c) != "Cf")
    return re.sub(r"\s+", " ", text).strip().lower()


def test_text_normalisation_is_unchanged_for_odd_text() -> None:
    """The fast normalisation gives the same hashes as the original on every kind of odd text."""
    import random

    from core.mention import normalise_text

    rng = random.Random(9)
    samples = [EXPECTED_TEXT[k] for k in EXPECTED_TEXT if k != "big"] + [
        "Café Ley College",
        "Ｌｅｙ",
        "a\u200bb\u00ad c",
        "İstanbul ǅ ﬁ ẞ",
        "e\u0301\u0327",
        "\u202eabc\u2028x\x1c y",
        "\x00\x85\xa0\u3000 spaties",
        "",
    ]
    for _ in range(2000):
        samples.append(
            "".join(
                chr(
                    rng.choice(
                        [
                            rng.randint(0, 0x7F),
                            rng.randint(0x80, 0x2FFF),
                            rng.randint(0xE000, 0xFFFF),
                            rng.randint(0x10000, 0x10FFFF),
                        ]
                    )
                )
                for _ in range(rng.randint(0, 30))
            )
        )
    assert [normalise_text(s) for s in samples] == [_reference_normalise(s) for s in samples]


def test_a_1mb_post_is_classified_in_bounded_time() -> None:
    """The model reads the start of a huge text; the rules still read all of it."""
    from classifiers import load_classifier

    clf = load_classifier()
    threat_at_the_end = BIG + " Ik ga je vermoorden na school."
    labels = clf.classify([threat_at_the_end, BIG])
    assert labels[0].harm == "threat"
    assert labels[1].harm == "none"


# --- alerts: markup in a post reaches webhooks as data, never as markup ----------------------


def test_markup_in_a_threat_reaches_every_webhook_format_safely(tmp_path: Path) -> None:
    """A threatening post whose text and author carry markup, quotes and RTL text raises an alert:
    each webhook format gets valid JSON; the generic one carries the text verbatim (as data), Slack
    gets it escaped for mrkdwn, and the only link is the post's own URL."""
    import json as _json

    from protocol_env import _x, feed, item, make_config

    import pipeline
    from fakes.rss import FeedHandler
    from fakes.server import FakeServer, Request, Response

    hostile = (
        "Die docent van het Ley College moet oppassen, ik ga je opwachten na school "
        '<script>alert("x")</script> <a href="javascript:evil()">klik</a> \u202edrow\u202c \'quote\''
    )
    for fmt in ("json", "slack", "teams"):
        received: list[Request] = []
        with FakeServer() as srv:
            srv.route("/forum.xml", FeedHandler(feed(item("h1", "Re: docent", _x(hostile), author="<b>x</b>"))))
            srv.route("/hook", lambda req: (received.append(req), Response(200, b"ok"))[1])
            cfg = make_config(
                tmp_path / f"{fmt}.duckdb",
                srv,
                alerts={"webhook_url": srv.url + "/hook", "webhook_format": fmt, "email_to": []},
            )
            pipeline.run_cycle(cfg)
        assert received, f"{fmt}: no alert delivered"
        body = received[0].body.decode("utf-8")
        payload = _json.loads(body)  # valid JSON
        flat = _json.dumps(payload, ensure_ascii=False)
        if fmt == "json":
            assert (
                '<script>alert("x")</script>' in payload["text"] and payload["link"] == "https://forum.example.nl/t/h1"
            )
        if fmt == "slack":
            assert "<script>" not in flat and "&lt;script&gt;" in flat  # mrkdwn control characters escaped

        def links(node: object) -> list[str]:  # every value a client turns into a link or button
            if isinstance(node, dict):
                return [v for k, v in node.items() if k in ("url", "link") and isinstance(v, str)] + [
                    u for v in node.values() for u in links(v)
                ]
            return [u for v in node for u in links(v)] if isinstance(node, list) else []

        assert links(payload) == ["https://forum.example.nl/t/h1"], links(payload)
