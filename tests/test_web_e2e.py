"""End to end in Debian's headless chromium: a comms officer and a school leader use the review page
served by uvicorn over a warehouse filled by a real (fake-sourced) monitoring cycle."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import pipeline
from core.config import Config
from edumon.web.app import create_app
from tests.web_helpers import (
    CHROMEDRIVER,
    CHROMIUM,
    SECRET,
    LiveServer,
    chromium_driver,
    followup,
    log_in,
    review_config,
    seed,
    submit,
)

if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
    pytest.skip(
        f"no chromium binary at {CHROMIUM}: install Debian's browser with "
        "`apt-get install -y chromium chromium-driver` (.ci/run does)",
        allow_module_level=True,
    )

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    assert os.path.exists(CHROMEDRIVER), (
        f"chromium is installed but {CHROMEDRIVER} is not: `apt-get install -y chromium-driver`"
    )
    driver = chromium_driver(str(tmp_path_factory.mktemp("chromium-profile")))
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


@pytest.fixture
def live(make_config: Callable[..., Config]) -> Iterator[tuple[Config, dict[str, str], str]]:
    cfg = review_config(make_config)
    ids = seed(cfg)
    with LiveServer(create_app(cfg, SECRET)) as srv:
        yield cfg, ids, srv.url


def act(driver: Any, what: str, note: str, reason: str | None = None) -> None:
    form = driver.find_element(By.ID, "act-form")
    form.find_element(By.CSS_SELECTOR, f"input[name=act][value={what}]").click()
    if reason:
        Select(form.find_element(By.NAME, "reason")).select_by_value(reason)
    form.find_element(By.NAME, "note").send_keys(note)
    submit(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def test_comms_officer_handles_a_threat_and_corrects_a_label(browser: Any, live: Any) -> None:
    cfg, ids, url = live
    log_in(browser, url, "anna")
    # the threat from the cycle is on top of its school's list, with its cues and a link to the original
    first = browser.find_element(By.CSS_SELECTOR, "#school-ley-college li.item")
    assert first.get_attribute("data-mention") == ids["threat"]
    assert "Ik ga je opwachten" in first.text and "bedreiging" in first.text
    assert first.find_element(By.LINK_TEXT, "origineel bericht").get_attribute("href") == "https://forum.example.nl/t/1"
    submit(browser, first.find_element(By.LINK_TEXT, "Openen en afhandelen"))
    assert browser.current_url.endswith(f"/opvolging/{ids['threat']}")

    # mark it report_police with a note, then done once reported; both land in the audit trail
    act(browser, "report_police", "Dreigement aan meester Jansen; politie Leiden gebeld")
    assert "Opgeslagen: aangifte gedaan bij de politie." in browser.find_element(By.CLASS_NAME, "flash").text
    act(browser, "done", "Aangifte gedaan, zaaknummer 2026-1234")
    rows = browser.find_elements(By.CSS_SELECTOR, "#audit tbody tr")
    texts = [r.text for r in rows]
    assert any("anna" in t and "Dreigement aan meester Jansen" in t for t in texts), texts
    assert any("anna" in t and "afgehandeld" in t and "zaaknummer 2026-1234" in t for t in texts), texts
    assert browser.find_element(By.ID, "status").text == "afgehandeld"
    f = followup(cfg, ids["threat"])
    assert (f["action"], f["status"], f["updated_by"]) == ("report_police", "done", "anna")

    # the print-friendly police report carries the evidence
    submit(browser, browser.find_element(By.ID, "report-link"))
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Rapport: mogelijk strafbaar bericht" in body and "SHA-256" in body and "Ik ga je opwachten" in body

    # correct the label of the insult on the other school: it becomes a labelled example
    browser.get(f"{url}/opvolging/{ids['insult']}")
    form = browser.find_element(By.ID, "label-form")
    Select(form.find_element(By.NAME, "harm")).select_by_value("insult")
    Select(form.find_element(By.NAME, "harm_kind")).select_by_value("pesten")
    form.find_element(By.NAME, "note").send_keys("juf wordt gepest")
    submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Label gecorrigeerd" in browser.find_element(By.CLASS_NAME, "flash").text
    wh = pipeline.warehouse_for(cfg)
    fb = wh.query_dicts(
        "SELECT kind, harm, harm_kind, was_harm_kind, by_whom, note FROM label_feedback WHERE mention_id = ?",
        [ids["insult"]],
    )
    assert fb == [
        {
            "kind": "correction",
            "harm": "insult",
            "harm_kind": "pesten",
            "was_harm_kind": "kwetsen",
            "by_whom": "anna",
            "note": "juf wordt gepest",
        }
    ]
    audit = browser.find_element(By.ID, "audit").text
    assert "soort schade" in audit and "pesten" in audit


def test_leader_is_refused_another_schools_followup(browser: Any, live: Any) -> None:
    cfg, ids, url = live
    log_in(browser, url, "carla")  # leader of De Regenboog
    listed = [li.get_attribute("data-mention") for li in browser.find_elements(By.CSS_SELECTOR, "li.item")]
    assert listed == [ids["insult"]]
    browser.get(f"{url}/opvolging/{ids['threat']}")  # Ley College's threat, by direct URL
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Niet gevonden" in body and "opwachten" not in body
    browser.get(f"{url}/opvolging/{ids['threat']}/rapport")
    assert "opwachten" not in browser.find_element(By.TAG_NAME, "body").text


def add_post(cfg: Config, text: str, source_id: str) -> str:
    """A negative post about Ley College, stored with its follow-up as a cycle would."""
    from datetime import datetime, timezone

    from core.mention import Mention
    from protocol.followups import create_followups
    from warehouse import save_labels, upsert_mentions

    now = datetime.now(timezone.utc)
    m = Mention(
        source="rss",
        source_id=source_id,
        text=text,
        author="boze ouder \u202egnp.exe",
        fetched_at=now,
        published_at=now,
        school_ids=["ley-college"],
        sentiment="negative",
        harm="none",
        classifier="test",
    )
    with pipeline.warehouse_for(cfg).transaction() as con:
        upsert_mentions(con, [m])
        save_labels(con, [m])
        create_followups(con, [m], now)
    return m.mention_id


def test_text_cannot_mislead_and_long_strings_wrap(browser: Any, live: Any) -> None:
    cfg, ids, url = live
    mid = add_post(cfg, "Ley College: bijlage \u202egnp.exe en " + "a" * 5000, "rtl-1")
    log_in(browser, url, "anna")
    item = browser.find_element(By.CSS_SELECTOR, f"li.item[data-mention='{mid}']")
    assert "\\u202egnp.exe" in item.text and "\u202e" not in item.text  # shown, not obeyed
    for path in ("/", f"/opvolging/{mid}"):
        browser.get(url + path)
        wide = browser.execute_script("return document.documentElement.scrollWidth")
        assert wide <= browser.execute_script("return window.innerWidth"), (path, wide)


def test_dutch_throughout_and_actions_say_what_happened(browser: Any, live: Any) -> None:
    cfg, ids, url = live
    log_in(browser, url, "anna")
    browser.get(f"{url}/opvolging/{ids['threat']}")
    assert browser.find_element(By.ID, "action").text == "advies: aangifte doen bij de politie"
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "verzonden" in page and "alerts.webhook_url" not in page
    audit = browser.find_element(By.ID, "audit").text
    assert "edumon (automatisch)" in audit and "automatisch: bedreiging" in audit
    for code in ("sent", "report_police", "in_real_life", "threat", "done"):
        assert code not in page.split(), code

    # nothing typed is lost: "vervallen" without a reason keeps the note
    form = browser.find_element(By.ID, "act-form")
    form.find_element(By.CSS_SELECTOR, "input[name=act][value=dismissed]").click()
    form.find_element(By.NAME, "note").send_keys("Geen dreiging: een citaat uit een boek")
    submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Kies waarom" in browser.find_element(By.CLASS_NAME, "error").text
    kept = browser.find_element(By.CSS_SELECTOR, "#act-form textarea[name=note]").get_attribute("value")
    assert kept == "Geen dreiging: een citaat uit een boek"
    assert browser.find_element(By.CSS_SELECTOR, "input[name=act][value=dismissed]").is_selected()

    # a report filed by staff says so
    browser.find_element(By.CSS_SELECTOR, "#act-form textarea[name=note]").clear()
    act(browser, "report_police", "Aangifte gedaan bij politie Leiden, zaak 2026-77")
    assert browser.find_element(By.ID, "action").text == "aangifte gedaan bij de politie"
    submit(browser, browser.find_element(By.ID, "report-link"))
    facts = browser.find_element(By.CSS_SELECTOR, "section.evidence dl").text
    assert "nieuws (RSS)" in facts and "rss ·" not in facts

    browser.get(f"{url}/opvolging/{ids['threat']}/actie")  # a form's address opened as a page
    body = browser.find_element(By.TAG_NAME, "main").text
    assert "Niet toegestaan" in body and "gebruik de knoppen" in body and "Er ging iets mis" not in body


def test_alerts_are_grouped_per_mention_with_excerpt_and_state(browser: Any, live: Any) -> None:
    from datetime import datetime, timezone

    cfg, ids, url = live
    with pipeline.warehouse_for(cfg).transaction() as con:  # the same threat also went out by e-mail, twice
        for i in range(2):
            con.execute(
                "INSERT INTO alerts (alert_id, mention_id, school_id, kind, severity, channel, recipient, status,"
                " attempts, created_at) VALUES (?, ?, 'ley-college', 'threat', 'urgent', 'email', ?, 'sent', 1, ?)",
                [f"extra-{i}", ids["threat"], f"leider{i}@ley.example", datetime.now(timezone.utc)],
            )
    log_in(browser, url, "bert")

    def threat_alert() -> Any:
        lines = browser.find_elements(By.CSS_SELECTOR, f"#school-ley-college li.alert[data-ref='{ids['threat']}']")
        assert len(lines) == 1, [x.text for x in lines]  # one line per mention, however many messages
        return lines[0]

    line = threat_alert()
    assert "Ik ga je opwachten" in line.text and "spoed" in line.text and "opvolging: open" in line.text
    assert "3 berichten: verzonden" in line.text
    browser.get(f"{url}/opvolging/{ids['threat']}")
    act(browser, "done", "Aangifte gedaan, leerling en ouders gesproken")
    browser.get(url + "/")
    line = threat_alert()
    assert "spoed" not in line.text and "opvolging: afgehandeld" in line.text


def test_more_than_200_followups_are_paged(browser: Any, live: Any) -> None:
    from datetime import datetime, timedelta, timezone

    from core.mention import Mention
    from protocol.followups import create_followups
    from warehouse import save_labels, upsert_mentions

    cfg, ids, url = live
    now = datetime.now(timezone.utc)
    many = [
        Mention(
            source="rss",
            source_id=f"klacht-{i}",
            text=f"Klacht {i} over De Regenboog in Leiderdorp",
            fetched_at=now,
            published_at=now - timedelta(minutes=i),
            school_ids=["regenboog-leiderdorp"],
            sentiment="negative",
            harm="none",
            classifier="test",
        )
        for i in range(450)
    ]
    with pipeline.warehouse_for(cfg).transaction() as con:
        upsert_mentions(con, many)
        save_labels(con, many)
        create_followups(con, many, now)
    log_in(browser, url, "carla")
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        seen += [li.get_attribute("data-mention") for li in browser.find_elements(By.CSS_SELECTOR, "li.item")]
        nav = browser.find_element(By.CSS_SELECTOR, "nav.pages").text
        assert "van 451" in nav, nav
        nxt = browser.find_elements(By.CSS_SELECTOR, "nav.pages a[rel=next]")
        if not nxt:
            break
        submit(browser, nxt[0])
    assert pages == 3 and len(seen) == 451 and len(set(seen)) == 451  # every follow-up once, none cut off
    assert set(seen) == {m.mention_id for m in many} | {ids["insult"]}
    assert "Opvolgingen 401–451 van 451" in browser.find_element(By.CSS_SELECTOR, "nav.pages").text


def test_each_school_decides_for_itself(browser: Any, live: Any) -> None:
    from datetime import datetime, timezone

    from core.mention import Mention
    from protocol.followups import create_followups
    from warehouse import save_labels, upsert_mentions

    cfg, ids, url = live
    now = datetime.now(timezone.utc)
    both = Mention(
        source="rss",
        source_id="beide-1",
        text="Ouders van het Ley College en De Regenboog in Leiderdorp: die leraar is een idioot",
        fetched_at=now,
        published_at=now,
        school_ids=["ley-college", "regenboog-leiderdorp"],
        sentiment="negative",
        harm="insult",
        harm_kind="kwetsen",
        classifier="test",
    )
    with pipeline.warehouse_for(cfg).transaction() as con:
        upsert_mentions(con, [both])
        save_labels(con, [both])
        create_followups(con, [both], now)
    mid = both.mention_id

    def listed(status: str = "open") -> list[str]:
        browser.get(f"{url}/?status={status}")
        return [li.get_attribute("data-mention") for li in browser.find_elements(By.CSS_SELECTOR, "li.item")]

    log_in(browser, url, "bert")  # leader of Ley College: a false alarm for his school
    browser.get(f"{url}/opvolging/{mid}")
    act(browser, "dismissed", "Gaat niet over onze leraar", reason="false_alarm")
    assert browser.find_element(By.ID, "status").text == "vervallen"
    assert "Basisschool De Regenboog: open" in browser.find_element(By.ID, "per-school").text
    assert mid not in listed() and mid in listed("dismissed")
    wh = pipeline.warehouse_for(cfg)
    assert followup(cfg, mid)["status"] == "open"  # not closed for the other school
    assert wh.query("SELECT count(*) FROM label_feedback WHERE mention_id = ?", [mid])[0][0] == 0  # no label

    log_in(browser, url, "carla")  # leader of De Regenboog: it is still open for her
    assert mid in listed()
    browser.get(f"{url}/opvolging/{mid}")
    assert browser.find_element(By.ID, "status").text == "open"
    assert "status voor Ley College" in browser.find_element(By.ID, "audit").text
    act(browser, "done", "Gesprek met de ouders gevoerd")
    assert mid not in listed() and mid in listed("done")
    # every school decided: the follow-up closes as done, and one school's dismissal outvoted nobody
    assert followup(cfg, mid)["status"] == "done"
    assert wh.query("SELECT count(*) FROM label_feedback WHERE mention_id = ?", [mid])[0][0] == 0
    log_in(browser, url, "anna")  # comms see each school's own decision
    browser.get(f"{url}/opvolging/{mid}")
    per_school = browser.find_element(By.ID, "per-school").text
    assert "Ley College: vervallen" in per_school and "De Regenboog: afgehandeld" in per_school
