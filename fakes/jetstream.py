"""A local Jetstream: the Bluesky firehose's JSON-over-WebSocket protocol on 127.0.0.1.

    with FakeJetstream() as js:
        js.post("did:plc:abc", "Ley College ...")          # a live commit event, time_us = now
        url = js.url                                        # ws://127.0.0.1:PORT/subscribe

Like the real server it honours `wantedCollections` and `cursor`: a client that connects
with `cursor=T` first gets every kept event with `time_us >= T` (the replay), then the
live ones.  Without a cursor it gets only live events.  `drop_clients()` closes every
connection (a dropped connection), `events` is what the server ever emitted, and
`replay_at_full_speed` preloads a generated hour the server then sends as fast as it can.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.protocol import State

from fakes.base import iso_z

POST = "app.bsky.feed.post"


def post_event(did: str, rkey: str, text: str, time_us: int, **record: Any) -> dict[str, Any]:
    """A Jetstream commit event that creates a post."""
    created = datetime.fromtimestamp(time_us / 1e6, timezone.utc)
    rec = {"$type": POST, "text": text, "createdAt": iso_z(created), "langs": ["nl"], **record}
    return {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": f"3l{rkey}",
            "operation": "create",
            "collection": POST,
            "rkey": rkey,
            "record": rec,
            "cid": f"bafyrei{rkey}",
        },
    }


class FakeJetstream:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []  # oldest first, time_us increasing
        self._encoded: list[bytes | str] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._clients: set[ServerConnection] = set()
        self._wake: asyncio.Condition | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._port = 0
        self._rkeys = itertools.count(1)
        self.connections: list[dict[str, list[str]]] = []  # the query of every connect

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeJetstream:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="FakeJetstream", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Jetstream did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> FakeJetstream:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/subscribe"

    # --- events ------------------------------------------------------------------------

    def now_us(self) -> int:
        """Now in microseconds, strictly after the last event (cursors are unique here)."""
        t = time.time_ns() // 1000
        with self._lock:
            return max(t, self.events[-1]["time_us"] + 1) if self.events else t

    def emit(self, event: dict[str, Any]) -> dict[str, Any]:
        """Keep an event and send it to every connected client (that wants its collection)."""
        self.extend([event])
        return event

    def extend(self, events: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            for e in events:
                self.events.append(e)
                self._encoded.append(json.dumps(e, ensure_ascii=False))
        if self._loop and self._wake:
            asyncio.run_coroutine_threadsafe(self._notify(), self._loop)

    def post(self, did: str, text: str, *, rkey: str | None = None, **record: Any) -> dict[str, Any]:
        """Emit a live post by `did` now; returns the event."""
        return self.emit(post_event(did, rkey or f"3k{next(self._rkeys):09d}", text, self.now_us(), **record))

    def drop_clients(self) -> None:
        """Close every open connection (clients see a dropped connection and reconnect)."""
        if self._loop:
            for ws in list(self._clients):
                asyncio.run_coroutine_threadsafe(ws.close(1011, "dropped"), self._loop)

    # --- server ------------------------------------------------------------------------

    async def _notify(self) -> None:
        assert self._wake is not None
        async with self._wake:
            self._wake.notify_all()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Condition()
        self._stop = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", 0, max_size=2**22) as server:
            self._port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def _start_index(self, cursor: int | None) -> int:
        with self._lock:
            if cursor is None:
                return len(self.events)
            lo, hi = 0, len(self.events)
            while lo < hi:  # first event with time_us >= cursor
                mid = (lo + hi) // 2
                if self.events[mid]["time_us"] < cursor:
                    lo = mid + 1
                else:
                    hi = mid
            return lo

    async def _handler(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)
        self.connections.append(query)
        wanted = set(query.get("wantedCollections", []))
        cursor = int(query["cursor"][0]) if query.get("cursor") else None
        i = self._start_index(cursor)
        self._clients.add(ws)
        assert self._wake is not None
        try:
            while True:
                with self._lock:
                    batch = list(zip(self.events[i : i + 500], self._encoded[i : i + 500]))
                if not batch:
                    if ws.state is not State.OPEN:
                        return
                    try:
                        async with self._wake:
                            await asyncio.wait_for(self._wake.wait(), 0.5)
                    except TimeoutError:
                        pass
                    continue
                i += len(batch)
                for event, raw in batch:
                    collection = (event.get("commit") or {}).get("collection")
                    if wanted and collection and collection not in wanted:
                        continue
                    await ws.send(raw)
        except Exception:  # the client went away or we dropped it
            return
        finally:
            self._clients.discard(ws)
