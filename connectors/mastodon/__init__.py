"""Mastodon connector: public hashtag timelines and (with a token) keyword search, via Mastodon.py.

Targets, per configured instance: one per hashtag (`<host>#<tag>`) and, when
`access_token_env` is set, one per query (`<host>?q=<query>`, default the
schools' aliases).

Hashtag timelines walk *forward* from a `min_id` watermark: Mastodon answers
the page just above `min_id`, and the `prev` Link leads to the next newer
page, at most `max_pages` pages per cycle.  The watermark becomes the newest
id seen, so a walk cut short by the cap simply continues next cycle.  The
first cycle starts `lookback_days` back (Mastodon.py turns a datetime into a
snowflake id).

Keyword search (`/api/v2/search`, `type=statuses`, `resolve=false`) filters
with `min_id` and pages by offset; a walk cut short by the cap keeps the
offset and the old `min_id` and finishes next cycle before moving the
watermark.

Rate limits raise (`ratelimit_method="throw"`): the target ends this cycle as
`rate_limited` with its old state, never sleeping.  A boost is the boosted
status; `source_id` is the status `uri`, which is the same on every instance,
so a status seen via two instances or two hashtags is one mention.

`exists(cfg, mentions, secrets)` (in `lookup.py`) asks the instance a status was
fetched from whether it is still there, for deletion at the source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from mastodon import Mastodon
from mastodon.errors import MastodonError, MastodonNotFoundError

from connectors.base import ErrorKind, FetchResult, Target, retry_transient
from connectors.mastodon import settings
from connectors.mastodon.helpers import (
    Capture,
    ParentCache,
    classify_error,
    error_kind,
    host,
    id_key,
    make_client,
    original,
    to_mention,
)
from connectors.mastodon.lookup import exists
from core.config import Config
from core.secrets import Secrets, redact

__all__ = ["targets", "fetch", "tag_timeline", "search_statuses", "exists"]

_parents = ParentCache()


def targets(cfg: Config) -> list[Target]:
    aliases = [a for s in cfg.schools for a in s.aliases]
    out: list[Target] = []
    for src in cfg.sources.mastodon:
        base = src.api_base_url.rstrip("/")
        common = {
            "api_base_url": base,
            "access_token_env": src.access_token_env,
            "max_pages": src.max_pages,
            "page_size": max(1, min(src.page_size, settings.MAX_LIMIT)),
            "timeout_s": src.timeout_s,
            "lookback_days": src.lookback_days,
            "mastodon_version": src.mastodon_version,
            "retries": src.retries,
        }
        seen: set[str] = set()
        for tag in src.hashtags:
            tag = tag.strip().lstrip("#")
            if tag and tag.lower() not in seen:
                seen.add(tag.lower())
                out.append(Target(settings.SOURCE, f"{host(base)}#{tag}", {**common, "kind": "tag", "tag": tag}))
        if src.access_token_env:
            seen = set()
            for q in src.queries or aliases:
                q = q.strip()
                if q and q.lower() not in seen:
                    seen.add(q.lower())
                    out.append(Target(settings.SOURCE, f"{host(base)}?q={q}", {**common, "kind": "search", "query": q}))
    return out


# --- endpoints ---------------------------------------------------------------------------------


def tag_timeline(
    client: Mastodon, capture: Capture, tag: str, *, min_id: Any, limit: int, max_pages: int, retries: int = 0
) -> Iterator[list[dict[str, Any]]]:
    """Pages of a hashtag timeline above `min_id` (an id or a datetime), oldest page first;
    each page as the server sent it (newest first within the page).  The walk follows the
    `prev` Link header until a page is empty or has none: a short page is not the end
    (servers filter statuses after paging, so a page can be short while more exist)."""
    page = _retrying(lambda: client.timeline_hashtag(tag, min_id=min_id, limit=limit), retries)
    for n in range(1, max_pages + 1):
        raw = capture.json()
        if not isinstance(raw, list):
            raise ValueError("a timeline page is not a JSON list")
        yield raw
        if not raw or n == max_pages or getattr(page, "_pagination_prev", None) is None:
            return
        prev = page
        page = _retrying(lambda: client.fetch_previous(prev), retries)
        if page is None:
            return


def _retrying(call: Callable[[], Any], retries: int) -> Any:
    """The connector's one retry layer: timeouts, network errors and 5xx, by type."""
    return retry_transient(call, retries, error_kind)


def search_statuses(
    client: Mastodon,
    capture: Capture,
    q: str,
    *,
    min_id: Any,
    offset: int,
    limit: int,
    max_pages: int,
    retries: int = 0,
) -> Iterator[tuple[list[dict[str, Any]], int]]:
    """Pages of a status search (newest first) above `min_id`, from `offset`:
    (statuses as sent, the offset after this page)."""
    res = _retrying(
        lambda: client.search_v2(
            q, resolve=False, result_type="statuses", min_id=min_id, offset=offset or None, limit=limit
        ),
        retries,
    )
    for n in range(1, max_pages + 1):
        body = capture.json()
        if not isinstance(body, dict) or not isinstance(body.get("statuses"), list):
            raise ValueError("a search answer without a statuses list")
        raw = body["statuses"]
        offset += len(raw)
        yield raw, offset
        if len(raw) < limit or n == max_pages:
            return
        last = res
        res = _retrying(lambda: client.fetch_next(last), retries)
        if res is None:
            return


# --- fetch -------------------------------------------------------------------------------------


