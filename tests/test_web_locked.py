"""Issue 17 point 7 against a running review page: while another process holds the warehouse's DuckDB
lock (lock_timeout_s 10), requests do not queue; reads are served from the last answer, writes say
"bezig" at once and keep what was typed; a decision sent twice is saved once."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import pipeline
from core.config import Config
from edumon.web.app import create_app
from tests.locks import hold_lock
from tests.web_helpers import PASSWORDS, SECRET, USERS, LiveServer, all_at_once, browser, post_login, seed


@pytest.fixture
def served(make_config: Callable[..., Config]) -> Iterator[tuple[Config, dict[str, str], str]]:
    cfg = make_config(users=USERS, warehouse={"lock_timeout_s": 10})
    ids = seed(cfg)
    with LiveServer(create_app(cfg, SECRET)) as srv:
        yield cfg, ids, srv.url


def form_of(html: str) -> dict[str, str]:
    """The hidden fields of the action form on a follow-up page."""
    form = html[html.index('id="act-form"') :]
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]+)"', form[: form.index("</form>")]))


def events(cfg: Config, mid: str) -> list[dict[str, Any]]:
    return pipeline.warehouse_for(cfg).query_dicts(
        "SELECT field, to_value, note FROM followup_events WHERE mention_id = ? AND by_whom = 'anna'", [mid]
    )


def test_nothing_queues_behind_a_locked_warehouse(served) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, url = served
    mid = ids["negative"]
    clients = [browser(url) for _ in range(6)]
    for c in clients:
        assert post_login(c, "anna", PASSWORDS["anna"]).status_code == 303
    assert clients[0].get("/").status_code == 200  # the page read the overview once
    hidden = [form_of(c.get(f"/opvolging/{mid}").text) for c in clients]
    holder = hold_lock(Path(cfg.warehouse.path), 30)
    try:
        t0 = time.monotonic()
        pages = all_at_once(6, lambda i: clients[i].get("/"))
        took = time.monotonic() - t0
        assert took < 6, f"6 reads took {took:.1f} s (they queued)"
        for p in pages:
            assert p.status_code == 200 and "u ziet de stand van" in p.text and "Ik ga je opwachten" in p.text
        unseen = clients[1].get("/?status=done")  # never read before: no earlier answer to show
        assert unseen.status_code == 503 and "bezet" in unseen.text
        t0 = time.monotonic()
        notes = [f"Gebeld met ouder {i}" for i in range(4)]
        posts = all_at_once(
            4,
            lambda i: clients[i].post(f"/opvolging/{mid}/actie", data={**hidden[i], "act": "note", "note": notes[i]}),
        )
        took = time.monotonic() - t0
        assert took < 6, f"4 writes took {took:.1f} s (they queued)"
        for i, p in enumerate(posts):
            assert p.status_code == 503 and "bezig" in p.text, p.status_code
            assert notes[i] in p.text  # what was typed is still in the form
    finally:
        holder.kill()
        holder.wait()
    assert events(cfg, mid) == []
    for c in clients:
        c.close()


def test_a_decision_sent_twice_is_saved_once(served) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, url = served
    mid = ids["negative"]
    c = browser(url)
    assert post_login(c, "anna", PASSWORDS["anna"]).status_code == 303
    hidden = form_of(c.get(f"/opvolging/{mid}").text)
    data = {**hidden, "act": "done", "note": "Gesprek gevoerd met de ouder"}
    codes = all_at_once(3, lambda i: c.post(f"/opvolging/{mid}/actie", data=data).status_code)
    assert codes == [303, 303, 303]
    again = c.post(f"/opvolging/{mid}/actie", data=data)
    assert again.status_code == 303
    assert "al opgeslagen" in c.get(f"/opvolging/{mid}").text
    assert events(cfg, mid) == [{"field": "status", "to_value": "done", "note": "Gesprek gevoerd met de ouder"}]
    # a fresh form is a new decision
    fresh = form_of(c.get(f"/opvolging/{mid}").text)
    r = c.post(f"/opvolging/{mid}/actie", data={**fresh, "act": "note", "note": "Ouder belt terug"})
    assert r.status_code == 303 and len(events(cfg, mid)) == 2
    c.close()


def test_a_refused_form_keeps_what_was_typed(served) -> None:  # type: ignore[no-untyped-def]
    cfg, ids, url = served
    mid = ids["negative"]
    c = browser(url)
    post_login(c, "anna", PASSWORDS["anna"])
    hidden = form_of(c.get(f"/opvolging/{mid}").text)
    r = c.post(
        f"/opvolging/{mid}/actie", data={**hidden, "act": "dismissed", "note": "Geen school-gerelateerde klacht"}
    )
    assert r.status_code == 400 and "Kies waarom" in r.text
    assert "Geen school-gerelateerde klacht</textarea>" in r.text
    assert re.search(r'value="dismissed"\s+checked', r.text)
    long = "lang " * 1000
    r = c.post(f"/opvolging/{mid}/actie", data={**hidden, "act": "note", "note": long})
    assert r.status_code == 400 and "het maximum is 4000" in r.text and long.strip() in r.text
    assert events(cfg, mid) == []
    c.close()
