"""Mastodon hashtag streams (`/api/v1/streaming/hashtag`) through Mastodon.py's stream listener,
for `edumon listen`.  Mastodon keeps no cursor for a stream: what arrives while the listener is
down is found by the scheduled cycle's hashtag timeline (the backfill); a status seen by both is
one mention (`source_id` is the status `uri`, as in the cycle)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from mastodon.streaming import StreamListener

from connectors.mastodon import settings
from connectors.mastodon.helpers import Capture, host, make_client, to_mention
from core.config import MastodonSource
from core.mention import Mention

RECONNECT_WAIT_S = 5


def stream_key(api_base_url: str, tag: str) -> str:
    """The stream's name in `stream_state` and `source_runs` (its own health group, not the instance's)."""
    return f"stream {host(api_base_url.rstrip('/'))}#{tag}"


def stream_tags(src: MastodonSource) -> list[str]:
    """The hashtags of an instance with `stream = true` (none without)."""
    if not src.stream:
        return []
    return list(dict.fromkeys(t.strip().lstrip("#") for t in src.hashtags if t.strip().lstrip("#")))


def plain(entity: Any) -> dict[str, Any]:
    """A Mastodon.py entity back as plain JSON values (dates as ISO text), as the REST answers look."""

    def default(o: Any) -> Any:
        if isinstance(o, (datetime, date)):
            return o.isoformat()
        return str(o)

    return json.loads(json.dumps(entity, default=default))


def status_mention(entity: Any, api_base_url: str, key: str, fetched_at: datetime) -> Mention:
    """A streamed status as a Mention; a reply names its parent by the instance-local key (the stream
    sends no parent `uri`; the cycle's timeline stores the same status with the parent's `uri`)."""
    item = plain(entity)
    s = item.get("reblog") or item
    pid = s.get("in_reply_to_id")
    parent = f"{api_base_url.rstrip('/')}/api/v1/statuses/{pid}" if pid else None
    return to_mention(item, key, fetched_at, parent)


class Listener(StreamListener):
    """Hands each `update` to `on_status`; reports losses (`on_abort`) and liveness (heartbeats)."""

    def __init__(self, on_status: Callable[[Any], None], on_state: Callable[[bool, str | None], None]) -> None:
        super().__init__()
        self.on_status = on_status
        self.on_state = on_state

    def on_update(self, status: Any) -> None:
        self.on_state(True, None)
        self.on_status(status)

    def on_status_update(self, status: Any) -> None:  # an edit: same uri, stored once
        self.on_update(status)

    def handle_heartbeat(self) -> None:
        self.on_state(True, None)

    def on_abort(self, err: Exception) -> None:
        self.on_state(False, f"{type(err).__name__}: {err}"[:300])

    def on_unknown_event(self, name: str, unknown_event: Any = None) -> None:
        pass  # new event kinds must not stop the stream


def follow_hashtag(src: MastodonSource, tag: str, token: str | None, listener: Listener) -> Any:
    """Start following one hashtag in a thread (Mastodon.py reconnects by itself); returns the
    stream handle (`close()` stops it, `is_receiving()` says whether it is connected)."""
    p = {
        "api_base_url": src.api_base_url.rstrip("/"),
        "mastodon_version": src.mastodon_version,
        "timeout_s": src.timeout_s,
    }
    client = make_client(p, token, Capture())
    client.user_agent = settings.USER_AGENT
    return client.stream_hashtag(
        tag, listener, run_async=True, reconnect_async=True, reconnect_async_wait_sec=RECONNECT_WAIT_S
    )
