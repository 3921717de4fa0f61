"""Issue 17's security points against a running review page (uvicorn on 127.0.0.1), with concurrent
HTTP clients: the login limits hold under concurrency, nobody can lock a user out, failed usernames
stay bounded, and sessions end (logout, password change, `edumon web end-sessions`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from click.testing import CliRunner

from core.config import Config
from core.passwords import hash_password
from edumon.cli import main
from edumon.cli.cycle import to_toml
from edumon.web.app import create_app
from tests.web_helpers import (
    PASSWORDS,
    SECRET,
    LiveServer,
    all_at_once,
    browser,
    post_login,
    review_config,
    seed,
    token,
)


@pytest.fixture
def served(make_config: Callable[..., Config]) -> Iterator[tuple[Config, Any, str]]:
    cfg = review_config(make_config)
    seed(cfg)
    app = create_app(cfg, SECRET)
    with LiveServer(app) as srv:
        yield cfg, app, srv.url


def test_concurrent_guesses_are_counted_before_they_are_checked(served) -> None:  # type: ignore[no-untyped-def]
    cfg, app, url = served
    clients = [browser(url) for _ in range(30)]
    toks = [token(c) for c in clients]
    codes = all_at_once(30, lambda i: post_login(clients[i], "anna", f"gok-{i}", toks[i]).status_code)
    assert codes.count(401) == 3, codes  # three free attempts were checked; the other 27 never were
    assert codes.count(429) == 27, codes
    right = post_login(clients[0], "anna", PASSWORDS["anna"])
    assert right.status_code == 429 and "Probeer het over" in right.text and int(right.headers["retry-after"]) >= 1
    assert clients[0].get("/").headers["location"] == "/login"
    for c in clients:
        c.close()


def test_nobody_can_lock_a_user_out_from_another_client(served) -> None:  # type: ignore[no-untyped-def]
    cfg, app, url = served
    attacker = browser(url, "127.0.0.2")
    refused = [post_login(attacker, "anna", f"gok-{i}").status_code for i in range(30)]
    assert refused.count(429) >= 25
    anna = browser(url, "127.0.0.3")
    r = post_login(anna, "anna", PASSWORDS["anna"])
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert anna.get("/").status_code == 200
    # and a client that spreads guesses over many usernames is held to 30 attempts a minute
    spread = [post_login(attacker, f"user{i}", "x").status_code for i in range(40)]
    assert 429 in spread and spread.count(401) <= 30
    attacker.close()
    anna.close()


def test_failed_usernames_are_bounded_in_memory_and_truncated_in_the_log(served, caplog) -> None:  # type: ignore[no-untyped-def]
    cfg, app, url = served
    c = browser(url, "127.0.0.4")
    caplog.set_level(logging.WARNING, logger="edumon.web")
    long = "x" * 60_000
    for i in range(20):
        r = post_login(c, f"{i}{long}", "fout")
        assert r.status_code in (401, 429)
        assert long not in r.text  # the form shows back at most 64 characters
    records = [r for r in caplog.records if r.name == "edumon.web"]
    assert records and max(len(r.getMessage()) for r in records) < 200
    big = c.post("/login", data={"username": "y" * 100_000, "password": "x", "csrf_token": token(c)})
    assert big.status_code == 413
    limiter = app.state.site.limiter
    limiter.max_keys = 50
    for i in range(500):
        limiter.begin(f"naam-{i}", f"10.0.{i // 250}.{i % 250}")
    assert limiter.size() <= 3 * 50
    c.close()


def test_logout_ends_the_session_on_the_server(served) -> None:  # type: ignore[no-untyped-def]
    cfg, app, url = served
    c = browser(url)
    assert post_login(c, "anna", PASSWORDS["anna"]).status_code == 303
    copied = dict(c.cookies)
    thief = browser(url, "127.0.0.5")
    thief.cookies.update(copied)
    assert thief.get("/").status_code == 200
    assert c.post("/logout", data={"csrf_token": token(c, "/")}).status_code == 303
    assert thief.get("/").headers["location"] == "/login"  # the copied cookie is worth nothing now
    c.close()
    thief.close()


def test_a_changed_password_and_end_sessions_end_older_sessions(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg, app, url = served
    anna1, anna2, bert = browser(url), browser(url, "127.0.0.6"), browser(url, "127.0.0.7")
    for c, name in ((anna1, "anna"), (anna2, "anna"), (bert, "bert")):
        assert post_login(c, name, PASSWORDS[name]).status_code == 303
    path = tmp_path / "web.toml"
    path.write_text(to_toml(cfg), encoding="utf-8")
    r = CliRunner().invoke(main, ["web", "end-sessions", "--config", str(path), "anna"])
    assert r.exit_code == 0 and "ended 2 sessions of anna" in r.output, r.output
    assert anna1.get("/").headers["location"] == "/login"
    assert anna2.get("/").headers["location"] == "/login"
    assert bert.get("/").status_code == 200  # another user's session stays
    # bert's password_hash changes in the config and the page restarts: his old cookie ends
    users = [
        replace(u, password_hash=hash_password("nieuw-wachtwoord", n=2**10)) if u.username == "bert" else u
        for u in cfg.users
    ]
    cfg2 = replace(cfg, users=users)
    with LiveServer(create_app(cfg2, SECRET)) as srv2:
        again = browser(srv2.url)
        again.cookies.update(dict(bert.cookies))
        assert again.get("/").headers["location"] == "/login"
        assert post_login(again, "bert", "nieuw-wachtwoord").status_code == 303
        again.close()
    for c in (anna1, anna2, bert):
        c.close()
