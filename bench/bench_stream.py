"""`edumon listen` under load, against a local Jetstream (a separate process) on 127.0.0.1.

1. latency: threats emitted one by one into a live stream (noise around them) -> the alert
   webhook; prints the distribution (target: every one within 60 s).
2. throughput: a generated hour of Jetstream post events at an ASSUMED public rate, replayed at
   full speed from a cursor; matching every event, storing and classifying the matches; prints
   events/s, the multiple of the assumed public rate, and the listener's peak memory (RSS).

    .venv/bin/python bench/bench_stream.py [--threats 20] [--rate 60] [--minutes 60] [--classifier default]

The public rate is an assumption (no internet here): Bluesky posts about 4-6 million posts a day,
i.e. ~50-70 `app.bsky.feed.post` events per second on Jetstream with `wantedCollections` set
(the all-collections firehose, mostly likes and follows, is ~10-20x that and is not asked for).
`--rate 60` is the default; pass your own observed figure.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from bench.machine import describe  # noqa: E402
from classifiers import load_classifier  # noqa: E402
from core.config import parse_config  # noqa: E402
from core.mention import utcnow  # noqa: E402
from core.secrets import Secrets  # noqa: E402
from fakes.jetstream import FakeJetstream, post_event  # noqa: E402
from fakes.server import FakeServer, Request, Response  # noqa: E402
from pipeline import listen as pl  # noqa: E402

HOOK = "/hook"
WORDS = (
    "vandaag morgen school trein koffie weekend voetbal muziek film regen zon fiets werk "
    "the and of to in is for that with this on you it at be are was have just like new"
).split()
SCHOOLS = [
    {"id": f"s{i}", "name": f"Testschool {i}", "aliases": [f"Testschool {i}", f"TS{i}-college"]} for i in range(30)
]
THREAT = "Morgen neem ik een mes mee naar Testschool {n}, dan zullen ze het merken."


def config(tmp: Path, url: str, hook_url: str, classifier: str) -> Any:
    return parse_config(
        {
            "organisation": {"name": "bench"},
            "warehouse": {"path": str(tmp / "w.duckdb")},
            "schools": SCHOOLS,
            "sources": {"jetstream": [{"url": url}]},
            "alerts": {"webhook_url": hook_url},
            "classifier": {"backend": classifier},
            "escalation": {"enabled": False},
        }
    )


def noise(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))


def generated_hour(rate: float, minutes: float, match_every: int, seed: int = 7) -> list[dict[str, Any]]:
    """`rate` post events per second for `minutes`, ending now; one in `match_every` names a school."""
    rng = random.Random(seed)
    n = int(rate * minutes * 60)
    start = time.time_ns() // 1000 - int(minutes * 60 * 1e6)
    step = int(minutes * 60 * 1e6 / n)
    out = []
    for i in range(n):
        text = noise(rng)
        if i % match_every == 0:
            text = f"{text} bij Testschool {rng.randrange(30)} vandaag"
        out.append(post_event(f"did:plc:{rng.getrandbits(60):015x}", f"3k{i:011d}", text, start + i * step))
    return out


def serve(info: Any, cmds: Any, rate: float, minutes: float, match_every: int) -> None:
    """The Jetstream process: preloads the generated hour, then serves; emits live posts on command."""
    import queue

    fake = FakeJetstream().start()
    fake.extend(generated_hour(rate, minutes, match_every) if rate else [])
    texts = [e["commit"]["record"]["text"] for e in fake.events]
    info.put(
        (
            fake.url,
            fake.events[0]["time_us"] if fake.events else None,
            len(texts),
            sum("Testschool" in t for t in texts),
        )
    )
    while True:
        try:
            cmd = cmds.get(timeout=0.1)
        except queue.Empty:
            continue
        if cmd[0] == "stop":
            break
        if cmd[0] == "threat":
            fake.post("did:plc:dreiger", THREAT.format(n=cmd[1]))
        elif cmd[0] == "noise":
            for _ in range(cmd[1]):
                fake.post("did:plc:ruis", "gewoon een bericht over het weer en de trein")
    fake.stop()


def jetstream_process(rate: float, minutes: float, match_every: int) -> tuple[Any, Any, tuple[Any, ...]]:
    ctx = mp.get_context("spawn")
    info, cmds = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=serve, args=(info, cmds, rate, minutes, match_every), daemon=True)
    proc.start()
    return proc, cmds, info.get(timeout=600)


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}

    def __call__(self, req: Request) -> Response:
        body = req.body.decode("utf-8", "replace")
        for n in range(1000):
            if f"Testschool {n}," in body and f"t{n}" not in self.arrived:
                self.arrived[f"t{n}"] = time.time()
        return Response(200, b"ok")


def run_listener(cfg: Any, stop: threading.Event, counts: dict[str, int]) -> threading.Thread:
    def seen(out: pl.BatchOutcome) -> None:
        if out.report is not None:
            counts["stored"] += len(out.report.stored)
            counts["matched"] += out.matched

    classifier = load_classifier(cfg.classifier)
    t = threading.Thread(target=lambda: pl.listen(cfg, classifier, Secrets(environ={}), stop, on_batch=seen))
    t.start()
    return t


def latency(threats: int, classifier: str) -> list[float]:
    proc, cmds, (url, _, _, _) = jetstream_process(0, 0, 1)
    recv = Receiver()
    with FakeServer() as srv, tempfile.TemporaryDirectory() as tmp:
        srv.route(HOOK, recv)
        cfg = config(Path(tmp), url, srv.url + HOOK, classifier)
        stop, counts = threading.Event(), {"stored": 0, "matched": 0}
        t = run_listener(cfg, stop, counts)
        time.sleep(3)
        sent: dict[str, float] = {}
        rng = random.Random(3)
        for n in range(threats):
            cmds.put(("noise", rng.randint(10, 200)))
            sent[f"t{n}"] = time.time()
            cmds.put(("threat", n))
            time.sleep(rng.uniform(0.5, 4.0))
        deadline = time.time() + 90
        while len(recv.arrived) < threats and time.time() < deadline:
            time.sleep(0.1)
        stop.set()
        t.join()
    cmds.put(("stop",))
    proc.join(10)
    missing = threats - len(recv.arrived)
    if missing:
        print(f"  ! {missing} threats never reached the webhook within 90 s")
    return sorted(recv.arrived[k] - sent[k] for k in recv.arrived)


def throughput(rate: float, minutes: float, match_every: int, classifier: str) -> dict[str, float]:
    from warehouse import warehouse_for
    from warehouse.streams import save_streams

    t0 = time.time()
    proc, cmds, (url, first_us, n_events, n_matches) = jetstream_process(rate, minutes, match_every)
    gen_s = time.time() - t0
    with FakeServer() as srv, tempfile.TemporaryDirectory() as tmp:
        srv.route(HOOK, Receiver())
        cfg = config(Path(tmp), url, srv.url + HOOK, classifier)
        cfg.sources.jetstream[0].rewind_s = 0.000001
        with warehouse_for(cfg).transaction() as con:  # resume at the start of the generated hour
            row = {"stream": f"jetstream {url}", "source": "bluesky", "cursor_us": first_us, "connected": False}
            save_streams(con, [row], utcnow())
        load_classifier(cfg.classifier)  # the model is loaded before the clock starts
        stop, counts = threading.Event(), {"stored": 0, "matched": 0}
        seen: dict[str, Any] = {}
        start = time.monotonic()
        t = threading.Thread(
            target=lambda: pl.listen(
                cfg,
                load_classifier(cfg.classifier),
                Secrets(environ={}),
                stop,
                on_batch=lambda out: counts.__setitem__(
                    "stored", counts["stored"] + (len(out.report.stored) if out.report else 0)
                ),
                on_start=lambda state: seen.setdefault("state", state),
            )
        )
        t.start()
        while "state" not in seen:
            time.sleep(0.01)
        feed = seen["state"].feed
        done_events = None
        while time.monotonic() - start < 1800:
            events = sum(st.events for st in feed.snapshot())
            if done_events is None and events >= n_events:
                done_events = time.monotonic() - start
            if done_events is not None and counts["stored"] >= n_matches:
                break
            time.sleep(0.05)
        done_all = time.monotonic() - start
        stop.set()
        t.join()
    cmds.put(("stop",))
    proc.join(10)
    return {
        "events": n_events,
        "matches": n_matches,
        "stored": counts["stored"],
        "events_s": n_events / done_events if done_events else 0.0,
        "all_s": done_all,
        "events_done_s": done_events or float("nan"),
        "generate_s": gen_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threats", type=int, default=20)
    ap.add_argument("--rate", type=float, default=60.0, help="assumed public post events per second")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--match-every", type=int, default=1000, help="one event in N names a school")
    ap.add_argument("--classifier", default="default")
    ap.add_argument("--skip-latency", action="store_true")
    a = ap.parse_args()
    print(describe())
    print(f"load average at start: {os.getloadavg()}")
    if not a.skip_latency:
        lat = latency(a.threats, a.classifier)
        if lat:
            p90 = lat[max(0, math.ceil(0.9 * len(lat)) - 1)]  # nearest rank
            print(
                f"latency threat event -> webhook ({len(lat)} of {a.threats} threats, batch every 3 s, "
                f"classifier {a.classifier}): min {lat[0]:.2f} s, median {statistics.median(lat):.2f} s, "
                f"p90 {p90:.2f} s, max {lat[-1]:.2f} s (target: 60 s)"
            )
    r = throughput(a.rate, a.minutes, a.match_every, a.classifier)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"throughput: {r['events']} events ({a.minutes:g} min at {a.rate:g}/s), {r['matches']} naming a school; "
        f"all events matched in {r['events_done_s']:.1f} s = {r['events_s']:.0f} events/s = "
        f"{r['events_s'] / a.rate:.0f}x the assumed public rate of {a.rate:g} post events/s; "
        f"{r['stored']} stored and classified after {r['all_s']:.1f} s; listener peak RSS {rss:.0f} MB "
        f"(the Jetstream server is another process)"
    )


if __name__ == "__main__":
    main()
