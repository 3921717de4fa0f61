"""The protocol's rules as plain functions, and escalation and flags on synthetic histories."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from protocol_env import Hook, make_config

from core.config import ConfigError, EscalationConfig, load_config, parse_config
from core.mention import Mention
from fakes.server import FakeServer
from protocol import act as _act
from protocol.alerts import alert_kind, route, severity, webhook_payload
from protocol.escalation import baseline_windows, is_spike, pileons, same_episode
from protocol.flags import media_consent, staff_disclosure
from protocol.followups import FollowupError, followup_for, plan_update
from warehouse import Warehouse, upsert_mentions

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 25, 14, 0, tzinfo=timezone.utc)  # a Wednesday, 15:00 in Amsterdam


def m(
    sid: str,
    text: str = "",
    *,
    schools=("ley-college",),
    sentiment="neutral",
    harm="none",
    harm_kind=None,
    t: datetime = NOW,
    reply_to=None,
    author=None,
    media=None,
    source="mastodon",
) -> Mention:
    return Mention(
        source=source,
        source_id=sid,
        text=text or f"bericht {sid} over het Ley College",
        url=f"https://social.example/{sid}",
        author=author,
        published_at=t,
        fetched_at=t,
        reply_to=reply_to,
        school_ids=list(schools),
        sentiment=sentiment,
        harm=harm,
        harm_kind=harm_kind,
        media=media or [],
        has_media=bool(media),
        cues=[],
        classifier="test/1",
    )


def act(cfg, wh, now):  # type: ignore[no-untyped-def]
    """The protocol's actions; every step must succeed in these tests."""
    out = _act(cfg, wh, now=now)
    assert out.errors == [] and out.failed == []
    return out


def store(cfg, mentions) -> None:
    with Warehouse(cfg.warehouse.path).transaction() as con:
        upsert_mentions(con, mentions)


# --- follow-ups -----------------------------------------------------------------------------------


def test_followup_rule() -> None:
    assert followup_for(m("a", sentiment="negative", harm="threat", harm_kind="bedreigen")) == "report_police"
    assert followup_for(m("b", sentiment="negative", harm="insult", harm_kind="stalken")) == "report_police"
    assert followup_for(m("c", sentiment="negative", harm="insult", harm_kind="kwetsen")) == "in_real_life"
    assert followup_for(m("d", sentiment="negative")) == "in_real_life"
    assert followup_for(m("e", sentiment="positive")) is None
    assert followup_for(m("f", sentiment="neutral")) is None


def test_followup_update_rules() -> None:
    cur = {"action": "in_real_life", "status": "open", "note": None}
    with pytest.raises(FollowupError, match="needs a --note"):
        plan_update(cur, status="done")
    with pytest.raises(FollowupError, match="needs a --note"):
        plan_update(cur, action="correct_online")
    with pytest.raises(FollowupError, match="unknown action"):
        plan_update(cur, action="reply_online", note="x")
    with pytest.raises(FollowupError, match="nothing to change"):
        plan_update(cur, status="open")
    changes = plan_update(cur, action="correct_online", status="done", note="Datum in artikel gecorrigeerd")
    assert [(c.field, c.from_value, c.to_value) for c in changes] == [
        ("action", "in_real_life", "correct_online"),
        ("status", "open", "done"),
    ]
    assert [(c.field, c.to_value) for c in plan_update(cur, note="Ouders gebeld")] == [("note", "Ouders gebeld")]


# --- alert routing ---------------------------------------------------------------------------------


def test_routing(tmp_path) -> None:
    cfg = make_config(tmp_path / "w.duckdb", None, smtp_port=2525)
    cfg.alerts.webhook_url = "https://hooks.example/x"
    threat = m("a", sentiment="negative", harm="threat", schools=("ley-college", "regenboog"))
    assert alert_kind(threat) == "threat" and severity("threat") == "urgent" and severity("insult") == "normal"
    assert [(t.channel, t.recipient) for t in route(cfg, threat)] == [
        ("email", "leiding@leycollege.example.nl"),
        ("email", "directie@regenboog.example.nl"),
        ("webhook", "alerts.webhook_url"),
        ("email", "veiligheid@edu-ley.example.nl"),
    ]
    assert route(cfg, m("b", sentiment="negative")) == []
    cfg.alerts.smtp.host = None  # no SMTP: e-mail channels are off
    assert [t.channel for t in route(cfg, threat)] == ["webhook"]


