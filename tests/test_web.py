"""The review page through Starlette's test client: login, roles, CSRF, escaping, actions, counts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from starlette.testclient import TestClient

import pipeline
from core.config import Config
from core.mention import Mention
from edumon.web.app import create_app
from tests.web_helpers import PASSWORDS, SECRET, XSS_TEXT, followup, review_config, seed


@pytest.fixture
def site(make_config: Callable[..., Config]) -> Iterator[tuple[Config, dict[str, str], Callable[..., TestClient]]]:
    cfg = review_config(make_config)
    ids = seed(cfg)
    app = create_app(cfg, SECRET)
    clients: list[TestClient] = []

    def client(username: str | None = None) -> TestClient:
        c = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
        clients.append(c)
        if username:
            login(c, username, PASSWORDS[username])
        return c

    yield cfg, ids, client
    for c in clients:
        c.close()


def csrf(c: TestClient, path: str = "/login") -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', c.get(path).text)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def login(c: TestClient, username: str, password: str) -> Any:
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": csrf(c)})
    return r


def test_login_required_and_wrong_password_refused(site) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, client = site
    c = client()
    assert c.get("/").headers["location"] == "/login"
    assert c.get(f"/opvolging/{ids['threat']}").headers["location"] == "/login"
    r = login(c, "anna", "fout-wachtwoord")
    assert r.status_code == 401 and "onjuist wachtwoord" in r.text
    r = login(c, "anna", PASSWORDS["anna"])
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = c.get("/")
    assert page.status_code == 200 and "Anna de Vries" in page.text


def test_overview_most_severe_first_with_labels_cues_and_links(site) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, client = site
    page = client("anna").get("/").text
    ley = page[page.index('id="school-ley-college"') : page.index('id="school-regenboog-leiderdorp"')]
    order = re.findall(r'data-mention="([0-9a-f]+)"', ley)
    assert order[0] == ids["threat"], "the threat comes first"
    assert set(order) == {ids["threat"], ids["hostile"], ids["negative"]}  # the positive post has no follow-up
    assert order.index(ids["hostile"]) < order.index(ids["negative"])  # an insult before a plain negative
    assert "Ik ga je opwachten" in ley and "bedreiging: bedreigen" in ley and "signaalwoorden" in ley
    assert 'href="https://forum.example.nl/t/1"' in ley and "nieuws (RSS)" in ley
    assert "Ouders boos over De Regenboog" in page  # comms staff see every school


def test_post_text_is_escaped_and_javascript_links_are_not_links(site) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, client = site
    c = client("anna")
    for path in ("/", f"/opvolging/{ids['hostile']}", f"/opvolging/{ids['hostile']}/rapport"):
        html = c.get(path).text
        assert "<script>" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in html, path
        assert 'href="javascript:' not in html, path
    assert "&lt;b&gt;troll&lt;/b&gt;&#34;" in c.get(f"/opvolging/{ids['hostile']}").text
    r = c.get("/")
    assert (
        "script-src" not in r.headers["content-security-policy"]
        and "default-src 'none'" in r.headers["content-security-policy"]
    )
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"


def test_every_form_without_csrf_token_is_refused(site) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, client = site
    c = client("anna")
    mid = ids["negative"]
    before = followup(cfg, mid)
    posts = [
        ("/opvolging/%s/actie" % mid, {"act": "report_police", "note": "aangifte"}),
        ("/opvolging/%s/labels" % mid, {"sentiment": "positive", "harm": "none"}),
        ("/logout", {}),
        ("/login", {"username": "anna", "password": PASSWORDS["anna"]}),
        ("/te-beoordelen/%s/bevestigen" % mid, {}),
        ("/te-beoordelen/%s/afwijzen" % mid, {"note": "onschuldig"}),
    ]
    for path, data in posts:
        for token in (None, "verkeerd-token"):
            r = c.post(path, data=data if token is None else {**data, "csrf_token": token})
            assert r.status_code == 403, (path, token)
            assert "CSRF" in r.text
    assert followup(cfg, mid) == before
    wh = pipeline.warehouse_for(cfg)
    assert wh.query("SELECT count(*) FROM label_feedback")[0][0] == 0
    assert c.get("/").status_code == 200  # still logged in: the logout without token did nothing
    # the route table has no POST route these checks miss
    from starlette.routing import Route

    app_posts = {r.path for r in c.app.routes if isinstance(r, Route) and "POST" in (r.methods or set())}  # type: ignore[attr-defined]
    assert app_posts == {
        "/opvolging/{mention_id}/actie",
        "/opvolging/{mention_id}/labels",
        "/logout",
        "/login",
        "/te-beoordelen/{mention_id}/bevestigen",
        "/te-beoordelen/{mention_id}/afwijzen",
    }


def test_leader_sees_only_own_school_everywhere(site) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, client = site
    c = client("bert")  # leader of ley-college
    page = c.get("/").text
    assert "Ik ga je opwachten" in page and "Ouders boos over De Regenboog" not in page
    assert 'id="school-regenboog-leiderdorp"' not in page
    other = ids["insult"]  # De Regenboog's follow-up
    before = followup(cfg, other)
    for path in (f"/opvolging/{other}", f"/opvolging/{other}/rapport", "/?school=regenboog-leiderdorp"):
        r = c.get(path)
        assert r.status_code == 404, path
        assert "kutschool" not in r.text and "Regenboog in Leiderdorp" not in r.text
    token = csrf(c, "/")
    r = c.post(f"/opvolging/{other}/actie", data={"act": "done", "note": "weg ermee", "csrf_token": token})
    assert r.status_code == 404
    r = c.post(f"/opvolging/{other}/labels", data={"sentiment": "positive", "harm": "none", "csrf_token": token})
    assert r.status_code == 404
    assert followup(cfg, other) == before
    assert pipeline.warehouse_for(cfg).query("SELECT count(*) FROM label_feedback")[0][0] == 0
    assert c.get(f"/opvolging/{ids['threat']}").status_code == 200


def test_analyst_sees_none_of_it(site) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, client = site
    c = client("dirk")
    for path in ("/", f"/opvolging/{ids['threat']}", f"/opvolging/{ids['threat']}/rapport"):
        r = c.get(path)
        assert r.status_code == 403 and "Geen toegang" in r.text and "opwachten" not in r.text


def test_actions_land_in_the_audit_trail_as_the_clis(site) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, client = site
    c = client("anna")
    mid = ids["negative"]
    token = csrf(c, f"/opvolging/{mid}")
    r = c.post(f"/opvolging/{mid}/actie", data={"act": "report_police", "note": "", "csrf_token": token})
    assert r.status_code == 400 and "toelichting is verplicht" in r.text
    assert followup(cfg, mid)["action"] == "in_real_life"
    r = c.post(
        f"/opvolging/{mid}/actie",
        data={"act": "report_police", "note": "Ouder dreigt ook per mail", "csrf_token": token},
    )
    assert r.status_code == 303
    f = followup(cfg, mid)
    assert (f["action"], f["status"], f["updated_by"], f["note"]) == (
        "report_police",
        "open",
        "anna",
        "Ouder dreigt ook per mail",
    )
    wh = pipeline.warehouse_for(cfg)
    ev = wh.query_dicts("SELECT * FROM followup_events WHERE mention_id = ? AND by_whom = 'anna'", [mid])
    assert [(e["field"], e["from_value"], e["to_value"], e["note"]) for e in ev] == [
        ("action", "in_real_life", "report_police", "Ouder dreigt ook per mail")
    ]
    page = c.get(f"/opvolging/{mid}").text
    assert "Opgeslagen: aangifte gedaan bij de politie." in page
    audit = page[page.index('id="audit"') :]
    assert "anna" in audit and "aangifte gedaan bij de politie" in audit and "Ouder dreigt ook per mail" in audit
    assert "report_police" not in audit and "in_real_life" not in audit  # Dutch, not the codes
    # the same trail the CLI shows
    from click.testing import CliRunner

    from edumon.cli import main
    from edumon.cli.cycle import to_toml

    path = cfg.warehouse.path + ".toml"
    open(path, "w", encoding="utf-8").write(to_toml(cfg))
    out = CliRunner().invoke(main, ["followups", "show", "--config", path, mid]).output
    assert re.search(r"anna\s+action\s+in_real_life -> report_police", out), out
    # dismissing as a false alarm: status through the protocol, the dismissal as a labelled example
    r = c.post(
        f"/opvolging/{mid}/actie",
        data={"act": "dismissed", "reason": "false_alarm", "note": "roosterklacht, geen dreiging", "csrf_token": token},
    )
    assert r.status_code == 303
    assert followup(cfg, mid)["status"] == "dismissed"
    fb = wh.query_dicts("SELECT * FROM label_feedback WHERE mention_id = ?", [mid])
    assert [(x["kind"], x["reason"], x["harm"], x["sentiment"], x["by_whom"]) for x in fb] == [
        ("dismissal", "false_alarm", "none", "neutral", "anna")
    ]


def test_label_correction_is_kept_as_feedback_and_audited(site) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, client = site
    c = client("bert")
    mid = ids["hostile"]
    token = csrf(c, f"/opvolging/{mid}")
    r = c.post(
        f"/opvolging/{mid}/labels",
        data={
            "sentiment": "negative",
            "harm": "threat",
            "harm_kind": "bedreigen",
            "note": "dit is een dreigement",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    wh = pipeline.warehouse_for(cfg)
    assert wh.query("SELECT harm, harm_kind FROM mentions WHERE mention_id = ?", [mid]) == [("threat", "bedreigen")]
    fb = wh.query_dicts("SELECT * FROM label_feedback WHERE mention_id = ?", [mid])
    assert [(x["kind"], x["harm"], x["harm_kind"], x["was_harm"], x["by_whom"], x["text"]) for x in fb] == [
        ("correction", "threat", "bedreigen", "insult", "bert", XSS_TEXT)
    ]
    ev = wh.query_dicts(
        "SELECT field, from_value, to_value FROM followup_events WHERE mention_id = ? "
        "AND by_whom = 'bert' ORDER BY field",
        [mid],
    )
    assert [(e["field"], e["from_value"], e["to_value"]) for e in ev] == [
        ("harm", "insult", "threat"),
        ("harm_kind", "kwetsen", "bedreigen"),
    ]
    page = c.get(f"/opvolging/{mid}").text
    assert "Label gecorrigeerd" in page and "Labelcorrecties" in page
    r = c.post(
        f"/opvolging/{mid}/labels",
        data={"sentiment": "negative", "harm": "threat", "harm_kind": "bedreigen", "csrf_token": token},
    )
    assert r.status_code == 400 and "Er verandert niets: dit zijn al de labels." in r.text


def test_filters_and_counts_match_the_digest(site) -> None:  # type: ignore[no-untyped-def]
    from digest.data import collect

    cfg, ids, client = site
    c = client("anna")
    page = c.get("/?period=1d&status=open").text
    digest = collect(cfg, pipeline.warehouse_for(cfg), now=datetime.now(timezone.utc))
    for sd in digest.schools:
        expected = len(sd.negatives) + sum(1 for h in sd.harm if h["followup_status"] == "open")
        m = re.search(rf'id="school-{sd.school.id}">\s*<h2>[^<]*\s*<small>open (\d+)', page)
        assert m and int(m.group(1)) == expected, (sd.school.id, expected)
    only = c.get("/?harm=threat&status=all").text
    assert re.findall(r'data-mention="([0-9a-f]+)"', only) == [ids["threat"]]
    assert re.findall(r'data-mention="([0-9a-f]+)"', c.get("/?source=mastodon").text) == [ids["hostile"]]
    regen = c.get("/?school=regenboog-leiderdorp").text
    assert re.findall(r'data-mention="([0-9a-f]+)"', regen) == [ids["insult"]]
    assert re.findall(r'data-mention="([0-9a-f]+)"', c.get("/?status=done").text) == []


def test_police_report_has_the_evidence(site) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, client = site
    c = client("bert")
    html = c.get(f"/opvolging/{ids['threat']}/rapport").text
    ev = pipeline.warehouse_for(cfg).query_dicts(
        "SELECT raw_sha256, source_id FROM evidence WHERE mention_id = ?", [ids["threat"]]
    )
    assert ev, "the protocol kept evidence of the threat"
    assert ev[0]["raw_sha256"] in html and "Ik ga je opwachten" in html and "Bewijs zoals opgehaald" in html
    assert "@media print" in c.get("/static/style.css").text


def test_a_session_signed_with_another_secret_is_not_a_login(site) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, client = site
    other = TestClient(
        create_app(cfg, "another-secret-another-secret-another"), base_url="http://127.0.0.1", follow_redirects=False
    )
    login(other, "anna", PASSWORDS["anna"])
    c = client()
    c.cookies.set("edumon_session", other.cookies.get("edumon_session"))
    assert c.get("/").headers["location"] == "/login"
    other.close()


def test_digest_and_alerts_link_to_the_page_when_public_url_is_set(make_config) -> None:  # type: ignore[no-untyped-def]
    from core.mention import Mention
    from digest.data import collect
    from digest.render import to_html, to_text
    from protocol.alerts import mention_message

    cfg = make_config(users=users_for_tests(), web={"public_url": "https://review.example.nl/"})
    ids = seed(cfg)
    digest = collect(cfg, pipeline.warehouse_for(cfg), now=datetime.now(timezone.utc))
    for text in (to_text(digest), to_html(digest)):
        for name in ("threat", "insult", "negative", "hostile"):  # each follow-up links to its page
            assert f"https://review.example.nl/opvolging/{ids[name]}" in text, (name, text)
        assert "edumon followups show" not in text and "edumon evidence" not in text
    link = f"https://review.example.nl/opvolging/{ids['negative']}"
    threat = Mention(
        source="rss", source_id="x", text="Ik ga je opwachten bij het Ley College", school_ids=["ley-college"]
    )
    subject, body = mention_message(cfg, threat, "threat")
    assert f"https://review.example.nl/opvolging/{threat.mention_id}" in body and "followups show" not in body
    # the link opens that follow-up on the page
    app = create_app(cfg, SECRET)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as c:
        login(c, "anna", PASSWORDS["anna"])
        assert "rooster is chaos" in c.get(link.removeprefix("https://review.example.nl")).text
    # without public_url: the command, as before
    plain = make_config(users=users_for_tests())
    assert "edumon followups show" in mention_message(plain, threat, "threat")[1]


def users_for_tests() -> list[dict[str, Any]]:
    from tests.web_helpers import USERS

    return USERS


def test_combined_decision_needs_every_school_and_outvotes_none() -> None:
    from protocol.followups import combined_decision

    two = ["ley-college", "regenboog-leiderdorp"]
    fa = {"status": "dismissed", "reason": "false_alarm"}
    assert combined_decision(two, {"ley-college": fa}) is None  # the other school has not decided
    assert combined_decision(two, {"ley-college": fa, "regenboog-leiderdorp": fa}) == ("dismissed", "false_alarm")
    other = {"status": "dismissed", "reason": "not_about_us"}
    assert combined_decision(two, {"ley-college": fa, "regenboog-leiderdorp": other}) == ("dismissed", "other")
    done = {"status": "done", "reason": None}
    assert combined_decision(two, {"ley-college": fa, "regenboog-leiderdorp": done}) == ("done", None)


def test_two_schools_agreeing_on_a_false_alarm_make_one_training_label(site) -> None:  # type: ignore[no-untyped-def]
    from protocol.followups import create_followups
    from warehouse import save_labels, upsert_mentions

    cfg, ids, client = site
    now = datetime.now(timezone.utc)
    both = Mention(
        source="rss",
        source_id="beide-2",
        text="Ley College en De Regenboog in Leiderdorp: wat een idioten",
        fetched_at=now,
        school_ids=["ley-college", "regenboog-leiderdorp"],
        sentiment="negative",
        harm="insult",
        classifier="test",
    )
    wh = pipeline.warehouse_for(cfg)
    with wh.transaction() as con:
        upsert_mentions(con, [both])
        save_labels(con, [both])
        create_followups(con, [both], now)
    mid = both.mention_id
    for leader in ("bert", "carla"):
        c = client(leader)
        data = {
            "act": "dismissed",
            "reason": "false_alarm",
            "note": "citaat",
            "csrf_token": csrf(c, f"/opvolging/{mid}"),
        }
        assert c.post(f"/opvolging/{mid}/actie", data=data).status_code == 303
        labels = wh.query("SELECT kind, reason, harm FROM label_feedback WHERE mention_id = ?", [mid])
        assert labels == ([] if leader == "bert" else [("dismissal", "false_alarm", "none")])
    assert followup(cfg, mid)["status"] == "dismissed"
