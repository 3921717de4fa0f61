"""The daily digest for comms staff (Dutch, HTML with inline-SVG trends, or text).

`build_digest(cfg, day=None, fmt="html")` renders it from the warehouse;
`send_digest(cfg, html, text)` mails it to `[digest] recipients` over the
`[alerts.smtp]` server.  Both are plain functions the Prefect digest flow calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from core.config import Config
from core.secrets import Secrets
from digest.data import period
from pipeline import warehouse_for
from protocol.alerts import DeliveryError, send_email

from .data import Digest, collect
from .render import subject, to_html, to_text

FORMATS = ("html", "text")


class DigestError(RuntimeError):
    """The digest could not be built or sent (one line)."""


def build_digest(cfg: Config, day: date | None = None, fmt: str = "html", now: datetime | None = None) -> str:
    """The digest for one local day, or for the 24 hours up to now (default), as HTML or text."""

    if fmt not in FORMATS:
        raise DigestError(f"unknown digest format {fmt!r}; expected html or text")
    d = collect(cfg, warehouse_for(cfg), day, now)
    return to_html(d, cfg.digest.subject) if fmt == "html" else to_text(d, cfg.digest.subject)


def digest_subject(cfg: Config, day: date | None = None, now: datetime | None = None) -> str:
    from datetime import timezone
    from zoneinfo import ZoneInfo

    start, end = period(cfg, day, now or datetime.now(timezone.utc))
    return subject(
        Digest(cfg.organisation.name, ZoneInfo(cfg.organisation.timezone), start, end, day, [], []), cfg.digest.subject
    )


def send_digest(
    cfg: Config,
    content_html: str,
    content_text: str,
    subject: str | None = None,
    recipients: Sequence[str] | None = None,
    secrets: Secrets | None = None,
) -> None:
    """Mail the digest (text with an HTML alternative) to `[digest] recipients`."""
    to = list(recipients if recipients is not None else cfg.digest.recipients)
    if not to:
        raise DigestError("no recipients: set [digest] recipients in the config")
    if not cfg.alerts.smtp.host:
        raise DigestError("e-mail is not configured: set [alerts.smtp] host in the config")
    try:
        send_email(
            cfg.alerts.smtp, secrets or Secrets(), to, subject or digest_subject(cfg), content_text, html=content_html
        )
    except DeliveryError as e:
        raise DigestError(f"digest not sent: {e}") from None


__all__ = ["build_digest", "send_digest", "DigestError", "digest_subject", "FORMATS"]