def test_webhook_payloads() -> None:
    alert = {
        "alert_id": "a1",
        "kind": "threat",
        "severity": "urgent",
        "subject": "[SPOED] Mogelijke bedreiging",
        "body": "Wat: <b>x</b> & y\nWaar: https://x.example/1",
        "link": "https://x.example/1",
        "mention_id": "m1",
        "school_id": "ley-college",
        "ref": "m1",
    }
    j = webhook_payload("json", alert)
    assert j["title"] == alert["subject"] and j["school_ids"] == ["ley-college"] and j["severity"] == "urgent"
    teams = webhook_payload("teams", alert)
    card = teams["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard" and card["content"]["actions"][0]["url"] == alert["link"]
    slack = webhook_payload("slack", alert)
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in slack["text"] and slack["blocks"][0]["type"] == "header"


def test_config_keys(tmp_path) -> None:
    cfg = load_config(REPO / "config" / "example.toml")
    assert cfg.alerts.smtp.port and cfg.digest.recipients and cfg.staff and cfg.escalation.window_hours > 0
    base = {"organisation": {"name": "x"}, "schools": [{"id": "a", "name": "A"}]}
    with pytest.raises(ConfigError, match=r"^alerts.webhook_format: expected json, teams or slack"):
        parse_config({**base, "alerts": {"webhook_format": "xml"}})
    with pytest.raises(ConfigError, match=r"^alerts.smtp.password: unknown key"):
        parse_config({**base, "alerts": {"smtp": {"password": "hunter2"}}})
    with pytest.raises(ConfigError, match=r"^staff\[0\].school: unknown school id 'b'"):
        parse_config({**base, "staff": [{"name": "J", "accounts": ["j"], "school": "b"}]})


# --- escalation ------------------------------------------------------------------------------------


def test_spike_rule() -> None:
    cfg = EscalationConfig(factor=3.0, min_negatives=5, min_baseline=1.0)
    assert is_spike(6, [1, 1, 1, 1], cfg)
    assert not is_spike(6, [3, 3, 2, 4], cfg)  # 6 < 3 x 3
    assert not is_spike(4, [0, 0, 0, 0], cfg)  # too few to matter
    assert is_spike(5, [0, 0, 0, 0], cfg)  # the baseline floor is 1
    assert pileons([("p", "a"), ("p", "b"), ("q", "c"), ("p", "a")], 2) == {"p": ["a", "b"]}
    assert same_episode(NOW - timedelta(hours=1), NOW, timedelta(hours=3))
    assert not same_episode(NOW - timedelta(hours=4), NOW, timedelta(hours=3))


def test_baseline_is_same_local_weekday_and_hour_across_dst() -> None:
    # 28 Oct 2026 11:00 CET; the week before (21 Oct) 11:00 was CEST = 09:00 UTC
    now = datetime(2026, 10, 28, 10, 0, tzinfo=timezone.utc)
    windows = baseline_windows(now, 3, 2, "Europe/Amsterdam")
    assert windows[0] == (
        datetime(2026, 10, 21, 6, 0, tzinfo=timezone.utc),
        datetime(2026, 10, 21, 9, 0, tzinfo=timezone.utc),
    )
    assert windows[1][1] == datetime(2026, 10, 14, 9, 0, tzinfo=timezone.utc)


def _history(week_counts: dict[str, int], current: dict[str, int], now: datetime, tag: str) -> list[Mention]:
    out = []
    for school, n in week_counts.items():
        for k in range(1, 5):
            for i in range(n):
                out.append(
                    m(
                        f"{tag}-{school}-w{k}-{i}",
                        schools=(school,),
                        sentiment="negative",
                        t=now - timedelta(days=7 * k, minutes=30 + i),
                    )
                )
    for school, n in current.items():
        for i in range(n):
            out.append(
                m(
                    f"{tag}-{school}-now-{i}",
                    schools=(school,),
                    sentiment="negative",
                    t=now - timedelta(minutes=10 + 15 * i),
                )
            )
    return out


def test_spike_alerts_once_per_spike(tmp_path) -> None:
    with FakeServer() as srv:
        hook = Hook()
        srv.route("/hook", hook)
        cfg = make_config(tmp_path / "w.duckdb", None, escalation={"enabled": True})
        cfg.alerts.webhook_url = srv.url + "/hook"
        wh = Warehouse(cfg.warehouse.path)
        # Ley College: usually 1 negative at this hour, now 6 -> spike; De Regenboog: usually 3, now 6 -> not
        store(cfg, _history({"ley-college": 1, "regenboog": 3}, {"ley-college": 6, "regenboog": 6}, NOW, "a"))
        out = act(cfg, wh, now=NOW)
        assert [(e.kind, e.school_id, e.count, e.baseline) for e in out.escalations] == [
            ("spike", "ley-college", 6, 1.0)
        ]
        spikes = [p for p in hook.delivered if p["kind"] == "spike"]
        assert len(spikes) == 1 and "6 negatieve berichten" in spikes[0]["text"] and "Ley College" in spikes[0]["title"]
        assert spikes[0]["text"].count("https://social.example/a-ley-college-now-") == 6  # the mentions of the spike

        # still going an hour later (one more): the same spike, no second alert
        store(cfg, [m("a-ley-more", sentiment="negative", t=NOW + timedelta(minutes=50))])
        assert act(cfg, wh, now=NOW + timedelta(hours=1)).escalations == []
        assert wh.query("SELECT count(*), max(count) FROM escalations")[0] == (1, 7)
        assert act(cfg, wh, now=NOW + timedelta(hours=8)).escalations == []  # calm again

        # a new spike later that day is a new episode: alerted once more
        later = NOW + timedelta(hours=9)
        store(cfg, [m(f"b-{i}", sentiment="negative", t=later - timedelta(minutes=5 + 20 * i)) for i in range(6)])
        out = act(cfg, wh, now=later)
        assert len(out.escalations) == 1
        assert act(cfg, wh, now=later + timedelta(minutes=30)).escalations == []
        assert len([p for p in hook.delivered if p["kind"] == "spike"]) == 2
        assert wh.query("SELECT count(*) FROM alerts WHERE kind = 'spike'")[0][0] == 2


def test_pile_on_of_negative_replies_alerts_once(tmp_path) -> None:
    with FakeServer() as srv:
        hook = Hook()
        srv.route("/hook", hook)
        cfg = make_config(tmp_path / "w.duckdb", None, escalation={"enabled": True, "min_negatives": 50})
        cfg.alerts.webhook_url = srv.url + "/hook"
        wh = Warehouse(cfg.warehouse.path)
        parent = m(
            "https://social.example/@school/1",
            "Het Ley College start met een nieuw rooster",
            sentiment="neutral",
            t=NOW - timedelta(hours=5),
        )
        replies = [
            m(f"r{i}", sentiment="negative", reply_to=parent.source_id, t=NOW - timedelta(hours=4 - i * 0.5))
            for i in range(5)
        ]
        few = [
            m(f"q{i}", sentiment="negative", reply_to="https://social.example/@school/2", t=NOW - timedelta(hours=1))
            for i in range(4)
        ]
        store(cfg, [parent, *replies, *few])
        out = act(cfg, wh, now=NOW)
        assert [(e.kind, e.school_id, e.count) for e in out.escalations] == [("pile_on", "ley-college", 5)]
        piles = [p for p in hook.delivered if p["kind"] == "pile_on"]
        assert len(piles) == 1 and "5 negatieve reacties" in piles[0]["text"]
        assert piles[0]["link"] == parent.url
        store(cfg, [m("r9", sentiment="negative", reply_to=parent.source_id, t=NOW + timedelta(minutes=20))])
        assert act(cfg, wh, now=NOW + timedelta(minutes=30)).escalations == []
        assert len([p for p in hook.delivered if p["kind"] == "pile_on"]) == 1


# --- flags -----------------------------------------------------------------------------------------


def test_media_consent_rule() -> None:
    assert media_consent(m("a", media=[{"type": "image", "url": "https://x/1.jpg"}]))
    assert media_consent(m("b", media=[{"mime_type": "video/mp4"}]))
    assert media_consent(m("c", media=[{"type": "link_card"}])) is None
    assert media_consent(m("d")) is None
    assert media_consent(m("e", media=[{"type": "image"}], schools=())) is None


def test_staff_disclosure_rule(tmp_path) -> None:
    cfg = make_config(
        tmp_path / "w.duckdb",
        None,
        staff=[{"name": "Jan Jansen", "accounts": ["@jan@mastodon.nl"], "school": "ley-college"}],
    )
    bare = m("a", "Wat een mooie dag op het Ley College!", author="jan@mastodon.nl")
    flag = staff_disclosure(cfg, bare)
    assert flag and flag[0].name == "Jan Jansen" and "medewerker" in flag[1] and "persoonlijke mening" in flag[1]
    half = m("b", "Als medewerker van het Ley College: mooie dag!", author="@jan@mastodon.nl")
    assert (
        "medewerker" not in staff_disclosure(cfg, half)[1] and "persoonlijke mening" in staff_disclosure(cfg, half)[1]
    )
    ok = m("c", "Medewerker van het Ley College, persoonlijke mening: mooie dag!", author="jan@mastodon.nl")
    assert staff_disclosure(cfg, ok) is None
    assert staff_disclosure(cfg, m("d", "Mooie dag!", author="piet@mastodon.nl")) is None
    assert (
        staff_disclosure(cfg, m("e", "Mooi bij De Regenboog", author="jan@mastodon.nl", schools=("regenboog",))) is None
    )


def test_flags_through_the_cycle_go_to_the_leader_only(tmp_path) -> None:
    with FakeServer() as srv:
        leader, everyone = Hook(), Hook()
        srv.route("/leader", leader)
        srv.route("/all", everyone)
        cfg = make_config(
            tmp_path / "w.duckdb",
            None,
            staff=[{"name": "Jan Jansen", "accounts": ["jan@mastodon.nl"], "school": "ley-college"}],
        )
        cfg.school("ley-college").contacts.append(srv.url + "/leader")
        cfg.alerts.webhook_url = srv.url + "/all"
        wh = Warehouse(cfg.warehouse.path)
        now = datetime.now(timezone.utc)
        store(
            cfg,
            [
                m("s1", "Wat een mooie dag op het Ley College!", author="jan@mastodon.nl", sentiment="positive", t=now),
                m("p1", "Foto van de brugklas van het Ley College", media=[{"type": "image"}], t=now),
            ],
        )
        out = act(cfg, wh, now=now)
        flags = {
            (f["kind"], wh.query("SELECT source_id FROM mentions WHERE mention_id = ?", [f["mention_id"]])[0][0])
            for f in wh.query_dicts("SELECT * FROM flags")
        }
        assert flags == {("staff_disclosure", "s1"), ("media_consent", "p1")}
        assert [a["kind"] for a in out.raised] == ["staff_disclosure"]
        assert len(leader.delivered) == 1 and "Jan Jansen" in leader.delivered[0]["title"]
        assert everyone.calls == []  # not to the group-wide channel
        act(cfg, wh, now=now + timedelta(minutes=10))
        assert len(leader.calls) == 1 and wh.query("SELECT count(*) FROM flags")[0][0] == 2
