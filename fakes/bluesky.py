"""A fake Bluesky PDS/AppView speaking XRPC: createSession, refreshSession and
app.bsky.feed.searchPosts with `sort=latest`, `since`/`until`, `limit` (<= 100)
and cursor paging, and app.bsky.feed.getPosts (up to 25 at-uris; a deleted post is
simply absent from the answer, as on the real AppView: `delete_post(uri)`).  Tokens are JWT-shaped (base64url header.payload.signature,
with `exp`), so atproto's Client can decide when to refresh them.

    fake = FakeBluesky(accounts={"edumon.bsky.social": "app-pass-1234"}).start()
    fake.add_post("ouder.bsky.social", "Trots op het Ley College!", created_at=...)
    client = atproto.Client(base_url=fake.url)
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets as _secrets
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fakes.base import LoggedRequest, ProtocolFake, Reply, iso_z, parse_ts, shift_timestamps

_B32_SORT = "234567abcdefghijklmnopqrstuvwxyz"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(did: str, scope: str, ttl_s: int) -> str:
    now = int(time.time())
    header = _b64url(json.dumps({"typ": "at+jwt", "alg": "ES256K"}).encode())
    payload = _b64url(
        json.dumps(
            {
                "scope": scope,
                "sub": did,
                "iat": now,
                "exp": now + ttl_s,
                "aud": "did:web:fake.pds",
                "jti": _secrets.token_hex(8),
            }
        ).encode()
    )
    return f"{header}.{payload}.{_b64url(_secrets.token_bytes(32))}"


def did_for(handle: str) -> str:
    digest = hashlib.sha256(handle.encode()).digest()
    return "did:plc:" + "".join(_B32_SORT[b % 32] for b in digest[:24])


def tid(dt: datetime, clock: int = 0) -> str:
    """A record key in the atproto TID format (13 sortable base32 characters)."""
    n = (int(dt.timestamp() * 1_000_000) << 10) | (clock & 0x3FF)
    out = ""
    for _ in range(13):
        out = _B32_SORT[n & 31] + out
        n >>= 5
    return out


def sort_at(post: dict[str, Any]) -> datetime:
    """The AppView's sort timestamp: the earlier of createdAt and indexedAt."""
    created = parse_ts(post["record"]["createdAt"])
    indexed = parse_ts(post.get("indexedAt") or post["record"]["createdAt"])
    return min(created, indexed)


