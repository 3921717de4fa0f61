"""Alerts for school leaders: which mentions raise one, where it goes, the Dutch
text, and delivery over a webhook (JSON, Microsoft Teams, Slack) and SMTP.

An alert is one `alerts` row per (subject, channel, recipient); its id is
derived from those, so raising it again is a no-op ("exactly once per mention
and channel").  Rows are written `pending`; `deliver_pending` sends every
pending or failed row (from this or an earlier cycle, also rows other parts
of edumon wrote, e.g. ``kind = 'source_health'``) and records the outcome.
Webhook URLs are never stored: a row names the config key that holds the URL.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pyarrow as pa

from core.config import Config, SmtpConfig
from core.mention import Mention
from core.secrets import Secrets, redact
from core.vocabulary import SOURCE_NL
from warehouse import Warehouse

from . import ledger
from .db import insert_rows, stable_id
from .followups import ACTION_NL, followup_for

log = logging.getLogger("edumon.alerts")

GLOBAL_WEBHOOK = "alerts.webhook_url"
KIND_NL = {
    "threat": "Mogelijke bedreiging",
    "insult": "Belediging of pesten",
    "spike": "Escalatie: veel negatieve berichten",
    "pile_on": "Escalatie: stortvloed aan negatieve reacties",
    "staff_disclosure": "Bericht van een medewerker zonder vermelding",
    "source_health": "Bron werkt niet",
}
URGENT_KINDS = ("threat", "spike", "pile_on")


@dataclass(frozen=True)
class AlertTarget:
    """One place an alert goes: ``webhook`` (recipient = the config key holding the URL) or
    ``email`` (recipient = the address).  `school_id` is None for a global channel."""

    channel: str
    recipient: str
    school_id: str | None = None


# --- the routing rule ------------------------------------------------------------------------


def alert_kind(m: Mention) -> str | None:
    """threat (a possible threat), insult (insults, bullying) or None: no alert."""
    if m.harm == "threat":
        return "threat"
    if m.harm == "insult":
        return "insult"
    return None


def severity(kind: str) -> str:
    return "urgent" if kind in URGENT_KINDS else "normal"


def is_webhook(contact: str) -> bool:
    return contact.startswith(("http://", "https://"))


def email_enabled(cfg: Config) -> bool:
    return bool(cfg.alerts.smtp.host)


def _dedup(targets: Sequence[AlertTarget], cfg: Config) -> list[AlertTarget]:
    out, seen = [], set()
    for t in targets:
        if t.channel == "email" and not email_enabled(cfg):
            continue
        key = (t.channel, t.recipient.lower())
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def school_targets(cfg: Config, school_ids: Sequence[str]) -> list[AlertTarget]:
    """The contacts of these schools: e-mail addresses, or webhook URLs (named by their config key)."""
    out = []
    for sid in school_ids:
        try:
            school = cfg.school(sid)
        except KeyError:
            continue
        for i, c in enumerate(school.contacts):
            if is_webhook(c):
                out.append(AlertTarget("webhook", f"schools.{sid}.contacts[{i}]", sid))
            else:
                out.append(AlertTarget("email", c.strip(), sid))
    return out


def global_targets(cfg: Config) -> list[AlertTarget]:
    """The group-wide `[alerts]` channels."""
    out = [AlertTarget("webhook", GLOBAL_WEBHOOK)] if cfg.alerts.webhook_url else []
    return out + [AlertTarget("email", a.strip()) for a in cfg.alerts.email_to]


def admin_targets(cfg: Config) -> list[AlertTarget]:
    """Where source-health alerts go: `[alerts] admin_contacts`, else the global channels."""
    if not cfg.alerts.admin_contacts:
        return _dedup(global_targets(cfg), cfg)
    out = []
    for i, c in enumerate(cfg.alerts.admin_contacts):
        out.append(
            AlertTarget("webhook", f"alerts.admin_contacts[{i}]") if is_webhook(c) else AlertTarget("email", c.strip())
        )
    return _dedup(out, cfg)


def route(cfg: Config, m: Mention) -> list[AlertTarget]:
    """Where an alert about this mention goes: the contacts of each school it is about plus
    the global channels; nothing when the mention raises no alert.  E-mail only when SMTP is set."""
    if alert_kind(m) is None:
        return []
    return _dedup(school_targets(cfg, m.school_ids) + global_targets(cfg), cfg)


def route_schools(cfg: Config, school_ids: Sequence[str]) -> list[AlertTarget]:
    """The schools' contacts plus the global channels (an alert triage decided on)."""
    return _dedup(school_targets(cfg, school_ids) + global_targets(cfg), cfg)


