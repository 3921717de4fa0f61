"""The heartbeat: tell a monitor outside this machine that a cycle ran (healthchecks.io style).

After each cycle, `ping` sends one HTTP GET to `[health] heartbeat_url` (or the URL in the
environment variable `heartbeat_url_env`: such URLs hold a token) when the cycle was good, and to
`<url>/fail` when it failed (`heartbeat_fail = true`).  A dead host, a stopped `edumon serve` or a
cycle that hangs sends nothing, and the monitor raises the alarm when a ping is late: the one
failure edumon cannot report itself.  The ping has a short timeout and never fails the cycle; a
failure is logged without the URL.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx

from core.config import Config
from core.secrets import Secrets, redact
from pipeline import CycleReport

log = logging.getLogger("edumon.health")


def cycle_ok(report: CycleReport) -> bool:
    """A good cycle: every source answered, nothing was spooled, every alert was delivered
    (the same rule as `edumon run`'s exit code 0)."""
    return report.ok and (report.actions is None or report.actions.ok)


def heartbeat_url(cfg: Config, secrets: Secrets | None = None) -> str | None:
    """The configured heartbeat URL, from the config or the environment; None when there is none."""
    h = cfg.health
    if h.heartbeat_url:
        return h.heartbeat_url
    if not h.heartbeat_url_env:
        return None
    url = (secrets or Secrets()).get(h.heartbeat_url_env)
    if not url:
        log.warning("heartbeat not sent: environment variable %s is not set", h.heartbeat_url_env)
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        log.warning("heartbeat not sent: %s does not hold an http(s) URL", h.heartbeat_url_env)
        return None
    return url


def ping_url(url: str, ok: bool) -> str:
    """Where a ping goes: the URL itself after a good cycle, `<url>/fail` after a failed one."""
    if ok:
        return url
    parts = urlsplit(url)
    return parts._replace(path=parts.path.rstrip("/") + "/fail").geturl()


def ping(cfg: Config, ok: bool, secrets: Secrets | None = None) -> bool | None:
    """Ping the heartbeat URL for a good (`ok`) or failed cycle; True when it answered 2xx,
    False when the ping failed (logged, never raised), None when nothing was to be sent."""
    url = heartbeat_url(cfg, secrets)
    if url is None or (not ok and not cfg.health.heartbeat_fail):
        return None
    target = ping_url(url, ok)
    hide = [url, target, urlsplit(url).path]
    try:
        resp = httpx.get(target, timeout=cfg.health.heartbeat_timeout_s, follow_redirects=True)
    except Exception as e:  # noqa: BLE001 - a heartbeat never costs the cycle anything
        log.warning("heartbeat ping failed: %s: %s", type(e).__name__, redact(str(e), hide))
        return False
    if not resp.is_success:
        log.warning("heartbeat ping failed: the monitor answered HTTP %d", resp.status_code)
        return False
    return True


def after_cycle(cfg: Config, report: CycleReport, secrets: Secrets | None = None) -> bool | None:
    """The end of every cycle: one ping saying whether it was good (see `ping`)."""
    return ping(cfg, cycle_ok(report), secrets)
