"""The digest as HTML (every piece of post text, author and link escaped) and as plain text, in Dutch."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

from core.vocabulary import SENTIMENT_NL, SOURCE_NL
from protocol.followups import ACTION_NL

from .chart import sparkline, svg_trend
from .data import Digest, SchoolDigest

DAYS_NL = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]
MONTHS_NL = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]
HARM_NL = {"threat": "mogelijke bedreiging", "insult": "belediging/pesten"}


def period_label(d: Digest) -> str:
    if d.day is not None:
        return f"{DAYS_NL[d.day.weekday()]} {d.day.day} {MONTHS_NL[d.day.month - 1]} {d.day.year}"
    return f"de 24 uur tot {d.end.astimezone(d.tz):%d-%m-%Y %H:%M}"


def subject(d: Digest, prefix: str) -> str:
    return f"{prefix} {d.organisation}: {period_label(d)}"


def _when(d: Digest, dt: datetime | None) -> str:
    return f"{dt.astimezone(d.tz):%d-%m %H:%M}" if dt else "?"


def safe_href(url: str | None) -> str | None:
    """Only http(s) links become links (no javascript: or data: URLs)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def _first_line(text: str | None, n: int = 240) -> str:
    t = " ".join((text or "").split())
    return t if len(t) <= n else t[: n - 1] + "…"


# --- HTML ------------------------------------------------------------------------------------------

CSS = """body{font-family:Arial,Helvetica,sans-serif;color:#222;max-width:760px;margin:0 auto;padding:12px}
h1{font-size:20px}h2{font-size:17px;border-bottom:2px solid #2c3e50;padding-bottom:2px;margin-top:28px}
h3{font-size:14px;margin:14px 0 4px}ul{padding-left:18px}li{margin:4px 0}.muted{color:#777;font-size:12px}
.neg{color:#c0392b}.pos{color:#27ae60}.harm{background:#fdecea;padding:2px 4px}
table.counts td,table.counts th{padding:2px 8px;text-align:left;font-size:13px}"""


def _followup_html(d: Digest, mention_id: str) -> str:
    """A link to the follow-up on the review page (web.public_url), else the command that shows it."""
    url = d.followup_url(mention_id)
    if url:
        return f'<a href="{escape(url)}">opvolging vastleggen</a>'
    return f"<code>edumon followups show {escape(mention_id[:12])}</code>"


def _followup_text(d: Digest, mention_id: str) -> str:
    url = d.followup_url(mention_id)
    return f"opvolging vastleggen: {url}" if url else f"edumon followups show {mention_id[:12]}"


def _item_html(d: Digest, r: dict[str, Any], extra: str = "") -> str:
    href = safe_href(r.get("url"))
    text = escape(_first_line(r.get("text")))
    body = f'<a href="{escape(href, quote=True)}">{text}</a>' if href else text
    author = f" · {escape(r['author'])}" if r.get("author") else ""
    src = escape(SOURCE_NL.get(r.get("source") or "", r.get("source") or ""))
    return (
        f'<li>{body}<br><span class="muted">{src}{author} · {_when(d, r.get("published_at") or r.get("fetched_at"))}'
        f"{extra}</span></li>"
    )


def why(r: dict[str, Any]) -> str:
    """Why a post is listed, in Dutch: triage's reason, else the words the rules found (never 'model:threat 0.08')."""
    if r.get("triage_reason"):
        return str(r["triage_reason"])
    words = [c for c in r.get("cues") or [] if not c.startswith("model:")]
    return ("herkend aan: " + ", ".join(f'"{c}"' for c in words)) if words else ""


REVIEW_INTRO = (
    "Het model twijfelt over deze berichten: bevestig ze (de schoolleiding krijgt dan direct een melding) "
    "of wijs ze af op de reviewpagina, onder Te beoordelen."
)


def _review_html(d: Digest, s: SchoolDigest) -> list[str]:
    if not s.review:
        return []
    out = [f"<h3>Te beoordelen ({len(s.review)})</h3>", f'<p class="muted">{escape(REVIEW_INTRO)}</p><ul>']
    for r in s.review:
        out.append(_item_html(d, r, f" · {escape(r['triage_reason'])}"))
    out.append("</ul>")
    return out


