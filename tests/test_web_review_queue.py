"""The review page's "Te beoordelen" list (issue 15), end to end in Debian's headless chromium: a comms
officer confirms one doubtful post (the leader is alerted at once) and dismisses another (a labelled
correction); a leader sees only their own schools' items."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

import pipeline
from core.config import Config
from core.mention import Mention
from edumon.web.app import create_app
from fakes.server import FakeServer, Response
from protocol.act import ActionsReport, handle_new_mentions
from tests.web_helpers import CHROMIUM, NOW, SECRET, LiveServer, chromium_driver, log_in, review_config, submit
from warehouse import upsert_mentions

if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
    pytest.skip(f"no chromium binary at {CHROMIUM}", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402


def doubtful(sid: str, text: str, school: str, pt: float, lang: str | None = None) -> Mention:
    return Mention(
        source="mastodon",
        source_id=sid,
        text=text,
        url=f"https://mastodon.example/@x/{sid}",
        published_at=NOW - timedelta(hours=1),
        fetched_at=NOW,
        lang=lang,
        school_ids=[school],
        sentiment="negative",
        harm="threat",
        harm_kind="bedreigen",
        scores={"harm.none": 1 - pt, "harm.insult": 0.0, "harm.threat": pt, "rules.threat": 0, "rules.insult": 0},
        cues=[f"model:threat {pt:.2f}"],
        classifier="e5-heads/test",
    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = chromium_driver(str(tmp_path_factory.mktemp("chromium-profile")))
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


@pytest.fixture
def live(make_config: Callable[..., Config]) -> Iterator[tuple[Config, dict[str, str], str]]:
    cfg = review_config(make_config)
    posts = {
        "english": doubtful(
            "e1", "Ley College was the bomb today, we killed it at the debate", "ley-college", 0.9, "en"
        ),
        "weak": doubtful("w1", "Die nieuwe meester op het Ley College gaat echt knallen dit jaar", "ley-college", 0.3),
        "other": doubtful("o1", "De Regenboog in Leiderdorp, jullie zijn de bom", "regenboog-leiderdorp", 0.3),
    }
    wh = pipeline.warehouse_for(cfg)
    wh.migrate()
    with wh.transaction() as con:
        upsert_mentions(con, list(posts.values()))
    out = ActionsReport()
    handle_new_mentions(cfg, wh, NOW, out)
    assert len(out.review) == 3 and not out.raised
    received: list[bytes] = []

    def hook(req: Any) -> Response:
        received.append(req.body)
        return Response(200, b"ok")

    with FakeServer() as hooks, LiveServer(create_app(cfg, SECRET)) as srv:
        hooks.route("/hook", hook)
        cfg.alerts.webhook_url = hooks.url + "/hook"
        yield cfg, {k: m.mention_id for k, m in posts.items()}, srv.url, received


def test_comms_confirms_and_dismisses_and_a_leader_sees_only_their_schools(browser: Any, live: Any) -> None:
    cfg, ids, url, received = live
    log_in(browser, url, "anna")
    submit(browser, browser.find_element(By.LINK_TEXT, "Te beoordelen"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Te beoordelen (3)"
    english = browser.find_element(By.ID, f"review-{ids['english']}")
    assert "in het Engels" in english.text and "model:" not in english.text
    assert "zwak signaal" in browser.find_element(By.ID, f"review-{ids['weak']}").text.lower()

    submit(browser, english.find_element(By.NAME, "confirm"))
    assert "de schoolleiding krijgt nu een melding" in browser.find_element(By.CLASS_NAME, "flash").text
    wh = pipeline.warehouse_for(cfg)
    alerts = wh.query("SELECT DISTINCT mention_id, severity FROM alerts")
    assert alerts == [(ids["english"], "urgent")]
    assert len(received) == 1 and "Bevestigd door anna" in received[0].decode()  # delivered at once, not next cycle

    weak = browser.find_element(By.ID, f"review-{ids['weak']}")
    weak.find_element(By.NAME, "note").send_keys("een compliment")
    submit(browser, weak.find_element(By.NAME, "dismiss"))
    assert "Afgewezen" in browser.find_element(By.CLASS_NAME, "flash").text
    fb = wh.query_dicts("SELECT kind, harm, by_whom, note FROM label_feedback WHERE mention_id = ?", [ids["weak"]])
    assert fb == [{"kind": "correction", "harm": "none", "by_whom": "anna", "note": "een compliment"}]
    assert browser.find_element(By.TAG_NAME, "h1").text == "Te beoordelen (1)"
    assert wh.query("SELECT count(DISTINCT mention_id) FROM alerts")[0][0] == 1  # dismissing alerted nobody

    log_in(browser, url, "bert")  # the Ley College's leader: the Regenboog's item is not theirs
    browser.get(url + "/te-beoordelen")
    assert browser.find_element(By.ID, "review-empty").text == "Niets te beoordelen."
    log_in(browser, url, "dirk")  # an analyst has no access
    browser.get(url + "/te-beoordelen")
    assert "Geen toegang" in browser.find_element(By.TAG_NAME, "main").text
