"""The daily digest as a Prefect flow: build it (HTML and plain text), then send it.

The digest itself is `digest` (`build_digest`, `send_digest`); this
flow only orders the steps and retries the sending, which talks to a mail
server.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from core.config import Config, load_config
from digest import build_digest, send_digest
from flows.serving import claim_run


@task(name="build-digest", cache_policy=NO_CACHE, persist_result=False)
def build(cfg: Config, fmt: str, day: date | None) -> str:
    """The digest of `day` (default: the last 24 hours) as `html` or `text`."""
    return build_digest(cfg, day=day, fmt=fmt)


@task(
    name="send-digest",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=3,
    retry_delay_seconds=[60, 300, 900],
    retry_jitter_factor=0.2,
)
def send(cfg: Config, html: str, text: str) -> Any:
    """Send the digest to the comms staff (retried: a mail server may be briefly away)."""
    return send_digest(cfg, html, text)


@flow(name="daily-digest", log_prints=True, persist_result=False)
def daily_digest(config_path: str, day: date | None = None, send_mail: bool = True) -> Any:
    """Build the daily digest of `day` (default: the last 24 hours) and send it
    (`send_mail=False`: build only)."""
    claim_run()
    cfg = load_config(config_path)
    html = build(cfg, "html", day)
    text = build(cfg, "text", day)
    if not send_mail:
        get_run_logger().info("digest built (%d characters of HTML), not sent", len(html))
        return {"html": html, "text": text, "sent": None}
    return {"html": html, "text": text, "sent": send(cfg, html, text)}
