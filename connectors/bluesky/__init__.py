"""Bluesky connector: `app.bsky.feed.searchPosts` per query, through atproto's Client.

One target per (account, query).  Each cycle asks for `sort=latest` posts
`since` the newest post of the previous cycle and follows the cursor for at
most `max_pages` pages.  If the cap stops the walk early, the cursor is kept
and the next cycle continues where this one stopped (still with the old
`since`) before it moves the watermark: nothing between the two is skipped.
The first cycle looks back `lookback_days`.

Login: createSession is limited (about 100 a day), so the session string is
kept with the secrets (`Secrets.save_session`) and reused; atproto refreshes
the access token itself and the refreshed session is saved again.  A session
that no longer works is dropped and the app password is used once more.

`exists(cfg, mentions, secrets)` (in `lookup.py`) asks `app.bsky.feed.getPosts`
whether stored posts are still there, with the same saved session, for deletion
at the source.

State kept per target:
  since       ISO time of the watermark (inclusive on the server side)
  boundary    at-uris of the posts exactly at `since`, so they are not returned twice
  cursor      only while an interrupted walk is being resumed,
  pending / pending_boundary  the watermark that walk will set when it completes
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from atproto import Client
from atproto_client import exceptions as atx
from atproto_client import models
from atproto_client.models.utils import get_response_model

from connectors.base import ErrorKind, FetchResult, Target
from connectors.bluesky import settings
from connectors.bluesky.helpers import host, iso_ms, parse_ts, search_query, sort_at, to_mention, xrpc_error
from connectors.bluesky.lookup import exists
from connectors.bluesky.session import (
    Failure,
    Stats,
    account_lock,
    classify_error,
    drop_session,
    error_kind,
    is_token_error,
    login,
    with_retries,
)
from core.config import Config
from core.secrets import MissingSecret, Secrets, redact

__all__ = ["targets", "fetch", "search_posts", "exists"]


def targets(cfg: Config) -> list[Target]:
    aliases = [a for s in cfg.schools for a in s.aliases]
    out: list[Target] = []
    for src in cfg.sources.bluesky:
        seen: set[str] = set()
        for q in src.queries or aliases:
            if q.strip().lower() in seen:
                continue
            seen.add(q.strip().lower())
            out.append(
                Target(
                    settings.SOURCE,
                    f"{src.handle}|{q.strip()}",
                    {
                        "handle": src.handle,
                        "base_url": src.base_url,
                        "app_password_env": src.app_password_env,
                        "query": q.strip(),
                        "max_pages": src.max_pages,
                        "page_size": max(1, min(src.page_size, settings.MAX_LIMIT)),
                        "timeout_s": src.timeout_s,
                        "lookback_days": src.lookback_days,
                        "retries": src.retries,
                    },
                )
            )
    return out


def search_posts(
    client: Client,
    q: str,
    *,
    since: str | None,
    cursor: str | None,
    limit: int,
    max_pages: int,
    retries: int = 0,
    stats: Stats | None = None,
) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
    """Pages of `app.bsky.feed.searchPosts` (newest first): (posts as fetched, next cursor).
    Stops after `max_pages` pages or when there is no further cursor.  A page that hits a
    transient fault (timeout, dropped connection, 5xx) is asked again up to `retries` times."""
    for _ in range(max_pages):
        params = models.AppBskyFeedSearchPosts.Params(q=q, sort="latest", since=since, limit=limit, cursor=cursor)
        response = with_retries(
            lambda: client.invoke_query(settings.SEARCH_NSID, params=params, output_encoding="application/json"),
            retries,
            stats or Stats(),
        )
        page = get_response_model(response, models.AppBskyFeedSearchPosts.Response)  # validates the shape
        posts = response.content["posts"]
        cursor = page.cursor if posts else None
        yield posts, cursor
        if not cursor:
            return


def fetch(target: Target, state: dict[str, Any], secrets: Secrets) -> FetchResult:
    p = target.params
    result = FetchResult(target=target, state=dict(state))
    stats = Stats()
    try:
        with account_lock(f"{p['base_url']}|{p['handle']}"):
            _walk(target, state, secrets, stats, result)
    except Failure as f:
        result.status, result.error, result.error_kind = f.status, str(f), f.kind
    except MissingSecret as e:
        result.status, result.error, result.error_kind = "failed", str(e), ErrorKind.AUTH
    except Exception as e:
        result.status, result.error = classify_error(e, p)
        result.error_kind = error_kind(e)
    if result.status != "ok":
        result.state = dict(state)  # keep the old watermark: the next cycle resumes from it
    if result.error:
        result.error = redact(result.error, secrets.values(p["app_password_env"]))
    result.requests, result.http_status = stats.requests, stats.status
    if result.error_kind in (ErrorKind.NETWORK, ErrorKind.TIMEOUT):
        result.requests += 1  # the request that got no answer
        result.http_status = None  # no HTTP status: not the status of an earlier request (the login's)
    return result


def _walk(target: Target, state: dict[str, Any], secrets: Secrets, stats: Stats, result: FetchResult) -> None:
    p = target.params
    now = datetime.now(timezone.utc)
    since = state.get("since") or iso_ms(now - timedelta(days=p["lookback_days"]))
    boundary = set(state.get("boundary") or [])
    cursor = state.get("cursor")
    newest = parse_ts(state.get("pending")) if cursor else None
    newest_uris = set(state.get("pending_boundary") or []) if cursor else set()
    seen: set[str] = set()
    pages_done = 0

    client, stored = login(p, secrets, stats, reuse=True)
    while True:
        try:
            for posts, cursor in search_posts(
                client,
                search_query(p["query"]),
                since=since,
                cursor=cursor,
                limit=p["page_size"],
                max_pages=p["max_pages"] - pages_done,
                retries=p.get("retries", 0),
                stats=stats,
            ):
                pages_done += 1
                for post in posts:
                    uri = post.get("uri")
                    if not uri or uri in seen or uri in boundary:
                        continue
                    seen.add(uri)
                    result.mentions.append(to_mention(post, target.key, now))
                    at = sort_at(post)
                    if at and (newest is None or at > newest):
                        newest, newest_uris = at, {uri}
                    elif at and at == newest:
                        newest_uris.add(uri)
            break
        except Exception as e:
            if (
                isinstance(e, atx.BadRequestError)
                and not is_token_error(e)
                and state.get("cursor")
                and cursor == state.get("cursor")
                and pages_done == 0
            ):
                # the kept cursor is no longer accepted: search again from the watermark
                cursor, newest, newest_uris = None, None, set()
                state = {k: v for k, v in state.items() if k != "cursor"}
                continue
            if stored and is_token_error(e):
                # the stored session is dead (expired refresh token, revoked app password): log in again once
                drop_session(p, secrets)
                client, stored = login(p, secrets, stats, reuse=False)
                continue
            if is_token_error(e) or isinstance(e, atx.UnauthorizedError):
                status, name, msg = xrpc_error(e) if isinstance(e, atx.RequestErrorBase) else (None, None, "")
                drop_session(p, secrets)
                raise Failure(
                    "failed",
                    f"{status or ''} {name or 'unauthorized'} from {host(p['base_url'])}: "
                    f"check the app password for {p['handle']}".strip(),
                ) from None
            raise

    if cursor:  # the page cap stopped the walk: resume from the cursor next cycle, same `since`
        result.state = {
            "since": since,
            "boundary": sorted(boundary),
            "cursor": cursor,
            "pending": iso_ms(newest) if newest else since,
            "pending_boundary": sorted(newest_uris),
        }
    elif newest is not None:
        result.state = {"since": iso_ms(newest), "boundary": sorted(newest_uris)}
    else:
        result.state = {"since": since, "boundary": sorted(boundary)}
