"""A small warehouse with known mentions and follow-ups for the analyst and retention tests."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.config import Config, parse_config
from core.mention import Mention
from warehouse import Warehouse, upsert_mentions

KEY_A = "test-key-a-0123456789abcdef"
KEY_B = "test-key-b-fedcba9876543210"


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


def make_config(tmp: Path, **retention: Any) -> Config:
    cfg = parse_config(
        {
            "organisation": {"name": "Edu-Ley", "timezone": "Europe/Amsterdam"},
            "schools": [
                {"id": "ley-college", "name": "Ley College"},
                {"id": "regenboog-leiderdorp", "name": "De Regenboog"},
            ],
            "warehouse": {"path": str(tmp / "edumon.duckdb"), "lock_timeout_s": 5.0},
            "retention": retention,
        },
        tmp / "config.toml",
    )
    return cfg


def write_config(tmp: Path, cfg_extra: str = "") -> Path:
    p = tmp / "config.toml"
    p.write_text(
        f"""
[organisation]
name = "Edu-Ley"
timezone = "Europe/Amsterdam"

[warehouse]
path = "{tmp / "edumon.duckdb"}"
lock_timeout_s = 5

[[schools]]
id = "ley-college"
name = "Ley College"

[[schools]]
id = "regenboog-leiderdorp"
name = "De Regenboog"
{cfg_extra}
""",
        encoding="utf-8",
    )
    return p


def bsky(
    handle: str,
    did: str,
    rkey: str,
    text: str,
    published: datetime,
    schools: list[str],
    sentiment: str,
    harm: str,
    **kw: Any,
) -> Mention:
    raw = json.dumps(
        {
            "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
            "author": {"handle": handle, "did": did, "displayName": kw.pop("display", handle)},
            "record": {"text": text},
        }
    )
    return Mention(
        source="bluesky",
        source_id=f"at://{did}/app.bsky.feed.post/{rkey}",
        text=text,
        url=f"https://bsky.app/profile/{handle}/post/{rkey}",
        author=handle,
        author_id=did,
        published_at=published,
        fetched_at=kw.pop("fetched", published),
        school_ids=schools,
        sentiment=sentiment,
        harm=harm,
        raw=raw,
        target="Ley College",
        **kw,
    )


def toot(
    acct: str,
    account_id: str,
    status: str,
    text: str,
    published: datetime,
    schools: list[str],
    sentiment: str,
    harm: str,
    **kw: Any,
) -> Mention:
    user, host = acct.split("@")
    raw = json.dumps(
        {
            "id": status,
            "account": {"acct": acct, "id": account_id, "url": f"https://{host}/@{user}"},
            "content": f"<p>{text}</p>",
        }
    )
    return Mention(
        source="mastodon",
        source_id=f"{host}:{status}",
        text=text,
        url=f"https://{host}/@{user}/{status}",
        author=acct,
        author_id=account_id,
        published_at=published,
        fetched_at=kw.pop("fetched", published),
        school_ids=schools,
        sentiment=sentiment,
        harm=harm,
        raw=raw,
        target="#leycollege",
        **kw,
    )


def article(
    url: str,
    title: str,
    text: str,
    published: datetime,
    schools: list[str],
    sentiment: str,
    harm: str = "none",
    author: str | None = "Redactie Leidsch Nieuws",
    **kw: Any,
) -> Mention:
    return Mention(
        source="rss",
        source_id=url,
        text=f"{title}\n{text}",
        title=title,
        url=url,
        author=author,
        published_at=published,
        fetched_at=kw.pop("fetched", published),
        school_ids=schools,
        sentiment=sentiment,
        harm=harm,
        raw=f"<item><title>{title}</title></item>",
        target="https://nieuws.example.nl/rss",
        **kw,
    )


# Every identity in the fixture: none of these may reach the pseudonymous view or the export.
HANDLES = [
    "jan.bsky.social",
    "did:plc:jan111",
    "anna.bsky.social",
    "did:plc:anna22",
    "marie.bsky.social",
    "did:plc:marie3",
    "Marie de Vries",
    "piet@mastodon.nl",
    "mastodon.nl/@piet",
    "@piet",
    "109876",
    "klaas@mastodon.social",
    "@klaas",
    "Redactie Leidsch Nieuws",
    "bsky.app/profile",
]


def view_mentions() -> list[Mention]:
    """Mentions for the views' numbers. Day boundaries in Europe/Amsterdam:
    23:30 UTC on 9 March is 00:30 on 10 March there (CET, +1); 22:30 UTC on
    1 July is 00:30 on 2 July (CEST, +2)."""
    return [
        # local 2026-03-10 00:30, but 2026-03-09 in UTC
        bsky(
            "jan.bsky.social",
            "did:plc:jan111",
            "3k1",
            "Ley College is een zooi, die docent is een sukkel",
            utc(2026, 3, 9, 23, 30),
            ["ley-college"],
            "negative",
            "insult",
            harm_kind="kwetsen",
            cues=["sukkel"],
            links=["https://bsky.app/profile/anna.bsky.social"],
        ),
        bsky(
            "jan.bsky.social",
            "did:plc:jan111",
            "3k2",
            "Weer uitval bij Ley College. groet, jan.bsky.social",
            utc(2026, 3, 10, 10, 0),
            ["ley-college"],
            "negative",
            "none",
            cues=["uitval"],
        ),
        bsky(
            "anna.bsky.social",
            "did:plc:anna22",
            "3k3",
            "Eens met @jan.bsky.social, Ley College roostert slecht",
            utc(2026, 3, 10, 12, 0),
            ["ley-college"],
            "negative",
            "none",
            cues=["slecht"],
            reply_to="at://did:plc:jan111/app.bsky.feed.post/3k2",
        ),
        # local 2026-03-10 23:59
        toot(
            "piet@mastodon.nl",
            "109876",
            "1111",
            "Ley College en De Regenboog samen op excursie, foto's via @klaas@mastodon.social "
            "https://mastodon.nl/@piet/1111/media",
            utc(2026, 3, 10, 22, 59),
            ["ley-college", "regenboog-leiderdorp"],
            "neutral",
            "none",
            has_media=True,
            media=[{"type": "image", "url": "https://files.mastodon.nl/piet/1.jpg", "description": "foto van piet"}],
        ),
        # local 2026-03-11 00:00 exactly
        article(
            "https://nieuws.example.nl/ley-college-wint",
            "Ley College wint debatwedstrijd",
            "Leerlingen van Ley College wonnen de landelijke finale.",
            utc(2026, 3, 10, 23, 0),
            ["ley-college"],
            "positive",
        ),
        # summer time: local 2026-07-02 00:30
        bsky(
            "marie.bsky.social",
            "did:plc:marie3",
            "3k9",
            "Ik weet waar die leraar van De Regenboog woont",
            utc(2026, 7, 1, 22, 30),
            ["regenboog-leiderdorp"],
            "negative",
            "threat",
            harm_kind="bedreigen",
            display="Marie de Vries",
        ),
    ]


# (day, school_id, source, sentiment, harm) -> n, worked out by hand from `view_mentions`
EXPECTED_DAILY = {
    ("2026-03-10", "ley-college", "bluesky", "negative", "insult"): 1,
    ("2026-03-10", "ley-college", "bluesky", "negative", "none"): 2,
    ("2026-03-10", "ley-college", "mastodon", "neutral", "none"): 1,
    ("2026-03-10", "regenboog-leiderdorp", "mastodon", "neutral", "none"): 1,
    ("2026-03-11", "ley-college", "rss", "positive", "none"): 1,
    ("2026-07-02", "regenboog-leiderdorp", "bluesky", "negative", "threat"): 1,
}


def add_followup(
    con: Any,
    mention_id: str,
    schools: list[str],
    action: str,
    status: str,
    created: datetime,
    updated: datetime | None = None,
) -> None:
    con.execute(
        "INSERT INTO followups VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [mention_id, schools, action, status, "notitie", created, updated or created, "comms@edu-ley.nl"],
    )


def build_view_warehouse(tmp: Path) -> tuple[Config, list[Mention]]:
    """The fixture warehouse: the mentions above plus three follow-ups."""
    cfg = make_config(tmp)
    wh = Warehouse(cfg.warehouse.path)
    ms = view_mentions()
    with wh.transaction() as con:
        res = upsert_mentions(con, ms)
        assert res.inserted == len(ms)
        # in_real_life, closed after 24 h, in the week of Monday 9 March
        add_followup(
            con,
            ms[0].mention_id,
            ["ley-college"],
            "in_real_life",
            "done",
            utc(2026, 3, 10, 9, 0),
            utc(2026, 3, 11, 9, 0),
        )
        # report_police, still open: Sunday 15 March 23:30 UTC is Monday 16 March 00:30 local (next week)
        add_followup(con, ms[1].mention_id, ["ley-college"], "report_police", "open", utc(2026, 3, 15, 23, 30))
        # in_real_life for two schools, dismissed a week later (168 h)
        add_followup(
            con,
            ms[3].mention_id,
            ["ley-college", "regenboog-leiderdorp"],
            "in_real_life",
            "dismissed",
            utc(2026, 3, 10, 12, 0),
            utc(2026, 3, 17, 12, 0),
        )
    return cfg, ms
