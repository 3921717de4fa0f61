"""Are stored Mastodon statuses still there?  `GET /api/v1/statuses/:id`, one a request,
on the instance each status was fetched from (its target `host#tag` / `host?q=...`),
by that instance's id of the status (in the item as fetched, `raw`).

404 (or 410) = gone: the author deleted it (on a remote status: the Delete federated).
200 = still there, when the answer is the same status (`uri`); anything else = could
not tell.  Hashtag statuses are public, so no token is needed; the configured token is
used when it is set.  A 429 stops that instance's checks for this run (the statuses
not asked keep their turn); a server, network or token error stops them too, the
status it hit counts as "could not tell".
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from mastodon.errors import MastodonAPIError, MastodonNotFoundError, MastodonRatelimitError

from connectors.base import Existence
from connectors.mastodon.helpers import Capture, classify_error, host, make_client, original
from core.config import Config, MastodonSource
from core.mention import Mention
from core.secrets import Secrets, redact

ENDPOINT = "status lookup"


def instance_of(m: Mention) -> str:
    """The host:port of the instance a status was fetched from (its target's prefix)."""
    return re.split(r"[#?]", m.target or "", maxsplit=1)[0]


def local_id(m: Mention) -> str | None:
    """The instance's own id of the status (of the boosted status, for a boost)."""
    try:
        item = json.loads(m.raw or "")
        sid = original(item).get("id") if isinstance(item, dict) else None
    except (ValueError, AttributeError):
        return None
    return str(sid) if sid and str(sid).isdigit() else None


def _params(src: MastodonSource) -> dict[str, Any]:
    return {
        "api_base_url": src.api_base_url.rstrip("/"),
        "access_token_env": src.access_token_env,
        "timeout_s": src.timeout_s,
        "mastodon_version": src.mastodon_version,
    }


def exists(cfg: Config, mentions: Sequence[Mention], secrets: Secrets) -> Existence:
    """mention_id -> True (still there) / False (gone) / None (could not tell) for Mastodon
    statuses; statuses not asked are left out (see `Existence`)."""
    out = Existence()
    instances = {host(s.api_base_url.rstrip("/")): s for s in cfg.sources.mastodon}
    groups: dict[str, list[Mention]] = {}
    unknown: set[str] = set()
    for m in mentions:
        where = instance_of(m)
        if where not in instances or local_id(m) is None:
            out.answers[m.mention_id] = None  # the instance is no longer configured, or no id to ask
            unknown.add(where or "?")
            continue
        groups.setdefault(where, []).append(m)
    for where in sorted(unknown):
        out.notes.append(
            f"mastodon: statuses fetched from {where} cannot be checked (instance not configured, or no status id)"
        )
    for where, ms in groups.items():
        _check_instance(instances[where], ms, secrets, out)
    return out


def _check_instance(src: MastodonSource, mentions: list[Mention], secrets: Secrets, out: Existence) -> None:
    p = _params(src)
    token = secrets.get(src.access_token_env) if src.access_token_env else None
    capture = Capture()
    client = make_client(p, token, capture)
    try:
        for n, m in enumerate(mentions):
            try:
                status = client.status(local_id(m))
            except MastodonNotFoundError:
                out.answers[m.mention_id] = False
                continue
            except MastodonRatelimitError as e:
                out.notes.append(_note(e, p, secrets, len(mentions) - n))
                return
            except MastodonAPIError as e:
                code = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], int) else None
                if code == 410:
                    out.answers[m.mention_id] = False
                    continue
                out.answers[m.mention_id] = None
                if code is not None and 400 <= code < 500 and code not in (401, 403):
                    out.notes.append(_note(e, p, secrets, 0))
                    continue  # about this status only
                out.notes.append(_note(e, p, secrets, len(mentions) - n - 1))
                return  # the instance is unwell or refuses us: stop
            except Exception as e:  # network error, timeout, malformed answer: stop
                out.answers[m.mention_id] = None
                out.notes.append(_note(e, p, secrets, len(mentions) - n - 1))
                return
            uri = status.get("uri") if hasattr(status, "get") else None
            out.answers[m.mention_id] = True if uri == m.source_id else None
    finally:
        out.requests += capture.requests


def _note(e: Exception, p: dict[str, Any], secrets: Secrets, left: int) -> str:
    _, line = classify_error(e, p, ENDPOINT)
    line = line.replace("; resumes from the watermark next cycle", "")
    tail = f"; {left} statuses wait for the next run" if left else ""
    return redact(f"mastodon: {line}{tail}", secrets.values(p.get("access_token_env")))
