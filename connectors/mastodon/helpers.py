"""Mastodon helpers: the client, raw response capture, status -> Mention, error lines."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from connectors.base import ErrorKind
from connectors.html import html_links, html_to_text
from connectors.mastodon import settings
from core.mention import Mention
from core.mention import parse_timestamp as parse_ts


class Capture:
    """A requests.Session hook that counts responses and keeps the last one, so the
    items can be read exactly as the server sent them (Mastodon.py converts ids,
    dates and nested objects on the way)."""

    def __init__(self) -> None:
        self.requests = 0
        self.status: int | None = None
        self.last: requests.Response | None = None

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.requests += 1
        self.status = response.status_code
        self.last = response

    def json(self) -> Any:
        """The body of the last response, parsed (raises ValueError if it is not JSON)."""
        assert self.last is not None
        return json.loads(self.last.content)


class Client(Mastodon):
    """Mastodon.py that never probes the instance: before a public timeline it asks
    `/api/v2/instance/` whether the timeline is available, only to print a warning
    (a slow instance added a whole timeout).  The timeline answers for itself."""

    def timeline_is_available(self, *args: Any, **kwargs: Any) -> bool:
        return True


def make_client(p: dict[str, Any], token: str | None, capture: Capture) -> Mastodon:
    """Mastodon.py that never sleeps on a rate limit (`throw`), times out, and never
    probes the server version (`mastodon_version` with `version_check_mode="created"`:
    without the mode Mastodon.py ignores the given version and treats the server as
    1.0.0, so `search_v2` with paging refuses to run)."""
    session = requests.Session()
    session.hooks["response"].append(capture)
    return Client(
        api_base_url=p["api_base_url"],
        access_token=token,
        mastodon_version=p["mastodon_version"],
        version_check_mode="created",
        request_timeout=p["timeout_s"],
        ratelimit_method="throw",
        session=session,
        user_agent=settings.USER_AGENT,
    )


def host(url: str) -> str:
    return urlsplit(url).netloc or url


def id_key(sid: Any) -> tuple[int, str]:
    """Order status ids numerically (they are snowflakes in decimal strings)."""
    s = str(sid)
    return (len(s), s) if s.isdigit() else (0, s)


def full_acct(account: dict[str, Any]) -> str | None:
    """`user@domain` on every instance (a local account's `acct` has no domain)."""
    acct = account.get("acct") or account.get("username")
    if acct and "@" not in acct:
        home = host(account.get("url") or "")
        if home:
            acct = f"{acct}@{home}"
    return acct


def original(item: dict[str, Any]) -> dict[str, Any]:
    """A boost stands for the status it boosts."""
    return item.get("reblog") or item


def quoted_status(s: dict[str, Any]) -> dict[str, Any]:
    """The status a post quotes: Mastodon 4.4+ `quote.quoted_status` (when accepted), or a
    status object under `quote` (Fedibird, Akkoma)."""
    q = s.get("quote")
    if not isinstance(q, dict):
        return {}
    inner = q.get("quoted_status")
    if isinstance(inner, dict):
        return inner
    return q if "content" in q else {}


def elsewhere_of(s: dict[str, Any]) -> list[dict[str, str]]:
    """Text outside the status's own text, for relevance: media descriptions (alt text),
    the link card's title and description, a quoted status's text (and its alt texts)."""
    out = [
        {"where": "image_alt", "text": a["description"]}
        for a in s.get("media_attachments") or []
        if isinstance(a, dict) and a.get("description")
    ]
    card = s.get("card") or {}
    card_text = "\n".join(str(card[k]).strip() for k in ("title", "description") if card.get(k))
    if card_text:
        out.append({"where": "link_card", "text": card_text})
    q = quoted_status(s)
    text = html_to_text(q.get("content")) if q else ""
    if text:
        who = full_acct(q.get("account") or {})
        out.append({"where": "quoted_post", "text": (f"@{who}: " if who else "") + text})
    for a in q.get("media_attachments") or [] if q else []:
        if isinstance(a, dict) and a.get("description"):
            out.append({"where": "quoted_post", "text": a["description"]})
    return out


def to_mention(item: dict[str, Any], target: str, fetched_at: datetime, reply_to: str | None) -> Mention:
    """A status as fetched (a boost: the boosted status) as a Mention.  `source_id` is
    the status `uri`, the same on every instance; `raw` is the item as fetched."""
    s = original(item)
    account = s.get("account") or {}
    text = html_to_text(s.get("content"))
    if s.get("spoiler_text"):
        text = f"{s['spoiler_text'].strip()}\n\n{text}".strip()
    poll = s.get("poll") or {}
    if poll.get("options"):
        text += "\n" + "\n".join(f"- {o.get('title', '')}" for o in poll["options"])
    links = html_links(s.get("content"))
    card = s.get("card") or {}
    if card.get("url") and card["url"] not in links:
        links.append(card["url"])
    media = [
        {
            "type": a.get("type"),
            "url": a.get("url") or a.get("remote_url"),
            "preview_url": a.get("preview_url"),
            "alt": a.get("description") or "",
        }
        for a in s.get("media_attachments") or []
    ]
    return Mention(
        source=settings.SOURCE,
        source_id=s.get("uri") or s.get("url") or str(s.get("id")),
        text=text,
        url=s.get("url") or s.get("uri"),
        author=full_acct(account),
        author_id=account.get("uri") or account.get("url"),
        published_at=parse_ts(s.get("created_at")),
        fetched_at=fetched_at,
        target=target,
        lang=s.get("language"),
        links=links,
        has_media=bool(media),
        media=media,
        metrics={
            "replies": int(s.get("replies_count") or 0),
            "reblogs": int(s.get("reblogs_count") or 0),
            "favourites": int(s.get("favourites_count") or 0),
        },
        reply_to=reply_to,
        raw=json.dumps(item, ensure_ascii=False),
        elsewhere=elsewhere_of(s),
    )


class ParentCache:
    """(instance, status id) -> uri, bounded, shared by the fetches of this process."""

    def __init__(self, size: int = settings.PARENT_CACHE_SIZE) -> None:
        self.size = size
        self._d: OrderedDict[tuple[str, str], str] = OrderedDict()

    def get(self, key: tuple[str, str]) -> str | None:
        if key in self._d:
            self._d.move_to_end(key)
            return self._d[key]
        return None

    def put(self, key: tuple[str, str], uri: str) -> None:
        self._d[key] = uri
        self._d.move_to_end(key)
        while len(self._d) > self.size:
            self._d.popitem(last=False)


def error_kind(e: Exception) -> ErrorKind:
    """The type of a failure, from the exception's class and HTTP status (never its text)."""
    if isinstance(e, MastodonRatelimitError):
        return ErrorKind.RATE_LIMITED
    if isinstance(e, MastodonNetworkError):
        cause = e.__cause__ or e.__context__  # Mastodon.py raises it inside `except requests...`
        return ErrorKind.TIMEOUT if isinstance(cause, requests.Timeout) else ErrorKind.NETWORK
    if isinstance(e, MastodonServerError):
        return ErrorKind.SERVER
    if isinstance(e, MastodonAPIError):
        code = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], int) else None
        if code is None:  # Mastodon.py's own "could not parse response as JSON"
            return ErrorKind.BAD_PAYLOAD
        if isinstance(e, MastodonUnauthorizedError) or code in (401, 403):
            return ErrorKind.AUTH
        return ErrorKind.SERVER if code >= 500 else ErrorKind.CLIENT
    if isinstance(e, ValueError):
        return ErrorKind.BAD_PAYLOAD
    return ErrorKind.UNEXPECTED


