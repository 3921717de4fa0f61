"""Regenerate demo/sources/bluesky.json and demo/sources/mastodon.json (sample posts in the
shape the APIs return them).  The fakes shift the timestamps to "now" when they serve them.

    .venv/bin/python demo/make_social_sources.py
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fakes.bluesky import FakeBluesky
from fakes.mastodon import FakeMastodon

OUT = Path(__file__).resolve().parent / "sources"
T0 = datetime(2026, 11, 20, 7, 30, tzinfo=timezone.utc)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def bluesky() -> list[dict]:
    f = FakeBluesky()
    f.add_post(
        "trotsemoeder.bsky.social",
        "Wat een prachtige musical van groep 8 van Basisschool De Regenboog in "
        "Leiderdorp gisteravond! Trots op alle kinderen en de juffen 👏🎭",
        at(0),
        likes=23,
        reposts=2,
    )
    f.add_post(
        "leidschnieuws.bsky.social",
        "Leerlingen van het Ley College winnen de regionale debatwedstrijd 🏆",
        at(2),
        links=["https://www.leidschnieuws.example.nl/leiderdorp/ley-college-debat"],
        likes=41,
        reposts=9,
    )
    uitval = f.add_post(
        "vaderjeroen.bsky.social",
        "Alweer drie uur uitval op het Ley College deze week. Mijn zoon zit "
        "de helft van de tijd in de aula te wachten. Dit kan echt niet zo doorgaan.",
        at(5),
        likes=12,
        replies=3,
    )
    f.add_post(
        "ouder-van-twee.bsky.social",
        "Herkenbaar. Bij ons op het Ley College is het rooster ook een chaos, "
        "niemand van de schoolleiding reageert op mails.",
        at(5.5),
        reply_to=uitval["uri"],
        likes=4,
    )
    f.add_post(
        "buurtbewoner.bsky.social",
        "Levensgevaarlijk elke ochtend bij De Regenboog in Leiderdorp: auto's "
        "op de stoep, kinderen die tussen de bumpers door moeten. Wanneer grijpt de gemeente in? 😠",
        at(8),
        images=["Auto's dubbel geparkeerd voor de ingang van de school"],
        likes=17,
    )
    _bluesky_harm(f)
    return f.posts


def _bluesky_harm(f: FakeBluesky) -> None:
    """The demo's insults and threats, and what follows them."""
    f.add_post(
        "anoniem-1234.bsky.social",
        "Die wiskundeleraar van het Rijnland Lyceum Ley is echt een sukkel, "
        "een complete idioot die zelf niks van de stof snapt.",
        at(20),
    )
    f.add_post(
        "boze-ouder-ldp.bsky.social",
        "Als die conrector van het Ley College mijn dochter nog één keer schorst "
        "dan weet ik hem te vinden. Ik weet waar hij woont en ik ga hem opwachten na school.",
        at(26),
    )
    f.add_post(
        "rijnlandlyceumley.bsky.social",
        "Open dag Rijnland Lyceum Ley op zaterdag 17 januari van 10.00 tot 14.00 uur. Iedereen welkom! 🎓",
        at(30),
        links=["https://www.rijnlandlyceumley.example.nl/open-dag"],
        images=["Leerlingen in het scheikundelokaal"],
        likes=8,
    )
    f.add_post(
        "sportclub-ley.bsky.social",
        "Zaterdag de Ley-loop: teams van het Ley College en het Rijnland Lyceum Ley lopen samen voor KiKa 🏃‍♀️🏃",
        at(44),
        likes=15,
        reposts=6,
    )
    f.add_post(
        "oud-leerling.bsky.social",
        "20 jaar geleden eindexamen gedaan, zaterdag reünie! Wie komt er ook? #LeyCollege #reünie",
        at(47),
        likes=6,
    )
    f.add_post(
        "exchange-kate.bsky.social",
        "Visited Ley College in Leiderdorp this week for our exchange. Lovely students and teachers!",
        at(50),
        langs=["en"],
        likes=3,
    )
    f.add_post(
        "zwolle-nieuws.bsky.social",
        "Basisschool De Regenboog in Zwolle viert het 50-jarig bestaan met een groot feest op het schoolplein 🎉",
        at(60),
        likes=5,
    )
    f.add_post(
        "muziekliefhebber.bsky.social", "Gisteren concert in De Regenboog in Amsterdam, wat een sfeer!", at(70), likes=2
    )
    f.add_post(
        "vaderjeroen.bsky.social",
        "Update: na een goed gesprek met de mentor op het Ley College is er nu "
        "een plan voor de uitvaluren. Fijn dat er geluisterd wordt 👍",
        at(96),
        likes=9,
    )


def tag(domain: str, name: str) -> str:
    """A hashtag link as Mastodon renders it in a status's HTML."""
    return f'<a href="https://{domain}/tags/{name.lower()}" class="mention hashtag" rel="tag">#<span>{name}</span></a>'