def route_escalation(cfg: Config, school_id: str) -> list[AlertTarget]:
    return _dedup(school_targets(cfg, [school_id]) + global_targets(cfg), cfg)


def route_leader(cfg: Config, school_ids: Sequence[str]) -> list[AlertTarget]:
    """Only the schools' own contacts (the leader), never a group-wide channel."""
    return _dedup(school_targets(cfg, school_ids), cfg)


def resolve_webhook(cfg: Config, recipient: str | None) -> str | None:
    """The URL behind a webhook recipient (a config key), or None when the config no longer has it."""
    if not recipient or recipient == GLOBAL_WEBHOOK:
        return cfg.alerts.webhook_url
    if is_webhook(recipient):
        return recipient
    if recipient.startswith("alerts.admin_contacts["):
        i = int(recipient[len("alerts.admin_contacts[") : -1])
        return cfg.alerts.admin_contacts[i] if i < len(cfg.alerts.admin_contacts) else None
    if recipient.startswith("schools."):
        sid, _, idx = recipient[len("schools.") :].rpartition(".contacts[")
        try:
            contacts = cfg.school(sid).contacts
            url = contacts[int(idx.rstrip("]"))]
        except (KeyError, ValueError, IndexError):
            return None
        return url if is_webhook(url) else None
    return None


# --- Dutch messages ----------------------------------------------------------------------------


def school_names(cfg: Config, ids: Sequence[str]) -> str:
    names = []
    for sid in ids:
        try:
            names.append(cfg.school(sid).name)
        except KeyError:
            names.append(sid)
    return ", ".join(names) or "onbekend"


def local(cfg: Config, dt: datetime | None) -> str:
    if dt is None:
        return "onbekend"
    return f"{dt.astimezone(ZoneInfo(cfg.organisation.timezone)):%d-%m-%Y %H:%M}"


def _excerpt(text: str, n: int = 500) -> str:
    text = text.strip()
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def next_steps(kind: str, action: str | None, mention_id: str, page_url: str | None = None) -> list[str]:
    """What the protocol asks next, in Dutch."""
    steps = []
    if kind in ("threat", "insult"):
        steps.append(f"Het bericht is als bewijs bewaard (edumon evidence {mention_id}).")
    if action == "report_police":
        steps.append("Mogelijk strafbaar: doe aangifte bij de politie en neem het bewijsrapport mee.")
    steps.append(
        "Ga in gesprek met de betrokkenen (in real life); reageer niet online, "
        "behalve om een feitelijke onjuistheid recht te zetten."
    )
    if kind == "insult":
        steps.append(
            "Pesten, kwetsen of zwartmaken breekt de fatsoensregels: spreek de schrijver erop aan "
            "als die bekend is (leerling, ouder of medewerker)."
        )
    if page_url:
        steps.append(f"Leg de opvolging vast op de reviewpagina: {page_url}")
    else:
        steps.append(f"Leg de opvolging vast: edumon followups show {mention_id}")
    return steps


def mention_message(cfg: Config, m: Mention, kind: str, reason: str | None = None) -> tuple[str, str]:
    """(subject, body) of an alert about one mention; `reason` is triage's Dutch explanation."""
    prefix = "[SPOED] " if severity(kind) == "urgent" else ""
    schools = school_names(cfg, m.school_ids)
    subject = f"{prefix}{KIND_NL[kind]} over {schools}"
    what = KIND_NL[kind].lower() + (f" ({m.harm_kind})" if m.harm_kind else "")
    by = f" door {m.author}" if m.author else ""
    action = followup_for(m, cfg.protocol.criminal_harm_kinds)
    lines = [
        f"Wat: {what} in een bericht op {SOURCE_NL.get(m.source, m.source)}{by}.",
        f"Waar: {m.url or 'geen link beschikbaar'}",
        f"School: {schools}",
        f"Wanneer: {local(cfg, m.published_at or m.fetched_at)}",
        "Waarom: " + (reason or _cue_words(m)),
        "",
        "Bericht:",
        _excerpt(m.text),
        "",
        f"Wat het protocol vraagt ({ACTION_NL.get(action or '', 'opvolgen')}):",
    ]
    lines += [f"- {s}" for s in next_steps(kind, action, m.mention_id, cfg.web.followup_url(m.mention_id))]
    return subject, "\n".join(lines)


def _cue_words(m: Mention) -> str:
    words = [c for c in m.cues if not c.startswith("model:")]  # "model:threat 0.08" is not a reason a person reads
    return ("herkend aan: " + ", ".join(f'"{c}"' for c in words)) if words else "de classificatie"


