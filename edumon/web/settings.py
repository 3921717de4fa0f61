"""Config sections of the review page: `[web]` and the `[[users]]` accounts.

Plain dataclasses without imports from the rest of edumon, so `edumon.config`
can include them.  Passwords are never in the config: `password_hash` holds a
hash made by `edumon web hash-password`; the session secret comes from the
environment variable named by `web.secret_env`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("comms", "leader", "analyst")


@dataclass
class WebUser:
    """One account of the review page."""
    username: str
    role: str                                  # comms | leader | analyst
    password_hash: str                         # from `edumon web hash-password`; never a password
    schools: list[str] = field(default_factory=list)   # leaders: the school ids they see
    name: str | None = None                    # shown in the audit trail next to the username


@dataclass
class WebConfig:
    secret_env: str = "EDUMON_WEB_SECRET"      # environment variable with the session secret (>= 32 characters)
    host: str = "127.0.0.1"                    # default bind address of `edumon web`
    port: int = 8080
    session_hours: float = 12.0                # a login lasts this long
    secure_cookies: bool = False               # set true behind HTTPS (a reverse proxy)
    public_url: str | None = None              # where staff reach the page, e.g. for links in alerts