def mastodon() -> dict:
    nl = FakeMastodon("mastodon.nl", tokens={"demo-mastodon-token"})
    soc = FakeMastodon("mastodon.social")

    open_dag = nl.add_status(
        "juf_anna",
        f"<p>Vandaag open dag op het Ley College 🎉 Meer dan 300 bezoekers! {tag('mastodon.nl', 'LeyCollege')} "
        f'{tag("mastodon.nl", "Leiderdorp")}</p><p>Foto\'s: <a href="https://www.leycollege.example.nl/nieuws/open-dag" '
        'rel="nofollow noopener noreferrer" target="_blank"><span class="invisible">https://www.</span>'
        '<span class="ellipsis">leycollege.example.nl/nieuws/op</span><span class="invisible">en-dag</span></a></p>',
        at(1),
        tags=["LeyCollege", "Leiderdorp"],
        media=["Bezoekers in de aula van het Ley College"],
        favourites=14,
        reblogs=4,
    )
    nl.add_boost("ouder_piet", open_dag, at(3))
    klacht = nl.add_status(
        "ouder_kees",
        f"<p>Is het nou zo moeilijk om het rooster op tijd te publiceren? Dit is de derde keer dit jaar "
        f"dat {tag('mastodon.nl', 'LeyCollege')} pas op zondagavond laat weten dat er lessen uitvallen 😤</p>",
        at(6),
        tags=["LeyCollege"],
        replies=2,
    )
    nl.add_status(
        "ouder_mirjam",
        '<p><span class="h-card"><a href="https://mastodon.nl/@ouder_kees" '
        'class="u-url mention">@<span>ouder_kees</span></a></span> Precies dit. En dan wordt er ook '
        "nog gezegd dat wij ouders niet flexibel zijn.</p>",
        at(6.5),
        in_reply_to_id=klacht["id"],
        tags=["LeyCollege"],
    )
    nl.add_status(
        "gemeente_watcher",
        f"<p>Verkeersonveilige situatie bij De Regenboog in Leiderdorp blijft een "
        f"probleem, de gemeenteraad praat er donderdag over. {tag('mastodon.nl', 'Leiderdorp')}</p>",
        at(9),
        tags=["Leiderdorp"],
    )
    nl.add_status(
        "trol_42",
        f"<p>Het Ley College is een school vol sukkels en die directeur is een zielige "
        f"loser. {tag('mastodon.nl', 'LeyCollege')}</p>",
        at(22),
        tags=["LeyCollege"],
    )
    nl.add_status(
        "wraakzucht",
        f"<p>Morgen sta ik bij het Ley College en ik ga die mentor slaan. "
        f"Let maar op. {tag('mastodon.nl', 'LeyCollege')}</p>",
        at(27),
        tags=["LeyCollege"],
    )
    nl.add_status(
        "leiderdorp_nieuws",
        f"<p>Braderie op de Winkelhof zaterdag, met kraampjes en muziek {tag('mastodon.nl', 'Leiderdorp')} 🎶</p>",
        at(40),
        tags=["Leiderdorp"],
    )
    nl.add_status(
        "rll_sectie_bio",
        "<p>Onze leerlingen van het Rijnland Lyceum Ley deden mee aan de "
        "Biologie Olympiade, twee van hen door naar de finale! 🧬🔬</p>",
        at(48),
        favourites=11,
    )

    _mastodon_social(soc, open_dag)
    return _instances(nl, soc)


def _mastodon_social(soc: FakeMastodon, open_dag: dict) -> None:
    """mastodon.social: a federated copy of the open-day status (same uri) and local posts."""
    soc.add_status(
        "juf_anna@mastodon.nl",
        open_dag["content"],
        at(1) + timedelta(seconds=4),
        tags=["LeyCollege", "Leiderdorp"],
        uri=open_dag["uri"],
        url=open_dag["url"],
        media=["Bezoekers in de aula van het Ley College"],
        favourites=14,
        reblogs=4,
    )
    soc.add_status(
        "docent_rob",
        f"<p>Werkdruk in het {tag('mastodon.social', 'onderwijs')} blijft hoog, ook bij ons "
        f"op het Rijnland Lyceum Ley: klassen van 32 zijn geen uitzondering.</p>",
        at(30),
        tags=["onderwijs"],
    )
    soc.add_status(
        "edu_blogger",
        f"<p>Mooi initiatief van Basisschool De Regenboog in Leiderdorp: elke vrijdag "
        f"samen lezen met opa's en oma's 📚 {tag('mastodon.social', 'onderwijs')}</p>",
        at(52),
        tags=["onderwijs"],
        favourites=7,
    )
    soc.add_status(
        "reiziger",
        f"<p>Prachtige regenboog boven de Ley vanavond 🌈 {tag('mastodon.social', 'Leiderdorp')}</p>",
        at(55),
        tags=["Leiderdorp"],
    )


def _instances(nl: FakeMastodon, soc: FakeMastodon) -> dict:
    """The demo file: each instance with the hashtags the demo config follows and its statuses."""
    return {
        "instances": [
            {
                "domain": "mastodon.nl",
                "token": "demo-mastodon-token",
                "hashtags": ["LeyCollege", "Leiderdorp"],
                "statuses": nl.statuses,
            },
            {"domain": "mastodon.social", "hashtags": ["onderwijs", "Leiderdorp"], "statuses": soc.statuses},
        ]
    }


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    (OUT / "bluesky.json").write_text(
        json.dumps({"posts": bluesky()}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    (OUT / "mastodon.json").write_text(json.dumps(mastodon(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("wrote", OUT / "bluesky.json", "and", OUT / "mastodon.json")
