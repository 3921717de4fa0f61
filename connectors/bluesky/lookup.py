"""Are stored Bluesky posts still there?  `app.bsky.feed.getPosts`, 25 at-uris a request.

A post the AppView no longer has (deleted by its author, or its account gone) is
simply absent from the answer: absent = gone.  The login is the search
connector's: the saved session is reused (and refreshed, and saved again); a dead
one is dropped and the app password used once more.  A 429 stops the checks for
this run (the posts not asked keep their turn); a server or network error stops
them too, the batch it hit counts as "could not tell".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atproto import Client
from atproto_client import exceptions as atx
from atproto_client import models

from connectors.base import Existence
from connectors.bluesky import settings
from connectors.bluesky.session import Failure, Stats, account_lock, classify_error, drop_session, is_token_error, login
from core.config import BlueskySource, Config
from core.mention import Mention
from core.secrets import MissingSecret, Secrets, redact

GET_POSTS_NSID = "app.bsky.feed.getPosts"
GET_POSTS_MAX = 25  # getPosts refuses more uris per request


def _params(src: BlueskySource) -> dict[str, Any]:
    return {
        "handle": src.handle,
        "base_url": src.base_url,
        "app_password_env": src.app_password_env,
        "timeout_s": src.timeout_s,
    }


def _account_of(m: Mention, sources: list[BlueskySource]) -> int:
    """The configured account that found the post (target `handle|query`), else the first:
    any account may ask the AppView about any public post."""
    handle = (m.target or "").split("|", 1)[0]
    return next((i for i, s in enumerate(sources) if s.handle == handle), 0)


def exists(cfg: Config, mentions: Sequence[Mention], secrets: Secrets) -> Existence:
    """mention_id -> True (still there) / False (gone) / None (could not tell) for Bluesky
    posts (`source_id` = at-uri); posts not asked are left out (see `Existence`)."""
    out = Existence()
    sources = cfg.sources.bluesky
    if not sources:
        if mentions:
            out.notes.append("bluesky: no account configured, posts not checked")
        return out
    groups: dict[int, list[Mention]] = {}
    for m in mentions:
        if not m.source_id.startswith("at://"):
            out.answers[m.mention_id] = None  # not an at-uri: nothing to ask
            continue
        groups.setdefault(_account_of(m, sources), []).append(m)
    for i, ms in groups.items():
        p = _params(sources[i])
        stats = Stats()
        try:
            with account_lock(f"{p['base_url']}|{p['handle']}"):
                stopped = _ask(p, ms, secrets, stats, out)
        finally:
            out.requests += stats.requests
        if stopped:  # a rate limit or an outage: no further Bluesky checks this run
            break
    return out


def _ask(p: dict[str, Any], mentions: list[Mention], secrets: Secrets, stats: Stats, out: Existence) -> bool:
    """Ask in batches; True when the checks had to stop early (a note says why)."""
    try:
        client, stored = login(p, secrets, stats, reuse=True)
    except (Failure, MissingSecret) as e:
        out.notes.append(redact(f"bluesky: {e}; posts not checked", secrets.values(p["app_password_env"])))
        return True
    except Exception as e:
        out.notes.append(_note(e, p, secrets, len(mentions)))
        return True
    for start in range(0, len(mentions), GET_POSTS_MAX):
        batch = mentions[start : start + GET_POSTS_MAX]
        try:
            found, client, stored = _get_posts(client, stored, p, secrets, stats, [m.source_id for m in batch])
        except atx.RateLimitExceededError as e:
            out.notes.append(_note(e, p, secrets, len(mentions) - start))
            return True
        except atx.BadRequestError as e:  # something about this batch: the next one may do
            for m in batch:
                out.answers[m.mention_id] = None
            out.notes.append(_note(e, p, secrets, 0))
            continue
        except Exception as e:  # server, network, login, malformed answer: stop
            for m in batch:
                out.answers[m.mention_id] = None
            out.notes.append(_note(e, p, secrets, len(mentions) - start - len(batch)))
            return True
        for m in batch:
            out.answers[m.mention_id] = m.source_id in found
    return False


def _get_posts(
    client: Client, stored: bool, p: dict[str, Any], secrets: Secrets, stats: Stats, uris: list[str]
) -> tuple[set[str], Client, bool]:
    """The at-uris among `uris` the AppView still has; logs in again once when the stored
    session is no longer accepted (exactly as the search connector)."""
    while True:
        try:
            res = client.app.bsky.feed.get_posts(models.AppBskyFeedGetPosts.Params(uris=uris))
            return {post.uri for post in res.posts}, client, stored
        except Exception as e:
            if stored and is_token_error(e):
                drop_session(p, secrets)
                client, stored = login(p, secrets, stats, reuse=False)
                continue
            raise


def _note(e: Exception, p: dict[str, Any], secrets: Secrets, left: int) -> str:
    _, line = classify_error(e, p)
    line = line.replace(settings.SEARCH_NSID, GET_POSTS_NSID).replace("; resumes from the watermark next cycle", "")
    tail = f"; {left} posts wait for the next run" if left else ""
    return redact(f"bluesky: {line}{tail}", secrets.values(p["app_password_env"]))