def staff_message(cfg: Config, m: Mention, staff_name: str, detail: str) -> tuple[str, str]:
    schools = school_names(cfg, m.school_ids)
    subject = f"{KIND_NL['staff_disclosure']}: {staff_name} over {schools}"
    body = "\n".join(
        [
            f"Wat: {staff_name} schreef op {SOURCE_NL.get(m.source, m.source)} over {schools}, {detail}.",
            f"Waar: {m.url or 'geen link beschikbaar'}",
            f"Wanneer: {local(cfg, m.published_at or m.fetched_at)}",
            "",
            "Bericht:",
            _excerpt(m.text),
            "",
            "Wat het protocol vraagt:",
            "- Medewerkers die over de school schrijven vermelden dat ze medewerker zijn en dat het hun "
            "persoonlijke mening is.",
            "- Bespreek dit persoonlijk met de medewerker; deze melding is alleen voor de schoolleiding en "
            "wordt niet openbaar gemaakt of online beantwoord.",
        ]
    )
    return subject, body


def default_message(row: dict[str, Any]) -> tuple[str, str]:
    """Text for a row written without subject/body (e.g. a source-health row from another module)."""
    kind = row.get("kind") or "alert"
    title = KIND_NL.get(kind, kind)
    what = row.get("ref") or row.get("mention_id") or row.get("school_id") or ""
    body = f"Wat: {title.lower()}: {what}."
    if kind == "source_health":
        body += (
            "\nEen bron levert geen berichten meer (fout of stilte). Controleer de bron en de "
            "instellingen; zolang dit duurt kan edumon berichten missen."
        )
    return f"{title}: {what}".strip(": "), body


def alert_rows(
    kind: str,
    ref: str,
    targets: Sequence[AlertTarget],
    subject: str,
    body: str,
    *,
    school_ids: Sequence[str],
    now: datetime,
    mention_id: str | None = None,
    link: str | None = None,
) -> list[dict[str, Any]]:
    """The `alerts` rows for one subject, one per target; the id makes re-raising a no-op."""
    return [
        {
            "alert_id": stable_id("alert", kind, ref, t.channel, t.recipient.lower()),
            "mention_id": mention_id,
            "school_id": t.school_id or (",".join(school_ids) or "*"),
            "kind": kind,
            "severity": severity(kind),
            "channel": t.channel,
            "recipient": t.recipient,
            "status": "pending",
            "attempts": 0,
            "last_error": None,
            "created_at": now,
            "sent_at": None,
            "ref": ref,
            "subject": subject,
            "body": body,
            "link": link,
        }
        for t in targets
    ]


MESSAGE_COLS = ("ref", "subject", "body", "link")


ALERT_TYPES = {
    "attempts": pa.int32(),
    "sent_at": pa.timestamp("us", tz="UTC"),
    "last_error": pa.string(),
    "mention_id": pa.string(),
    "link": pa.string(),
}