def fetch(target: Target, state: dict[str, Any], secrets: Secrets) -> FetchResult:
    p = target.params
    result = FetchResult(target=target, state=dict(state))
    capture = Capture()
    endpoint = f"#{p['tag']} timeline" if p["kind"] == "tag" else "status search"
    token = secrets.get(p.get("access_token_env")) if p.get("access_token_env") else None
    try:
        if p["kind"] == "search" and not token:
            result.status = "failed"
            result.error = (
                f"keyword search on {host(p['api_base_url'])} needs an access token: "
                f"environment variable {p['access_token_env']} is not set"
            )
            return result
        client = make_client(p, token, capture)
        walk = _walk_tag if p["kind"] == "tag" else _walk_search
        walk(client, capture, target, state, result)
    except Exception as e:
        result.status, result.error = classify_error(e, p, endpoint)
        result.error_kind = error_kind(e)
        if result.error_kind in (ErrorKind.NETWORK, ErrorKind.TIMEOUT):
            capture.status = None  # no HTTP status: not the status of an earlier request
    finally:
        if result.status != "ok":
            result.state = dict(state)  # keep the old watermark: the next cycle resumes from it
        if result.error:
            result.error = redact(result.error, secrets.values(p.get("access_token_env")))
        result.requests, result.http_status = capture.requests, capture.status
    return result


def _lookback_id(p: dict[str, Any]) -> str:
    """The first cycle's `min_id`: a snowflake id for `lookback_days` ago (as Mastodon.py
    converts a datetime; Mastodon ids are milliseconds << 16)."""
    since = datetime.now(timezone.utc) - timedelta(days=p["lookback_days"])
    return str((int(since.timestamp()) << 16) * 1000)


def _collect(
    items: list[dict[str, Any]],
    result: FetchResult,
    seen: set[str],
    target: Target,
    now: datetime,
    parent_of: Callable[[dict[str, Any]], str | None],
) -> None:
    for item in items:
        s = original(item)
        sid = s.get("uri") or s.get("url") or str(s.get("id"))
        if sid in seen:
            continue  # a boost and its original, or a status on two pages
        seen.add(sid)
        result.mentions.append(to_mention(item, target.key, now, parent_of(s)))


def _parent_resolver(
    client: Mastodon, p: dict[str, Any]
) -> tuple[Callable[[dict[str, Any]], str | None], dict[str, str]]:
    """reply_to must be the parent's `uri` (its source_id), but a status only names its
    parent by this instance's id: use what this fetch saw, then the process cache, then
    ask the instance (a few lookups per fetch); failing that, an instance-local key."""
    base = p["api_base_url"]
    known: dict[str, str] = {}
    budget = {"left": settings.MAX_PARENT_LOOKUPS}

    def parent_of(s: dict[str, Any]) -> str | None:
        pid = s.get("in_reply_to_id")
        if not pid:
            return None
        pid = str(pid)
        uri = known.get(pid) or _parents.get((base, pid))
        if uri is None and budget["left"] > 0:
            budget["left"] -= 1
            try:
                parent = client.status(pid)
                uri = parent.get("uri") if hasattr(parent, "get") else None
            except MastodonNotFoundError:
                pass  # this parent is gone or private: the next one may well be there
            except MastodonError:
                budget["left"] = 0  # rate limit or error: stop looking up in this fetch
        if uri:
            _parents.put((base, pid), uri)
            return uri
        return f"{base}/api/v1/statuses/{pid}"

    return parent_of, known


def _remember(known: dict[str, str], items: list[dict[str, Any]]) -> None:
    for item in items:
        for s in (item, item.get("reblog") or {}):
            if s.get("id") and s.get("uri"):
                known[str(s["id"])] = s["uri"]


def _walk_tag(client: Mastodon, capture: Capture, target: Target, state: dict[str, Any], result: FetchResult) -> None:
    p = target.params
    now = datetime.now(timezone.utc)
    min_id = state.get("min_id")
    newest = min_id
    seen: set[str] = set()
    parent_of, known = _parent_resolver(client, p)
    pages: list[list[dict[str, Any]]] = []
    try:
        for raw in tag_timeline(
            client,
            capture,
            p["tag"],
            min_id=min_id or _lookback_id(p),
            limit=p["page_size"],
            max_pages=p["max_pages"],
            retries=p.get("retries", 0),
        ):
            pages.append(raw)
            _remember(known, raw)
            for item in raw:
                if item.get("id") and (newest is None or id_key(item["id"]) > id_key(newest)):
                    newest = str(item["id"])
    finally:  # parents are resolved once every page is known; a failure keeps what came before it
        for raw in pages:
            _collect(raw, result, seen, target, now, parent_of)
    result.state = {"min_id": newest} if newest else dict(state)


def _walk_search(
    client: Mastodon, capture: Capture, target: Target, state: dict[str, Any], result: FetchResult
) -> None:
    p = target.params
    now = datetime.now(timezone.utc)
    min_id = state.get("min_id") or _lookback_id(p)
    offset = int(state.get("offset") or 0)
    newest = state.get("pending") if offset else state.get("min_id")
    seen: set[str] = set()
    parent_of, known = _parent_resolver(client, p)
    pages: list[list[dict[str, Any]]] = []
    complete = False
    try:
        for raw, offset in search_statuses(
            client,
            capture,
            p["query"],
            min_id=min_id,
            offset=offset,
            limit=p["page_size"],
            max_pages=p["max_pages"],
            retries=p.get("retries", 0),
        ):
            pages.append(raw)
            _remember(known, raw)
            complete = len(raw) < p["page_size"]
            for item in raw:
                if item.get("id") and (newest is None or id_key(item["id"]) > id_key(newest)):
                    newest = str(item["id"])
    finally:
        for raw in pages:
            _collect(raw, result, seen, target, now, parent_of)
    if complete:
        result.state = {"min_id": newest} if newest else dict(state)
    else:  # the cap stopped the walk: finish it next cycle before moving the watermark
        result.state = {"min_id": min_id, "offset": offset, "pending": newest}
