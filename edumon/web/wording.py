"""The page's Dutch wording and its Jinja2 environment (labels come from core.vocabulary)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from core.config import Config
from core.vocabulary import FOLLOWUP_STATUSES as STATUSES
from core.vocabulary import HARM_KINDS, HARM_NL, ROLE_NL, SENTIMENT_NL, SENTIMENTS, SOURCE_NL, SOURCES, STATUS_NL
from core.vocabulary import HARMS as LABEL_HARMS
from edumon.web.security import safe_url
from edumon.web.store import ACTS, PERIODS
from protocol.feedback import DISMISS_REASONS
from protocol.followups import ACTION_NL, SYSTEM

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
    "report_police": "aangifte gedaan bij de politie",
}
# A follow-up's action as set by staff says what was done; as set by the protocol it is advice.
ACTION_DONE_NL = {
    "in_real_life": "in gesprek gegaan (in real life)",
    "report_police": "aangifte gedaan bij de politie",
    "correct_online": "feitelijke fout online gecorrigeerd",
}
DELIVERY_NL = {"sent": "verzonden", "failed": "mislukt", "pending": "nog niet verzonden"}
CHANNEL_NL = {"webhook": "webhook", "email": "e-mail"}
REASON_NL = {"threat": "bedreiging", "insult": "belediging", "negative": "negatief bericht"}
ERROR_NL = {  # the protocol's English errors (shared with the CLI) as the page says them
    "nothing to change": "Er verandert niets: dit zijn al de labels.",
    "harm 'none' has no harm kind": "Bij 'geen schade' hoort geen soort schade.",
    "unknown": "Deze keuze bestaat niet.",
}
BUSY_NL = (
    "De database is even bezig (een monitoringsronde). Er is niets opgeslagen; uw invoer staat er nog. "
    "Probeer het over een minuut opnieuw."
)
FIELD_NL = {
    "created": "aangemaakt",
    "action": "actie",
    "status": "status",
    "note": "notitie",
    "sentiment": "sentiment",
    "harm": "schade",
    "harm_kind": "soort schade",
}


# Bidi overrides, embeddings, isolates and marks: shown as visible escapes, as in the terminal, so
# "boze ouder \u202egnp.exe" cannot read as "exe.png".
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def show_controls(value: Any) -> Any:
    """Every value a template prints: bidi control characters become visible `\\u202e` escapes."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _BIDI.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    return value


def value_nl(field: str, value: str | None, by: str | None = None) -> str:
    """An audit trail value in Dutch (the codes of actions, statuses and labels); an action that a
    staff member (`by`) set says what was done."""
    if value is None:
        return ""
    field = field.split(":")[0]  # "status:<school>": one school's own decision
    if field == "action" and by and by != SYSTEM:
        return ACTION_DONE_NL.get(value, value)
    table = {"action": ACTION_NL, "created": ACTION_NL, "status": STATUS_NL, "sentiment": SENTIMENT_NL}
    return str({**table, "harm": HARM_NL}.get(field, {}).get(value, value))


def note_nl(note: str | None) -> str:
    """An audit note in Dutch: the protocol's "automatisch: threat" becomes "automatisch: bedreiging"."""
    if not note:
        return ""
    m = re.fullmatch(r"automatisch: (\w+)", note)
    return f"automatisch: {REASON_NL.get(m.group(1), m.group(1))}" if m else note


def who_nl(by: str | None) -> str:
    return "edumon (automatisch)" if by == SYSTEM else (by or "")


def action_nl(action: str | None, set_by: str | None) -> str:
    """What the follow-up's action says: advice when the protocol set it, what was done when staff did."""
    if not action:
        return ""
    if set_by and set_by != SYSTEM:
        return ACTION_DONE_NL.get(action, action)
    return "advies: " + ACTION_NL.get(action, action)


def error_nl(message: str) -> str:
    """A protocol error in Dutch (the known ones; others are named as not possible)."""
    for start, dutch in ERROR_NL.items():
        if message.startswith(start):
            return dutch
    return "Deze wijziging past niet bij de opvolging."


def environment(cfg: Config) -> jinja2.Environment:
    """The templates, autoescaped, with the wording and the filters the pages use."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=show_controls,
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
    env.filters["note_nl"] = note_nl
    env.filters["who_nl"] = who_nl
    env.globals.update(value_nl=value_nl, action_nl=action_nl)
    env.globals.update(
        ROLE_NL=ROLE_NL,
        FLAG_NL=FLAG_NL,
        ALERT_NL=ALERT_NL,
        PERIOD_NL=PERIOD_NL,
        SOURCE_NL=SOURCE_NL,
        ACT_NL=ACT_NL,
        DELIVERY_NL=DELIVERY_NL,
        CHANNEL_NL=CHANNEL_NL,
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