def enqueue(con: Any, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert alert rows not raised before; returns those that are new."""
    if not rows:
        return []
    existing = {
        r[0]
        for r in con.execute(
            "SELECT alert_id FROM alerts WHERE list_contains(?, alert_id)", [[r["alert_id"] for r in rows]]
        ).fetchall()
    }
    fresh, seen = [], set(existing)
    for r in rows:
        if r["alert_id"] not in seen:
            seen.add(r["alert_id"])
            fresh.append(r)
    insert_rows(con, "alerts", [{k: v for k, v in r.items() if k not in MESSAGE_COLS} for r in fresh], ALERT_TYPES)
    insert_rows(
        con,
        "alert_messages",
        [{"alert_id": r["alert_id"], **{k: r[k] for k in MESSAGE_COLS}} for r in fresh],
        {"link": pa.string(), "ref": pa.string()},
    )
    return fresh


def raise_source_health(con: Any, cfg: Config, ref: str, problem: str, now: datetime) -> list[dict[str, Any]]:
    """Raise a source-health alert to the admin contacts (once per `ref`; the caller chooses the
    ref, e.g. ``"rss|<feed url>|<first failure>"``).  Delivered by the next `deliver_pending`."""
    subject = f"{KIND_NL['source_health']}: {ref.split('|')[0]} {ref.split('|')[1] if '|' in ref else ''}".strip()
    body = (
        f"Wat: {problem}\nBron: {ref}\nWanneer: {local(cfg, now)}\n\n"
        "Zolang een bron niet werkt kan edumon berichten over de scholen missen. "
        "Controleer de bron en de instellingen."
    )
    return enqueue(con, alert_rows("source_health", ref, admin_targets(cfg), subject, body, school_ids=[], now=now))


# --- delivery ------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A delivery that failed; the message is safe to store (no URL, no secret).

    `transient`: the channel was unreachable or answered 5xx/429 (or SMTP 4xx): worth another
    try soon.  A refusal (4xx, bad login, no recipient configured) waits for the next cycle."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def webhook_payload(fmt: str, alert: dict[str, Any]) -> dict[str, Any]:
    """The JSON body for a generic, Microsoft Teams (Adaptive Card) or Slack webhook."""
    title, text, link = alert["subject"], alert["body"], alert.get("link")
    urgent = alert.get("severity") == "urgent"
    if fmt == "teams":
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {
                    "type": "TextBlock",
                    "text": title,
                    "weight": "Bolder",
                    "size": "Medium",
                    "wrap": True,
                    "color": "Attention" if urgent else "Default",
                },
                {"type": "TextBlock", "text": text.replace("\n", "\n\n"), "wrap": True},
            ],
        }
        if link:
            card["actions"] = [{"type": "Action.OpenUrl", "title": "Bekijk het bericht", "url": link}]
        return {
            "type": "message",
            "summary": title,
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }
    if fmt == "slack":

        def esc(s: str) -> str:
            return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": esc(text)[:3000]}},
        ]
        if link:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {"type": "button", "text": {"type": "plain_text", "text": "Bekijk het bericht"}, "url": link}
                    ],
                }
            )
        return {"text": esc(f"{title}\n{text}"), "blocks": blocks}
    return {
        "alert_id": alert["alert_id"],
        "kind": alert["kind"],
        "severity": alert["severity"],
        "title": title,
        "text": text,
        "link": link,
        "mention_id": alert.get("mention_id"),
        "school_ids": [s for s in (alert.get("school_id") or "").split(",") if s and s != "*"],
        "ref": alert.get("ref"),
    }


def post_webhook(url: str, payload: dict[str, Any], timeout_s: float, client: httpx.Client | None = None) -> None:
    try:
        if client is None:
            with _client(timeout_s) as c:
                resp = c.post(url, json=payload)
        else:
            resp = client.post(url, json=payload)
    except httpx.HTTPError as e:
        raise DeliveryError(f"webhook unreachable: {type(e).__name__}", transient=True) from None
    if resp.status_code >= 300:
        raise DeliveryError(
            f"webhook answered HTTP {resp.status_code}", transient=resp.status_code >= 500 or resp.status_code == 429
        )


def _client(timeout_s: float) -> httpx.Client:
    return httpx.Client(timeout=timeout_s, headers={"User-Agent": "edumon/0.1 alerts"})


def smtp_secrets(smtp: SmtpConfig, secrets: Secrets) -> tuple[str | None, str | None]:
    return secrets.get(smtp.user_env), secrets.get(smtp.password_env)


def send_email(
    smtp: SmtpConfig,
    secrets: Secrets,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Send one message over SMTP (implicit TLS, STARTTLS or plain), logging in when the config
    names user/password variables.  Raises `DeliveryError` with a message free of secrets."""
    if not smtp.host:
        raise DeliveryError("e-mail is not configured ([alerts.smtp] host)")
    user, password = smtp_secrets(smtp, secrets)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="edumon")
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    try:
        if smtp.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout_s, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
        with client:
            if not smtp.tls and smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if user and password:
                client.login(user, password)
            client.send_message(msg)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as e:
        raise DeliveryError(
            redact(f"SMTP: {type(e).__name__}: {e}", [v for v in (user, password) if v]), smtp_transient(e)
        ) from None


def smtp_transient(e: Exception) -> bool:
    """An SMTP failure worth another try soon: the server unreachable or a 4xx (try later) reply."""
    if isinstance(e, ssl.SSLError):
        return False  # a certificate or TLS set-up problem does not pass by itself
    if isinstance(e, smtplib.SMTPResponseException):
        return 400 <= e.smtp_code < 500
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return True
    # smtplib's other errors (recipients refused, ...) are OSErrors too, but not passing ones
    return isinstance(e, OSError) and not isinstance(e, smtplib.SMTPException)


def recipients_for(cfg: Config, row: dict[str, Any]) -> list[str]:
    """E-mail addresses of a row; a row without a recipient goes to the admin (source health) or
    global addresses."""
    if row.get("recipient"):
        return [row["recipient"]]
    admins = [c for c in cfg.alerts.admin_contacts if not is_webhook(c)]
    return admins if row.get("kind") == "source_health" and admins else list(cfg.alerts.email_to)


