"""The page's Dutch wording and its Jinja2 environment (labels come from core.vocabulary)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

from core.config import Config
from core.vocabulary import FOLLOWUP_STATUSES as STATUSES
from core.vocabulary import HARM_KINDS, HARM_NL, ROLE_NL, SENTIMENT_NL, SENTIMENTS, SOURCE_NL, SOURCES, STATUS_NL
from core.vocabulary import HARMS as LABEL_HARMS
from edumon.web.security import safe_url
from edumon.web.store import ACTS, PERIODS
from protocol.feedback import DISMISS_REASONS
from protocol.followups import ACTION_NL

HERE = Path(__file__).resolve().parent

FLAG_NL = {
    "media_consent": "toestemming beeld",
    "staff_disclosure": "medewerker online",
    "spike": "piek",
    "pile_on": "stapeling reacties",
}
ALERT_NL = {
    "threat": "bedreiging",
    "insult": "belediging",
    "spike": "piek",
    "pile_on": "stapeling reacties",
    "source_health": "bron storing",
}
PERIOD_NL = {"1d": "24 uur", "7d": "7 dagen", "30d": "30 dagen", "all": "alles"}
ACT_NL = {
    "note": "notitie toevoegen",
    "done": "afgehandeld",
    "dismissed": "vervallen",
    "correct_online": "feitelijke fout online corrigeren",
    "report_police": "aangifte bij de politie",
}
FIELD_NL = {
    "created": "aangemaakt",
    "action": "actie",
    "status": "status",
    "note": "notitie",
    "sentiment": "sentiment",
    "harm": "schade",
    "harm_kind": "soort schade",
}


def environment(cfg: Config) -> jinja2.Environment:
    """The templates, autoescaped, with the wording and the filters the pages use."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    tz = ZoneInfo(cfg.organisation.timezone)

    def when(dt: datetime | None) -> str:
        if dt is None:
            return "onbekend"
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(tz).strftime("%d-%m-%Y %H:%M")

    env.filters["when"] = when
    env.filters["safe_url"] = safe_url
    env.globals.update(
        ROLE_NL=ROLE_NL,
        FLAG_NL=FLAG_NL,
        ALERT_NL=ALERT_NL,
        PERIOD_NL=PERIOD_NL,
        SOURCE_NL=SOURCE_NL,
        ACT_NL=ACT_NL,
        FIELD_NL=FIELD_NL,
        ACTION_NL=ACTION_NL,
        STATUS_NL=STATUS_NL,
        SENTIMENT_NL=SENTIMENT_NL,
        HARM_NL=HARM_NL,
        DISMISS_REASONS=DISMISS_REASONS,
        STATUSES=STATUSES,
        SOURCES=SOURCES,
        PERIODS=list(PERIODS),
        ACTS=ACTS,
        SENTIMENTS=SENTIMENTS,
        LABEL_HARMS=LABEL_HARMS,
        HARM_KINDS=HARM_KINDS,
        organisation=cfg.organisation.name,
    )
    return env