def classify_error(e: Exception, p: dict[str, Any], endpoint: str) -> tuple[str, str]:
    """(status, one readable line) for a failed request."""
    where = host(p["api_base_url"])
    if isinstance(e, MastodonRatelimitError):
        return "rate_limited", f"rate limited by {where} (429); resumes from the watermark next cycle"
    if isinstance(e, MastodonNetworkError):
        if error_kind(e) is ErrorKind.TIMEOUT:
            return "failed", f"{where} did not answer within {p['timeout_s']:g}s ({endpoint})"
        return "failed", f"network error talking to {where}: {str(e)[:200]}"
    if isinstance(e, MastodonAPIError):
        args = e.args
        if args and isinstance(args[0], str) and args[0].startswith("Could not parse response as JSON"):
            return "failed", f"malformed JSON from {where} ({endpoint})"
        code = args[1] if len(args) > 1 and isinstance(args[1], int) else None
        reason = args[2] if len(args) > 2 else ""
        detail = args[3] if len(args) > 3 and args[3] else ""
        head = f"{code} {reason}".strip() if code else "error"
        line = f"{head} from {where} ({endpoint})" + (f": {detail}" if detail else "")
        token_env = p.get("access_token_env")
        if isinstance(e, MastodonUnauthorizedError) or code in (401, 403):
            hint = (
                f"check the access token in {token_env} for {where}"
                if token_env
                else f"{where} does not serve this without a token (set access_token_env)"
            )
            return "failed", f"{line}: {hint}"
        if isinstance(e, (MastodonServerError, MastodonNotFoundError)):
            return "failed", line
        return "failed", line
    if isinstance(e, ValueError):
        return "failed", f"malformed JSON from {where} ({endpoint})"
    return "failed", f"unexpected {type(e).__name__} talking to {where}: {str(e)[:200]}"