def deliver(cfg: Config, row: dict[str, Any], secrets: Secrets, client: httpx.Client | None = None) -> None:
    """Deliver one alert row (raises `DeliveryError`)."""
    if not row.get("subject") or not row.get("body"):
        row = {**row, **dict(zip(("subject", "body"), default_message(row)))}
    if row["channel"] == "webhook":
        url = resolve_webhook(cfg, row.get("recipient"))
        if not url:
            raise DeliveryError(f"no webhook URL configured for {row.get('recipient') or GLOBAL_WEBHOOK}")
        try:
            post_webhook(url, webhook_payload(cfg.alerts.webhook_format, row), cfg.alerts.timeout_s, client)
        except DeliveryError as e:
            raise DeliveryError(redact(str(e), [url]), e.transient) from None
    elif row["channel"] == "email":
        to = recipients_for(cfg, row)
        if not to:
            raise DeliveryError("no e-mail recipient configured")
        body = row["body"] + (f"\n\nLink: {row['link']}" if row.get("link") and row["link"] not in row["body"] else "")
        send_email(
            cfg.alerts.smtp,
            secrets,
            to,
            row["subject"],
            body,
            headers={"X-Edumon-Alert": row["alert_id"], "X-Priority": "1" if row.get("severity") == "urgent" else "3"},
        )
    else:
        raise DeliveryError(f"unknown channel {row['channel']!r}")


@dataclass
class DeliveryReport:
    sent: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # rows with their `last_error`


def deliver_pending(
    cfg: Config, wh: Warehouse, secrets: Secrets, now: datetime, skip: Collection[str] = ()
) -> DeliveryReport:
    """Send every pending or failed alert (below `max_attempts`), then record the outcomes.

    First the urgent alerts a cycle sent before its store are reconciled from the ledger
    (`protocol.ledger`), so they are never sent twice; the ledger's unsettled ones and `skip`
    (alerts this cycle tried already) are left alone.
    No connection is held while sending: one read, the network, one short write.
    """
    ledger.reconcile(cfg, wh, now)
    leave = ledger.owned(cfg) | set(skip)
    rows = wh.query_dicts(
        """
        SELECT a.*, m.ref, m.subject, m.body, m.link FROM alerts a LEFT JOIN alert_messages m USING (alert_id)
        WHERE a.status IN ('pending', 'failed') AND a.attempts < ?
        ORDER BY a.severity = 'urgent' DESC, a.created_at, a.alert_id""",
        [cfg.alerts.max_attempts],
    )
    rows = [r for r in rows if r["alert_id"] not in leave]
    report = DeliveryReport()
    client = _client(cfg.alerts.timeout_s) if any(r["channel"] == "webhook" for r in rows) else None
    try:
        _deliver_all(cfg, rows, secrets, client, report)
    finally:
        if client is not None:
            client.close()
    if not rows:
        return report
    _record(wh, report, now)
    return report


def _deliver_all(
    cfg: Config, rows: Sequence[dict[str, Any]], secrets: Secrets, client: httpx.Client | None, report: DeliveryReport
) -> None:
    for row in rows:
        try:
            deliver(cfg, row, secrets, client)
        except DeliveryError as e:
            report.failed.append({**row, "last_error": str(e), "transient": e.transient})
            log.warning("alert %s via %s failed: %s", row["alert_id"], row["channel"], e)
        except Exception as e:  # a bug in one channel must not stop the others
            report.failed.append({**row, "last_error": f"{type(e).__name__}: {e}"[:500], "transient": False})
            log.exception("alert %s crashed", row["alert_id"])
        else:
            report.sent.append(row)


def _record(wh: Warehouse, report: DeliveryReport, now: datetime) -> None:
    """Write the outcomes of one delivery run in one short transaction."""
    outcome = pa.table(
        {
            "alert_id": [r["alert_id"] for r in report.sent] + [r["alert_id"] for r in report.failed],
            "ok": [True] * len(report.sent) + [False] * len(report.failed),
            "err": [None] * len(report.sent) + [r["last_error"] for r in report.failed],
        }
    )
    with wh.transaction() as con:
        con.register("outcome", outcome)
        try:
            con.execute(
                """UPDATE alerts SET status = CASE WHEN o.ok THEN 'sent' ELSE 'failed' END,
                                  attempts = alerts.attempts + 1, last_error = o.err,
                                  sent_at = CASE WHEN o.ok THEN ?::TIMESTAMPTZ ELSE NULL END
                           FROM outcome o WHERE alerts.alert_id = o.alert_id""",
                [now],
            )
        finally:
            con.unregister("outcome")
