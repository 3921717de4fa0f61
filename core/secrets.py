"""Secrets come from the environment (or a Prefect Secret block), never from
the config file, the logs or the database.

The config names the environment variable (`app_password_env = "..."`);
connectors get a `Secrets` object and ask it for the value.  Login sessions
that must survive between cycles (Bluesky's createSession is limited to
about 100 a day) are kept beside the secrets, in a private directory
(`EDUMON_SECRETS_DIR`, default `~/.config/edumon/secrets`), mode 0600.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path


class MissingSecret(RuntimeError):
    """A secret the config refers to is not set."""


class Secrets:
    def __init__(self, environ: Mapping[str, str] | None = None, secrets_dir: str | Path | None = None) -> None:
        self._env = os.environ if environ is None else environ
        d = secrets_dir or self._env.get("EDUMON_SECRETS_DIR") or Path.home() / ".config" / "edumon" / "secrets"
        self.dir = Path(d)

    def get(self, env_name: str | None) -> str | None:
        """The value of the environment variable `env_name`, or a Prefect Secret block of
        the same name (lower-cased, `_` -> `-`) when the variable is unset."""
        if not env_name:
            return None
        value = self._env.get(env_name)
        if value:
            return value
        return _prefect_secret(env_name)

    def require(self, env_name: str, what: str) -> str:
        value = self.get(env_name)
        if not value:
            raise MissingSecret(f"{what}: environment variable {env_name} is not set")
        return value

    def values(self, *env_names: str | None) -> list[str]:
        """The secret values that are set, for redaction."""
        return [v for v in (self.get(n) for n in env_names if n) if v]

    def _session_path(self, key: str) -> Path:
        return self.dir / ("session-" + hashlib.sha256(key.encode()).hexdigest()[:16])

    def load_session(self, key: str) -> str | None:
        """A login session saved by `save_session`, or None."""
        p = self._session_path(key)
        try:
            return p.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def save_session(self, key: str, value: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        p = self._session_path(key)
        tmp = p.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(value)
        os.replace(tmp, p)

    def drop_session(self, key: str) -> None:
        self._session_path(key).unlink(missing_ok=True)


def _prefect_secret(env_name: str) -> str | None:
    """Look up a Prefect Secret block named after the variable; None when there is none."""
    if os.environ.get("EDUMON_PREFECT_SECRETS", "0") != "1":
        return None
    try:  # pragma: no cover - needs a Prefect server with blocks
        from prefect.blocks.system import Secret

        return Secret.load(env_name.lower().replace("_", "-")).get()
    except Exception:
        return None


def redact(text: str, secrets: list[str]) -> str:
    """Replace every secret value in `text` by `***`."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text