def _review_text(d: Digest, s: SchoolDigest) -> list[str]:
    if not s.review:
        return []
    out = [f"Te beoordelen ({len(s.review)}): {REVIEW_INTRO}"]
    for r in s.review:
        out += _item_text(d, r, f" · {r['triage_reason']}")
    return out


def _school_html(d: Digest, s: SchoolDigest) -> str:
    c = s.counts
    out = [f"<h2>{escape(s.school.name)}</h2>"]
    sources = ", ".join(f"{escape(SOURCE_NL.get(k, k))} {v}" for k, v in s.by_source.items()) or "geen"
    out.append(
        '<table class="counts"><tr><th>Berichten</th><th class="neg">negatief</th><th>neutraal</th>'
        f'<th class="pos">positief</th><th>per bron</th></tr><tr><td>{s.total}</td>'
        f'<td class="neg">{c.get("negative", 0)}</td><td>{c.get("neutral", 0)}</td>'
        f'<td class="pos">{c.get("positive", 0)}</td><td>{sources}</td></tr></table>'
    )
    out.append(svg_trend(s.trend, f"Trend {len(s.trend)} dagen {s.school.name}: berichten per dag"))
    out.append(
        f'<p class="muted">Laatste {len(s.trend)} dagen: <span class="neg">negatief</span>, '
        'neutraal, <span class="pos">positief</span> per dag.</p>'
    )
    if s.harm:
        out.append("<h3>Bedreiging en pesten</h3><ul>")
        for r in s.harm:
            cues = f" · waarom: {escape(why(r))}" if why(r) else ""
            action = f" · actie: {escape(ACTION_NL.get(r['action'], r['action']))}" if r.get("action") else ""
            out.append(
                _item_html(
                    d,
                    r,
                    f' · <span class="harm">{escape(HARM_NL.get(r["harm"], r["harm"]))}</span>'
                    f"{cues}{action} · "
                    + (
                        _followup_html(d, r["mention_id"])
                        if d.page_url
                        else f"bewijs: <code>edumon evidence {escape(r['mention_id'][:12])}</code>"
                    ),
                )
            )
        out.append("</ul>")
    out += _review_html(d, s)
    out.append("<h3>Negatief: in gesprek gaan (opvolging nodig)</h3>")
    if s.negatives:
        out.append("<ul>")
        for r in s.negatives:
            out.append(
                _item_html(
                    d,
                    r,
                    f" · actie: {escape(ACTION_NL.get(r['action'], r['action']))} · {_followup_html(d, r['mention_id'])}",
                )
            )
        out.append("</ul>")
    else:
        out.append('<p class="muted">Geen nieuwe negatieve berichten die opvolging nodig hebben.</p>')
    if s.open_older:
        out.append(
            f"<p>Nog open van eerder: {s.open_older} opvolging(en) "
            f"(<code>edumon followups list --school {escape(s.school.id)} --status open</code>).</p>"
        )
    if s.media:
        out.append("<h3>Beeldmateriaal: toestemming controleren</h3><ul>")
        for r in s.media:
            out.append(_item_html(d, r, f" · {escape(r['detail'])}"))
        out.append("</ul>")
    out.append("<h3>Positief: de moeite waard om te delen</h3>")
    if s.highlights:
        out.append("<ul>" + "".join(_item_html(d, r) for r in s.highlights) + "</ul>")
    else:
        out.append('<p class="muted">Geen positieve berichten in deze periode.</p>')
    return "\n".join(out)


def to_html(d: Digest, title_prefix: str = "Dagoverzicht") -> str:
    title = escape(subject(d, title_prefix))
    out = [
        "<!DOCTYPE html>",
        '<html lang="nl"><head><meta charset="utf-8">',
        f"<title>{title}</title><style>{CSS}</style></head><body>",
        f"<h1>{title}</h1>",
        f"<p>{d.total} berichten over de scholen in {escape(period_label(d))}. "
        "Negatieve berichten beantwoorden we niet online maar in een gesprek (in real life), "
        "behalve om een feitelijke onjuistheid recht te zetten.</p>",
    ]
    for s in d.schools:
        out.append(_school_html(d, s))
    out.append("<h2>Bronnen</h2>")
    if d.sources:
        out.append("<ul>")
        for p in d.sources:
            what = "faalde" + (f" {p.count}×" if p.count else "") if p.problem == "failed" else "stil"
            out.append(
                f"<li><strong>{escape(SOURCE_NL.get(p.source, p.source))}</strong> "
                f"{escape(p.target)}: {escape(what)}: {escape(p.detail)}"
                f'<span class="muted"> (laatst {_when(d, p.last_at)})</span></li>'
            )
        out.append("</ul>")
    else:
        out.append('<p class="muted">Alle bronnen werkten.</p>')
    out.append(f'<p class="muted">Gemaakt door edumon op {_when(d, d.end)}.</p></body></html>')
    return "\n".join(out) + "\n"


