"""A fake Mastodon instance: `/api/v1/instance`, `/api/v2/instance` (with
`api_versions`), hashtag timelines with `max_id`/`since_id`/`min_id` and Link
headers, `/api/v2/search` (statuses need a token; offset paging) and
`/api/v1/statuses/:id` (404 once `delete_status(id)` removed it).  Statuses are stored as the API returns them (HTML
content, per-instance ids, the instance-independent `uri`).

    fake = FakeMastodon("mastodon.nl", tokens={"tok"}).start()
    fake.add_status("juf_anna", "<p>Open dag bij het <a ...>#LeyCollege</a></p>", created_at=...)
    m = Mastodon(api_base_url=fake.url, mastodon_version="4.3.0", ...)

Real Mastodon leaves boosts out of hashtag timelines; this fake keeps a boost
in the timeline when its original carries the tag, so the connector's boost
handling can be exercised (other ActivityPub servers do return them).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from connectors.html import html_to_text
from fakes.base import LoggedRequest, ProtocolFake, Reply, iso_z, parse_ts, shift_timestamps


def snowflake(dt: datetime, seq: int) -> str:
    """A Mastodon-style id: milliseconds since the epoch, shifted, plus a sequence."""
    return str((int(dt.timestamp() * 1000) << 16) | (seq & 0xFFFF))


class FakeMastodon(ProtocolFake):
    def __init__(
        self,
        domain: str = "mastodon.nl",
        *,
        tokens: set[str] | None = None,
        version: str = "4.3.0",
        statuses: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self.domain = domain
        self.version = version
        self.tokens = set(tokens or ())
        self.statuses: list[dict[str, Any]] = list(statuses or [])
        self._seq = itertools.count(1)
        self._accounts: dict[str, dict[str, Any]] = {}
        # status ids the server leaves out of a timeline page AFTER paging (as Mastodon does
        # for filtered or blocked accounts): the page is short, its Link header still leads on
        self.filtered: set[str] = set()

    # --- data --------------------------------------------------------------------------

    def account(self, acct: str, display_name: str | None = None) -> dict[str, Any]:
        """The account entity as this instance shows it (`acct` is `user` or `user@domain`)."""
        if acct not in self._accounts:
            user, _, home = acct.partition("@")
            home = home or self.domain
            self._accounts[acct] = {
                "id": str(100000 + len(self._accounts) * 7 + sum(self.domain.encode()) % 5),
                "username": user,
                "acct": acct,
                "display_name": display_name or user.replace("_", " ").title(),
                "locked": False,
                "bot": False,
                "discoverable": True,
                "group": False,
                "created_at": "2023-01-15T00:00:00.000Z",
                "note": "",
                "url": f"https://{home}/@{user}",
                "uri": f"https://{home}/users/{user}",
                "avatar": f"https://{home}/avatars/original/missing.png",
                "avatar_static": f"https://{home}/avatars/original/missing.png",
                "header": f"https://{home}/headers/original/missing.png",
                "header_static": f"https://{home}/headers/original/missing.png",
                "followers_count": 12,
                "following_count": 30,
                "statuses_count": 40,
                "last_status_at": "2025-11-20",
                "emojis": [],
                "fields": [],
            }
        return self._accounts[acct]

    def add_status(
        self,
        acct: str,
        html: str,
        created_at: datetime,
        *,
        tags: list[str] | None = None,
        language: str | None = "nl",
        uri: str | None = None,
        url: str | None = None,
        media: list[str] | None = None,
        in_reply_to_id: str | None = None,
        replies: int = 0,
        reblogs: int = 0,
        favourites: int = 0,
        spoiler_text: str = "",
        card_url: str | None = None,
        card_title: str | None = None,
        card_description: str = "",
        quote_of: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add a status and return it.  `acct` without a domain is a local account; give
        `uri`/`url` of the original to add a federated copy of a remote status."""
        sid = snowflake(created_at, next(self._seq))
        account = self.account(acct)
        home = account["url"].split("/")[2]
        status = {
            "id": sid,
            "created_at": iso_z(created_at),
            "in_reply_to_id": in_reply_to_id,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": spoiler_text,
            "visibility": "public",
            "language": language,
            "uri": uri or f"https://{home}/users/{account['username']}/statuses/{sid}",
            "url": url or f"https://{home}/@{account['username']}/{sid}",
            "replies_count": replies,
            "reblogs_count": reblogs,
            "favourites_count": favourites,
            "edited_at": None,
            "content": html,
            "reblog": None,
            "application": {"name": "Web", "website": None},
            "account": account,
            "media_attachments": [_image(home, sid, i, alt) for i, alt in enumerate(media or [])],
            "mentions": [],
            "emojis": [],
            "card": None,
            "poll": None,
            "tags": [{"name": t.lower(), "url": f"https://{self.domain}/tags/{t.lower()}"} for t in (tags or [])],
        }
        if in_reply_to_id:
            parent = self.get(in_reply_to_id)
            status["in_reply_to_account_id"] = parent["account"]["id"] if parent else None
        if quote_of is not None:  # Mastodon 4.4+: an accepted quote carries the quoted status
            status["quote"] = {"state": "accepted", "quoted_status": quote_of}
        if card_url:
            status["card"] = _link_card(card_url, card_title or card_url, card_description)
        with self._lock:
            self.statuses.append(status)
        return status

    def add_boost(self, acct: str, original: dict[str, Any], created_at: datetime) -> dict[str, Any]:
        """A boost of `original` (a status of this instance) by `acct`."""
        sid = snowflake(created_at, next(self._seq))
        account = self.account(acct)
        boost = {
            **copy.deepcopy(original),
            "id": sid,
            "created_at": iso_z(created_at),
            "uri": f"https://{self.domain}/users/{account['username']}/statuses/{sid}/activity",
            "url": None,
            "content": "",
            "account": account,
            "reblog": original,
            "media_attachments": [],
            "tags": [],
            "card": None,
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
        }
        with self._lock:
            self.statuses.append(boost)
        return boost

    def delete_status(self, sid: str) -> bool:
        """The author deletes a status: it and its boosts are gone (GET answers 404)."""
        with self._lock:
            before = len(self.statuses)
            self.statuses = [
                s for s in self.statuses if s["id"] != str(sid) and (s.get("reblog") or {}).get("id") != str(sid)
            ]
            return len(self.statuses) < before

    def get(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            return next((s for s in self.statuses if s["id"] == str(sid)), None)

    def load(self, statuses: list[dict[str, Any]] | str | Path, *, rebase: bool = True) -> FakeMastodon:
        """Serve statuses as the API returns them (a list, or a JSON file holding one).
        With `rebase`, timestamps are shifted so the newest is a few minutes old;
        ids keep their order."""
        if isinstance(statuses, (str, Path)):
            statuses = json.loads(Path(statuses).read_text(encoding="utf-8"))
        if rebase and statuses:
            newest = max(parse_ts(s["created_at"]) for s in statuses)
            delta = datetime.now(timezone.utc) - timedelta(minutes=5) - newest
            statuses = [shift_timestamps(s, delta, {"created_at", "edited_at"}) for s in statuses]
            # ids are timestamps too (snowflakes): shift them by the same amount, order kept
            shift_ms = int(delta.total_seconds() * 1000)

            def move(sid: Any) -> Any:
                return str(((int(sid) >> 16) + shift_ms) << 16 | (int(sid) & 0xFFFF)) if sid else sid

            for s in statuses:
                for st in (s, s.get("reblog") or {}):
                    if st:
                        st["id"], st["in_reply_to_id"] = move(st.get("id")), move(st.get("in_reply_to_id"))
            for s in statuses:
                for a in (s["account"], (s.get("reblog") or {}).get("account")):
                    if a:
                        a["created_at"] = "2023-01-15T00:00:00.000Z"
        with self._lock:
            self.statuses.extend(statuses)
        return self

    # --- protocol ----------------------------------------------------------------------

    def handle(self, req: LoggedRequest) -> Reply:
        path = req.path.rstrip("/")
        auth = req.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        if token is not None and token not in self.tokens:
            return Reply(401, {"error": "The access token is invalid"})
        if path == "/api/v1/instance":
            return Reply(200, self._instance_v1())
        if path == "/api/v2/instance":
            return Reply(200, self._instance_v2())
        m = re.fullmatch(r"/api/v1/timelines/tag/([^/]+)", path)
        if m:
            return self._tag_timeline(req, m.group(1))
        if path == "/api/v2/search":
            return self._search(req, token)
        m = re.fullmatch(r"/api/v1/statuses/(\d+)", path)
        if m:
            s = self.get(m.group(1))
            return Reply(200, s) if s else Reply(404, {"error": "Record not found"})
        return Reply(404, {"error": "Not Found"})

    def _instance_v1(self) -> dict[str, Any]:
        return {
            "uri": self.domain,
            "title": self.domain,
            "short_description": "",
            "description": "",
            "email": f"admin@{self.domain}",
            "version": self.version,
            "urls": {"streaming_api": f"wss://{self.domain}"},
            "stats": {"user_count": 1000, "status_count": len(self.statuses), "domain_count": 100},
            "thumbnail": None,
            "languages": ["nl"],
            "registrations": False,
            "approval_required": False,
            "invites_enabled": False,
            "configuration": {},
            "contact_account": None,
            "rules": [],
        }

    def _instance_v2(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "title": self.domain,
            "version": self.version,
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "",
            "usage": {"users": {"active_month": 100}},
            "thumbnail": {"url": ""},
            "languages": ["nl"],
            "api_versions": {"mastodon": 2},
            "configuration": {
                "urls": {"streaming": f"wss://{self.domain}"},
                "statuses": {"max_characters": 500},
                "timelines_access": {
                    "live_feeds": {"local": "public", "remote": "public"},
                    "hashtag_feeds": {"local": "public", "remote": "public"},
                    "trending_link_feeds": {"local": "public", "remote": "public"},
                },
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "contact": {"email": f"admin@{self.domain}", "account": None},
            "rules": [],
        }

    @staticmethod
    def _id(s: dict[str, Any]) -> int:
        return int(s["id"])

    def _page(
        self, req: LoggedRequest, statuses: list[dict[str, Any]], default_limit: int = 20
    ) -> tuple[list[dict[str, Any]], int] | Reply:
        try:
            limit = min(int(req.param("limit", default_limit)), 40)
            max_id = int(req.param("max_id")) if req.param("max_id") else None
            since_id = int(req.param("since_id")) if req.param("since_id") else None
            min_id = int(req.param("min_id")) if req.param("min_id") else None
        except ValueError:
            return Reply(422, {"error": "Validation failed: ids and limit must be numbers"})
        items = sorted(statuses, key=self._id, reverse=True)
        if max_id is not None:
            items = [s for s in items if self._id(s) < max_id]
        if since_id is not None:
            items = [s for s in items if self._id(s) > since_id]
        if min_id is not None:
            # the `limit` statuses just above min_id, still newest first
            items = [s for s in items if self._id(s) > min_id][-limit:]
        return items[:limit], limit

    def _tag_timeline(self, req: LoggedRequest, tag: str) -> Reply:
        tag = tag.lower()

        def has_tag(s: dict[str, Any]) -> bool:
            orig = s.get("reblog") or s
            return any(t["name"].lower() == tag for t in orig.get("tags", []))

        with self._lock:
            matching = [s for s in self.statuses if has_tag(s)]
        paged = self._page(req, matching)
        if isinstance(paged, Reply):
            return paged
        page, limit = paged
        headers = {}
        shown = [s for s in page if s["id"] not in self.filtered]
        if page:
            base = f"http://{req.headers.get('host')}{req.path}"
            extra = {k: v for k, v in req.params.items() if k in ("local", "remote", "only_media")}
            nxt = urlencode({**extra, "limit": limit, "max_id": page[-1]["id"]})
            prev = urlencode({**extra, "limit": limit, "min_id": page[0]["id"]})
            headers["Link"] = f'<{base}?{nxt}>; rel="next", <{base}?{prev}>; rel="prev"'
        return Reply(200, shown, headers)

    def _search(self, req: LoggedRequest, token: str | None) -> Reply:
        q = (req.param("q") or "").strip()
        kind = req.param("type")
        if not q:
            return Reply(400, {"error": "Validation failed: q is missing"})
        if not token and (kind in (None, "statuses") or req.param("offset")):
            return Reply(
                401,
                {
                    "error": "Search queries that resolve remote resources or use "
                    "pagination are not supported without authentication"
                },
            )
        terms = [t for t in re.split(r"\s+", q.replace('"', " ")) if t]
        patterns = [re.compile(rf"(?<!\w){re.escape(t)}(?!\w)", re.I) for t in terms]
        with self._lock:
            hits = [
                s
                for s in self.statuses
                if not s.get("reblog") and all(p.search(html_to_text(s["content"])) for p in patterns)
            ]
        try:
            offset = int(req.param("offset", 0) or 0)
            limit = min(int(req.param("limit", 20)), 40)
            min_id = int(req.param("min_id")) if req.param("min_id") else None
            max_id = int(req.param("max_id")) if req.param("max_id") else None
        except ValueError:
            return Reply(422, {"error": "Validation failed: ids, offset and limit must be numbers"})
        items = sorted(hits, key=self._id, reverse=True)
        if min_id is not None:
            items = [s for s in items if self._id(s) > min_id]
        if max_id is not None:
            items = [s for s in items if self._id(s) < max_id]
        statuses = items[offset : offset + limit] if kind in (None, "statuses") else []
        return Reply(200, {"accounts": [], "statuses": statuses, "hashtags": []})


def _image(home: str, sid: str, i: int, alt: str) -> dict[str, Any]:
    """A media attachment as Mastodon returns it: an image with its alt text (`description`)."""
    files = f"https://{home}/system/media_attachments/files/{sid}"
    return {
        "id": str(900000 + i),
        "type": "image",
        "url": f"{files}/{i}.jpg",
        "preview_url": f"{files}/{i}_small.jpg",
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": {},
        "description": alt,
        "blurhash": "UeKUpFxuo~R%0nW;WCnhF6RjaJt757oJodS$",
    }


def _link_card(url: str, title: str, description: str) -> dict[str, Any]:
    """A status's preview card for a link."""
    return {
        "url": url,
        "title": title,
        "description": description,
        "type": "link",
        "author_name": "",
        "author_url": "",
        "provider_name": "",
        "provider_url": "",
        "html": "",
        "width": 0,
        "height": 0,
        "image": None,
        "embed_url": "",
        "blurhash": None,
    }