class FakeBluesky(ProtocolFake):
    def __init__(
        self,
        accounts: dict[str, str] | None = None,
        posts: list[dict[str, Any]] | None = None,
        access_ttl_s: int = 2 * 3600,
    ) -> None:
        super().__init__()
        self.accounts = dict(accounts or {"edumon.bsky.social": "app-pass-1234"})
        self.posts: list[dict[str, Any]] = list(posts or [])
        self.access_ttl_s = access_ttl_s
        self._access: dict[str, str] = {}  # token -> handle
        self._refresh: dict[str, str] = {}
        self._clock = itertools.count()

    # --- data --------------------------------------------------------------------------

    def add_post(
        self,
        handle: str,
        text: str,
        created_at: datetime,
        *,
        langs: list[str] | None = None,
        links: list[str] | None = None,
        images: list[str] | None = None,
        reply_to: str | None = None,
        likes: int = 0,
        reposts: int = 0,
        replies: int = 0,
        indexed_at: datetime | None = None,
        display_name: str | None = None,
        embed: dict[str, Any] | None = None,
        author_handle: str | None = None,
    ) -> dict[str, Any]:
        """Add a post as the AppView would return it (a PostView) and return it.
        Each link is appended to the text with a link facet (byte offsets);
        `images` are alt texts of attached images; `reply_to` is the parent's at-uri;
        `embed` a view for the PostView (`gallery_view`, `external_view`, `quote_view`)."""
        did = did_for(handle)
        rkey = tid(created_at, next(self._clock))
        uri = f"at://{did}/app.bsky.feed.post/{rkey}"
        text, facets = _with_link_facets(text, links or [])
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": iso_z(created_at),
            "langs": langs or ["nl"],
        }
        if facets:
            record["facets"] = facets
        post: dict[str, Any] = {
            "uri": uri,
            "cid": "bafyrei" + hashlib.sha256(uri.encode()).hexdigest()[:52],
            "author": {
                "did": did,
                "handle": handle,
                "displayName": display_name or handle.split(".")[0].title(),
                "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkrei@jpeg",
                "labels": [],
                "createdAt": "2023-09-01T10:00:00.000Z",
            },
            "record": record,
            "replyCount": replies,
            "repostCount": reposts,
            "likeCount": likes,
            "quoteCount": 0,
            "indexedAt": iso_z(indexed_at or created_at + timedelta(seconds=1)),
            "labels": [],
        }
        if images:
            record["embed"], post["embed"] = _image_embeds(did, images)
        if embed is not None:  # a view from gallery_view / external_view / quote_view
            post["embed"] = embed
        if author_handle is not None:  # e.g. "handle.invalid": the AppView could not verify the handle
            post["author"]["handle"] = author_handle
        if reply_to:
            parent = {"uri": reply_to, "cid": "bafyrei" + hashlib.sha256(reply_to.encode()).hexdigest()[:52]}
            record["reply"] = {"root": parent, "parent": parent}
        with self._lock:
            self.posts.append(post)
        return post

    def delete_post(self, uri: str) -> bool:
        """The author deletes a post: search and getPosts no longer return it."""
        with self._lock:
            before = len(self.posts)
            self.posts = [p for p in self.posts if p["uri"] != uri]
            return len(self.posts) < before

    def load(self, path: str | Path, *, rebase: bool = True) -> FakeBluesky:
        """Serve the PostViews in a JSON file (a list, or {"posts": [...]}).  With `rebase`,
        timestamps are shifted so the newest post is a few minutes old."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        posts = data["posts"] if isinstance(data, dict) else data
        if rebase and posts:
            newest = max(sort_at(p) for p in posts)
            delta = datetime.now(timezone.utc) - timedelta(minutes=5) - newest
            posts = shift_timestamps(posts, delta, {"createdAt", "indexedAt"})
            for p in posts:  # the author's own createdAt is not a post time
                p["author"]["createdAt"] = "2023-09-01T10:00:00.000Z"
        with self._lock:
            self.posts.extend(posts)
        return self

    # --- protocol ----------------------------------------------------------------------

    def handle(self, req: LoggedRequest) -> Reply:
        nsid = req.path.removeprefix("/xrpc/")
        if nsid == "com.atproto.server.createSession" and req.method == "POST":
            return self._create_session(req)
        if nsid == "com.atproto.server.refreshSession" and req.method == "POST":
            return self._refresh_session(req)
        if nsid == "app.bsky.feed.searchPosts" and req.method == "GET":
            return self._search_posts(req)
        if nsid == "app.bsky.feed.getPosts" and req.method == "GET":
            return self._get_posts(req)
        if nsid == "_health":
            return Reply(200, {"version": "0.4.0-fake"})
        return Reply(501, {"error": "MethodNotImplemented", "message": f"Method Not Implemented: {nsid}"})

    def _session_body(self, handle: str) -> dict[str, Any]:
        did = did_for(handle)
        access = make_jwt(did, "com.atproto.appPass", self.access_ttl_s)
        refresh = make_jwt(did, "com.atproto.refresh", 90 * 86400)
        self._access[access] = handle
        self._refresh[refresh] = handle
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": handle,
            "did": did,
            "email": f"{handle.split('.')[0]}@example.nl",
            "emailConfirmed": True,
            "active": True,
        }

    def _create_session(self, req: LoggedRequest) -> Reply:
        try:
            data = json.loads(req.body or b"{}")
        except ValueError:
            return Reply(400, {"error": "InvalidRequest", "message": "Request body is not JSON"})
        ident, password = data.get("identifier"), data.get("password")
        if not ident or not password:
            return Reply(400, {"error": "InvalidRequest", "message": "Input/identifier and password are required"})
        with self._lock:
            if self.accounts.get(ident) != password:
                return Reply(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
            return Reply(200, self._session_body(ident))

    def _bearer(self, req: LoggedRequest) -> str | None:
        auth = req.headers.get("authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    def _refresh_session(self, req: LoggedRequest) -> Reply:
        token = self._bearer(req)
        with self._lock:
            handle = self._refresh.pop(token or "", None)
            if not handle:
                return Reply(400, {"error": "ExpiredToken", "message": "Token has been revoked"})
            return Reply(200, self._session_body(handle))

    def _check_access(self, req: LoggedRequest) -> Reply | None:
        token = self._bearer(req)
        if not token:
            return Reply(401, {"error": "AuthMissing", "message": "Authentication Required"})
        with self._lock:
            if token not in self._access:
                return Reply(401, {"error": "InvalidToken", "message": "Token could not be verified"})
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        if payload["exp"] < time.time():
            return Reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
        return None

    def _search_posts(self, req: LoggedRequest) -> Reply:
        denied = self._check_access(req)
        if denied:
            return denied
        q = req.param("q")
        if not q:
            return Reply(400, {"error": "InvalidRequest", "message": 'Error: Params must have the property "q"'})
        try:
            limit = int(req.param("limit", 25))
            offset = int(req.param("cursor", 0) or 0)
        except ValueError:
            return Reply(400, {"error": "InvalidRequest", "message": "Error: limit/cursor must be an integer"})
        if not 1 <= limit <= 100:
            return Reply(400, {"error": "InvalidRequest", "message": "Error: limit must be between 1 and 100"})
        terms = [t for t in re.split(r"\s+", q.replace('"', " ").strip()) if t]
        patterns = [re.compile(rf"(?<!\w){re.escape(t)}(?!\w)", re.I) for t in terms]
        since = parse_ts(req.param("since")) if req.param("since") else None
        until = parse_ts(req.param("until")) if req.param("until") else None
        with self._lock:
            hits = [
                p
                for p in self.posts
                if all(pt.search(p["record"]["text"]) for pt in patterns)
                and (since is None or sort_at(p) >= since)
                and (until is None or sort_at(p) < until)
            ]
        hits.sort(key=lambda p: (sort_at(p), p["uri"]), reverse=(req.param("sort", "latest") != "oldest"))
        page = hits[offset : offset + limit]
        body: dict[str, Any] = {"posts": page, "hitsTotal": len(hits)}
        if offset + limit < len(hits):
            body["cursor"] = str(offset + limit)
        return Reply(200, body)

    def _get_posts(self, req: LoggedRequest) -> Reply:
        """PostViews of the given at-uris, in the order asked; unknown or deleted ones left out."""
        denied = self._check_access(req)
        if denied:
            return denied
        uris = req.param("uris")
        uris = [uris] if isinstance(uris, str) else list(uris or [])
        if not uris:
            return Reply(400, {"error": "InvalidRequest", "message": 'Error: Params must have the property "uris"'})
        if len(uris) > 25:
            return Reply(400, {"error": "InvalidRequest", "message": "Error: uris must not have more than 25 elements"})
        with self._lock:
            by_uri = {p["uri"]: p for p in self.posts}
        return Reply(200, {"posts": [by_uri[u] for u in uris if u in by_uri]})


# --- embed views (what the AppView puts in a PostView's `embed`) ------------------------------


def gallery_view(did: str, alts: list[str]) -> dict[str, Any]:
    """`app.bsky.embed.gallery#view`: images as items with fullsize/thumbnail/alt."""
    return {
        "$type": "app.bsky.embed.gallery#view",
        "items": [
            {
                "$type": "app.bsky.embed.gallery#viewImage",
                "fullsize": f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/bafkreig{i}@jpeg",
                "thumbnail": f"https://cdn.bsky.app/img/feed_thumbnail/plain/{did}/bafkreig{i}@jpeg",
                "alt": alt,
                "aspectRatio": {"width": 4, "height": 3},
            }
            for i, alt in enumerate(alts)
        ],
    }


def external_view(uri: str, title: str, description: str = "") -> dict[str, Any]:
    """`app.bsky.embed.external#view`: a link card."""
    return {
        "$type": "app.bsky.embed.external#view",
        "external": {"uri": uri, "title": title, "description": description},
    }


def quote_view(quoted: dict[str, Any]) -> dict[str, Any]:
    """`app.bsky.embed.record#view` of a quoted post (a PostView from `add_post`)."""
    return {
        "$type": "app.bsky.embed.record#view",
        "record": {
            "$type": "app.bsky.embed.record#viewRecord",
            "uri": quoted["uri"],
            "cid": quoted["cid"],
            "author": quoted["author"],
            "value": quoted["record"],
            "indexedAt": quoted["indexedAt"],
            "embeds": [quoted["embed"]] if quoted.get("embed") else [],
        },
    }


def _with_link_facets(text: str, links: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """The text with each link appended, and a link facet (byte offsets) per link."""
    facets = []
    for link in links:
        text = text + " " + link
        end = len(text.encode("utf-8"))
        facets.append(
            {
                "$type": "app.bsky.richtext.facet",
                "index": {"byteStart": end - len(link.encode("utf-8")), "byteEnd": end},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": link}],
            }
        )
    return text, facets


def _image_embeds(did: str, alts: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the record's app.bsky.embed.images, the PostView's #view) for images with these alt texts."""

    def blob(i: int) -> dict[str, Any]:
        return {"$type": "blob", "ref": {"$link": f"bafkrei{i}"}, "mimeType": "image/jpeg", "size": 123456}

    record = {
        "$type": "app.bsky.embed.images",
        "images": [{"alt": alt, "image": blob(i)} for i, alt in enumerate(alts)],
    }
    cdn = "https://cdn.bsky.app/img"
    view = {
        "$type": "app.bsky.embed.images#view",
        "images": [
            {
                "thumb": f"{cdn}/feed_thumbnail/plain/{did}/bafkrei{i}@jpeg",
                "fullsize": f"{cdn}/feed_fullsize/plain/{did}/bafkrei{i}@jpeg",
                "alt": alt,
            }
            for i, alt in enumerate(alts)
        ],
    }
    return record, view
