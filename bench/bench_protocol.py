"""Time the protocol's work after a cycle and the daily digest on a synthetic warehouse; prints figures.

    .venv/bin/python bench/bench_protocol.py [N_HISTORY] [N_NEW]

Builds N_HISTORY mentions (default 50 000) over the last 6 weeks for three schools (a quarter
negative), then N_NEW new mentions (default 1 000, 5 % threats, 5 % insults, a fifth with a
photo) fetched now, and times: `protocol.act` (follow-ups, evidence, flags, alerts, escalation
and delivery to a local webhook), a second `act` (nothing to do), escalation detection alone,
and `build_digest` (HTML and text).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import parse_config  # noqa: E402
from core.mention import Mention  # noqa: E402
from core.secrets import Secrets  # noqa: E402
from digest import build_digest  # noqa: E402
from fakes.server import FakeServer, Response  # noqa: E402
from protocol import act  # noqa: E402
from protocol.act import ActionsReport, check_escalation, handle_new_mentions  # noqa: E402
from protocol.alerts import deliver_pending  # noqa: E402
from protocol.escalation import detect  # noqa: E402
from warehouse import Warehouse, upsert_mentions  # noqa: E402

SCHOOLS = ["ley-college", "regenboog", "rijnland"]


def mention(i: int, t: datetime, rnd: random.Random, new: bool) -> Mention:
    school = SCHOOLS[i % 3]
    r = rnd.random()
    harm = "threat" if new and r < 0.05 else "insult" if new and r < 0.10 else "none"
    sentiment = "negative" if harm != "none" or r < 0.25 else "positive" if r > 0.7 else "neutral"
    media = [{"type": "image", "url": f"https://x.example/{i}.jpg"}] if new and rnd.random() < 0.2 else []
    return Mention(
        source="mastodon",
        source_id=f"{'n' if new else 'h'}{i}",
        url=f"https://social.example/{i}",
        text=f"bericht {i} over {school} <b>{'n' if new else 'h'}{i}</b>",
        author=f"user{i % 500}",
        published_at=t,
        fetched_at=t,
        school_ids=[school],
        sentiment=sentiment,
        harm=harm,
        harm_kind="bedreigen" if harm == "threat" else "kwetsen" if harm == "insult" else None,
        cues=["ik ga je opwachten"] if harm == "threat" else [],
        media=media,
        has_media=bool(media),
        reply_to=f"h{i % 50}" if new and sentiment == "negative" and rnd.random() < 0.3 else None,
        classifier="bench/1",
    )


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    print(f"{label:<52} {time.perf_counter() - t0:8.2f} s")
    return out


def main() -> None:
    n_hist = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    n_new = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    rnd = random.Random(6)
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as d, FakeServer() as hook:
        hook.route("/hook", lambda req: Response(200, b"ok"))
        cfg = parse_config(
            {
                "organisation": {"name": "Bench"},
                "warehouse": {"path": f"{d}/w.duckdb"},
                "schools": [{"id": s, "name": s, "contacts": []} for s in SCHOOLS],
                "alerts": {"webhook_url": hook.url + "/hook"},
            }
        )
        wh = Warehouse(cfg.warehouse.path)
        hist = [
            mention(i, now - timedelta(days=42) + timedelta(seconds=rnd.random() * 42 * 86400 - 3600 * 2), rnd, False)
            for i in range(n_hist)
        ]
        with wh.transaction() as con:
            upsert_mentions(con, hist)
            con.execute("INSERT INTO protocol_done SELECT mention_id, now() FROM mentions")
        new = [mention(i, now - timedelta(minutes=rnd.random() * 60), rnd, True) for i in range(n_new)]
        with wh.transaction() as con:
            upsert_mentions(con, new)
        print(f"history {n_hist} mentions, new {n_new} mentions")
        out = ActionsReport()
        timed(
            f"follow-ups/evidence/flags/alerts for {n_new} new mentions", lambda: handle_new_mentions(cfg, wh, now, out)
        )
        timed("escalation (detect + record)", lambda: check_escalation(cfg, wh, now, out))
        dr = timed("delivery of the alerts to a local webhook", lambda: deliver_pending(cfg, wh, Secrets(), now))
        print(
            f"  -> {len(out.followups)} follow-ups, {out.evidence} evidence, {len(out.flags)} flags, "
            f"{len(out.raised)} alerts raised, {len(dr.sent)} delivered, {len(out.escalations)} escalations"
        )
        timed("act again (nothing new)", lambda: act(cfg, wh, now=now + timedelta(minutes=5)))
        with wh.connect(read_only=True) as con:
            timed("escalation detection alone", lambda: detect(cfg, con, now))
        html = timed("build_digest html (last 24 h)", lambda: build_digest(cfg, None, "html", now=now))
        text = timed("build_digest text (last 24 h)", lambda: build_digest(cfg, None, "text", now=now))
        print(f"  -> html {len(html) / 1024:.0f} KiB, text {len(text) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