# --- text ------------------------------------------------------------------------------------------


def _item_text(d: Digest, r: dict[str, Any], extra: str = "") -> list[str]:
    author = f" · {r['author']}" if r.get("author") else ""
    src = SOURCE_NL.get(r.get("source") or "", r.get("source") or "")
    lines = [
        f"  - {_first_line(r.get('text'), 160)}",
        f"    {src}{author} · {_when(d, r.get('published_at') or r.get('fetched_at'))}{extra}",
    ]
    if r.get("url"):
        lines.append(f"    {r['url']}")
    return lines


def to_text(d: Digest, title_prefix: str = "Dagoverzicht") -> str:
    out = [subject(d, title_prefix), "=" * 60, f"{d.total} berichten over de scholen in {period_label(d)}.", ""]
    for s in d.schools:
        c = s.counts
        out += [
            s.school.name,
            "-" * len(s.school.name),
            f"Berichten: {s.total} (negatief {c.get('negative', 0)}, neutraal {c.get('neutral', 0)}, "
            f"positief {c.get('positive', 0)})",
            "Per bron: " + (", ".join(f"{SOURCE_NL.get(k, k)} {v}" for k, v in s.by_source.items()) or "geen"),
            f"Trend {len(s.trend)} dagen ({s.trend[0].day:%d-%m} t/m {s.trend[-1].day:%d-%m}):",
            f"  alle      |{sparkline([t.total for t in s.trend])}| " + " ".join(str(t.total) for t in s.trend),
            f"  {SENTIMENT_NL['negative']:<9} |{sparkline([t.negative for t in s.trend])}| "
            + " ".join(str(t.negative) for t in s.trend),
        ]
        if s.harm:
            out.append("Bedreiging en pesten:")
            for r in s.harm:
                cues = f" · waarom: {why(r)}" if why(r) else ""
                action = f" · actie: {ACTION_NL.get(r['action'], r['action'])}" if r.get("action") else ""
                out += _item_text(
                    d,
                    r,
                    f" · {HARM_NL.get(r['harm'], r['harm'])}{cues}{action}"
                    " · "
                    + (
                        _followup_text(d, r["mention_id"])
                        if d.page_url
                        else f"bewijs: edumon evidence {r['mention_id'][:12]}"
                    ),
                )
        out += _review_text(d, s)
        out.append(
            "Negatief, opvolging nodig (in gesprek gaan):"
            if s.negatives
            else "Negatief: geen nieuwe berichten die opvolging nodig hebben."
        )
        for r in s.negatives:
            out += _item_text(
                d,
                r,
                f" · actie: {ACTION_NL.get(r['action'], r['action'])} · {_followup_text(d, r['mention_id'])}",
            )
        if s.open_older:
            out.append(f"Nog open van eerder: {s.open_older} opvolging(en).")
        if s.media:
            out.append("Beeldmateriaal, toestemming controleren:")
            for r in s.media:
                out += _item_text(d, r, f" · {r['detail']}")
        out.append("Positief, de moeite waard om te delen:" if s.highlights else "Positief: geen berichten.")
        for r in s.highlights:
            out += _item_text(d, r)
        out.append("")
    out.append("Bronnen:")
    if not d.sources:
        out.append("  Alle bronnen werkten.")
    for p in d.sources:
        what = "faalde" + (f" {p.count}x" if p.count else "") if p.problem == "failed" else "stil"
        out.append(
            f"  - {SOURCE_NL.get(p.source, p.source)} {p.target}: {what}: {p.detail} (laatst {_when(d, p.last_at)})"
        )
    return "\n".join(out) + "\n"
