"""The daily digest and the follow-up commands, as comms staff use them: real CLI runs on a real cycle."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from protocol_env import PUBLISHED, Env, env, smtp_server, write_config  # noqa: F401  (fixtures)

from core.config import RssSource
from edumon import cli
from fakes.server import Response
from pipeline import run_cycle
from warehouse import Warehouse

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "h1",
    "h2",
    "h3",
    "p",
    "ul",
    "li",
    "a",
    "br",
    "span",
    "code",
    "strong",
    "table",
    "tr",
    "th",
    "td",
    "svg",
    "g",
    "rect",
    "line",
    "text",
}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs += attrs
        self.svgs += tag == "svg"


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli.main, list(args))


def mid(env: Env, guid: str) -> str:
    return Warehouse(env.db).query("SELECT mention_id FROM mentions WHERE source_id = ?", [guid])[0][0]


@pytest.fixture
def cycled(env: Env, tmp_path: Path) -> tuple[Env, Path]:
    env.server.route("/broken.xml", lambda req: Response(500, b"kapot"))
    env.cfg.sources.rss.append(RssSource(url=env.server.url + "/broken.xml", retries=0, timeout_s=3))
    env.cfg.digest.recipients = ["communicatie@edu-ley.example.nl"]
    run_cycle(env.cfg)
    return env, write_config(env.cfg, tmp_path / "config.toml")


def test_digest_html_lists_negatives_and_harm_with_all_markup_escaped(cycled, tmp_path) -> None:
    env, cfg = cycled
    out = tmp_path / "digest.html"
    res = invoke("digest", "--config", str(cfg), "--format", "html", "--out", str(out))
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    # the post's markup is text, never markup
    assert "<script" not in html and "<img" not in html and "<b>hacker" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html and "&lt;b&gt;hacker&lt;/b&gt;" in html
    parsed = Tags()
    parsed.feed(html)
    assert parsed.tags <= ALLOWED_TAGS and not [a for a, _ in parsed.attrs if a.startswith("on")]
    # per school a trend chart; Ley College's sections list the harm and the negatives, with links
    assert parsed.svgs == 2
    ley = html.split("<h2>Ley College</h2>")[1].split("<h2>")[0]
    harm = ley.split("<h3>Bedreiging en pesten</h3>")[1].split("<h3>")[0]
    assert 'href="https://forum.example.nl/t/t1"' in harm and 'href="https://forum.example.nl/t/t2"' in harm
    assert "aangifte doen bij de politie" in harm
    negatives = ley.split("<h3>Negatief: in gesprek gaan (opvolging nodig)</h3>")[1].split("<h3>")[0]
    assert 'href="https://forum.example.nl/t/t3"' in negatives and 'href="https://forum.example.nl/t/t4"' in negatives
    assert "t/t5" not in negatives and "t/t6" not in negatives
    positives = ley.split("<h3>Positief: de moeite waard om te delen</h3>")[1]
    assert 'href="https://forum.example.nl/t/t5"' in positives
    assert "<td>6</td>" in ley and '<td class="neg">4</td>' in ley  # counts by sentiment
    day = PUBLISHED.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert f"<title>{day:%d-%m}: 4 negatief, 1 neutraal, 1 positief</title>" in ley
    # the failing source
    sources = html.split("<h2>Bronnen</h2>")[1]
    assert "/broken.xml" in sources and "faalde 1×" in sources


def test_digest_text_and_dates(cycled, tmp_path) -> None:
    env, cfg = cycled
    res = invoke("digest", "--config", str(cfg), "--format", "text")
    assert res.exit_code == 0, res.output
    assert "Bedreiging en pesten:" in res.output and "https://forum.example.nl/t/t1" in res.output
    assert "Ley College <script>" in res.output  # plain text is not HTML: shown as written
    old = invoke("digest", "--config", str(cfg), "--date", "2020-01-06", "--format", "text")
    assert old.exit_code == 0 and "0 berichten over de scholen in maandag 6 januari 2020" in old.output
    bad = invoke("digest", "--config", str(cfg), "--date", "6-1-2020")
    assert bad.exit_code == 2 and "'6-1-2020' does not match the format" in bad.output


def test_digest_send(cycled, smtp_server, tmp_path) -> None:
    env, cfg = cycled
    box, _ = smtp_server
    res = invoke("digest", "--config", str(cfg), "--format", "html", "--out", str(tmp_path / "d.html"), "--send")
    assert res.exit_code == 0, res.output
    msgs = box.to("communicatie@edu-ley.example.nl")
    assert len(msgs) == 1 and msgs[0]["Subject"].startswith("Edumon dagoverzicht Edu-Ley (test)")
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in msgs[0].walk() if not p.is_multipart()}
    assert "<svg" in parts["text/html"] and "Bedreiging en pesten:" in parts["text/plain"]


def test_digest_without_recipients_is_one_line_error(env, tmp_path) -> None:
    run_cycle(env.cfg)
    cfg = write_config(env.cfg, tmp_path / "c.toml")
    res = invoke("digest", "--config", str(cfg), "--out", str(tmp_path / "d.html"), "--send")
    assert res.exit_code == 1 and "no recipients" in res.output and (tmp_path / "d.html").exists()


def test_followups_list_update_show_with_audit_trail(cycled, monkeypatch) -> None:
    env, cfg = cycled
    c = str(cfg)
    res = invoke("followups", "list", "--config", c, "--status", "open")
    assert res.exit_code == 0 and res.output.strip().endswith("4 follow-up(s)")
    assert len([l for l in res.output.splitlines() if "report_police" in l]) == 1
    assert invoke("followups", "list", "--config", c, "--school", "regenboog").output.strip() == "0 follow-up(s)"
    assert invoke("followups", "list", "--config", c, "--school", "nope").exit_code == 2

    t3 = mid(env, "t3")
    refused = invoke("followups", "update", "--config", c, t3[:8], "--status", "done")
    assert refused.exit_code == 1 and "needs a --note" in refused.output
    ok = invoke(
        "followups",
        "update",
        "--config",
        c,
        t3[:8],
        "--status",
        "done",
        "--note",
        "Gesprek met ouders gevoerd",
        "--by",
        "j.devries",
    )
    assert ok.exit_code == 0 and "status open -> done" in ok.output
    monkeypatch.setenv("USER", "a.bakker")
    t4 = mid(env, "t4")
    fix = invoke(
        "followups",
        "update",
        "--config",
        c,
        t4,
        "--action",
        "correct_online",
        "--note",
        "Het rooster klopt wel: datum in bericht is onjuist",
    )
    assert fix.exit_code == 0 and "action in_real_life -> correct_online" in fix.output

    shown = invoke("followups", "show", "--config", c, t3[:8])
    assert shown.exit_code == 0 and "status:  done" in shown.output
    history = shown.output.split("History:")[1].strip().splitlines()
    assert len(history) == 2 and "edumon" in history[0] and "created" in history[0]
    assert "j.devries" in history[1] and "open -> done" in history[1] and "Gesprek met ouders gevoerd" in history[1]
    events = Warehouse(env.db).query_dicts(
        "SELECT * FROM followup_events WHERE mention_id = ? AND field = 'action'", [t4]
    )
    assert [(e["by_whom"], e["from_value"], e["to_value"]) for e in events] == [
        ("a.bakker", "in_real_life", "correct_online")
    ]
    assert invoke("followups", "list", "--config", c, "--status", "done").output.strip().endswith("1 follow-up(s)")
    assert "no follow-up for mention" in invoke("followups", "show", "--config", c, "ffffffffff").output


def test_followups_age_filters(cycled) -> None:
    env, cfg = cycled
    t3 = mid(env, "t3")
    with Warehouse(env.db).transaction() as con:
        con.execute("UPDATE followups SET created_at = created_at - INTERVAL 3 DAY WHERE mention_id = ?", [t3])
    older = invoke("followups", "list", "--config", str(cfg), "--older-than", "2d")
    assert older.exit_code == 0 and older.output.strip().endswith("1 follow-up(s)")
    assert older.output.startswith(t3[:12])
    assert re.search(r"\s3\.\dd\s", older.output)  # the age column
    assert (
        invoke("followups", "list", "--config", str(cfg), "--newer-than", "12h")
        .output.strip()
        .endswith("3 follow-up(s)")
    )
    bad = invoke("followups", "list", "--config", str(cfg), "--older-than", "3 dagen")
    assert bad.exit_code == 2 and "expected a number and a unit" in bad.output
