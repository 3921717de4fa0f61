"""Shared by the review page's tests: users, a warehouse filled by a real fake cycle, a live server."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

import pipeline
from core.config import Config, RssSource
from core.mention import Mention
from core.passwords import hash_password
from fakes.rss import rss_xml
from fakes.server import FakeServer, Response
from warehouse import save_labels, upsert_mentions

SECRET = "test-secret-for-the-review-page-0123456789"
PASSWORDS = {
    "anna": "anna-wachtwoord",
    "bert": "bert-wachtwoord",
    "carla": "carla-wachtwoord",
    "dirk": "dirk-wachtwoord",
}
_HASHES = {u: hash_password(p, n=2**10) for u, p in PASSWORDS.items()}  # cheap scrypt: tests log in often
USERS = [
    {"username": "anna", "role": "comms", "name": "Anna de Vries", "password_hash": _HASHES["anna"]},
    {"username": "bert", "role": "leader", "schools": ["ley-college"], "password_hash": _HASHES["bert"]},
    {"username": "carla", "role": "leader", "schools": ["regenboog-leiderdorp"], "password_hash": _HASHES["carla"]},
    {"username": "dirk", "role": "analyst", "password_hash": _HASHES["dirk"]},
]

NOW = datetime.now(timezone.utc)
_PUB = (NOW - timedelta(hours=2)).strftime("%a, %d %b %Y %H:%M:%S +0000")
FEED = [
    {
        "title": "Dreiging op het Ley College",
        "link": "https://forum.example.nl/t/1",
        "guid": "t1",
        "pubDate": _PUB,
        "description": "Ik ga je opwachten na school, meester Jansen van het Ley College. Ik weet waar je woont.",
    },
    {
        "title": "Ouders boos over De Regenboog in Leiderdorp",
        "link": "https://forum.example.nl/t/2",
        "guid": "t2",
        "pubDate": _PUB,
        "description": "Wat een kutschool, die De Regenboog in Leiderdorp. Die juf is een idioot.",
    },
    {
        "title": "Ley College: rooster is chaos",
        "link": "https://forum.example.nl/t/3",
        "guid": "t3",
        "pubDate": _PUB,
        "description": "Het rooster van het Ley College is weer chaos, ouders zijn boos.",
    },
    {
        "title": "Ley College wint debatwedstrijd",
        "link": "https://forum.example.nl/t/4",
        "guid": "t4",
        "pubDate": _PUB,
        "description": "Geweldig, leerlingen van het Ley College wonnen de finale. Trots!",
    },
]
XSS_TEXT = '<script>alert("xss")</script><img src=x onerror=alert(1)> Ley College is een kankerschool'


def review_config(make_config: Callable[..., Config], rss: list[str] | None = None) -> Config:
    return make_config(rss=rss, users=USERS)


def seed(cfg: Config) -> dict[str, str]:
    """A real monitoring cycle against a fake forum feed, the protocol's actions after it, and one
    hostile post (script in the text, a javascript: link); returns the mention ids by name."""
    from protocol.act import act
    from protocol.followups import create_followups

    with FakeServer() as srv:
        srv.route("/forum.xml", lambda req: Response(200, rss_xml(FEED), {"Content-Type": "application/rss+xml"}))
        srv.route("/hook", lambda req: Response(200, b"ok"))
        cfg.sources.rss = [RssSource(url=srv.url + "/forum.xml", retries=1, timeout_s=5)]
        cfg.alerts.webhook_url = srv.url + "/hook"  # alerts are raised and delivered
        report = pipeline.run_cycle(cfg)
        assert report.ok, report
        wh = pipeline.warehouse_for(cfg)
        act(cfg, wh, report)
    hostile = Mention(
        source="mastodon",
        source_id="https://mastodon.example/@troll/666",
        text=XSS_TEXT,
        url="javascript:alert(document.cookie)",
        author='<b>troll</b>"',
        published_at=NOW - timedelta(hours=1),
        fetched_at=NOW,
        school_ids=["ley-college"],
        sentiment="negative",
        harm="insult",
        harm_kind="kwetsen",
        cues=["<kankerschool>"],
        classifier="lexicon/0.1",
        raw='{"content": "<script>"}',
    )
    with wh.transaction() as con:
        upsert_mentions(con, [hostile])
        save_labels(con, [hostile])
        create_followups(con, [hostile], NOW)
    ids: dict[str, str] = {"hostile": hostile.mention_id}
    for name, guid in (("threat", "t1"), ("insult", "t2"), ("negative", "t3"), ("positive", "t4")):
        row = wh.query("SELECT mention_id FROM mentions WHERE source_id = ?", [guid])
        assert row, f"the cycle did not store {guid}"
        ids[name] = row[0][0]
    return ids


def followup(cfg: Config, mention_id: str) -> dict[str, Any]:
    wh = pipeline.warehouse_for(cfg)
    rows = wh.query_dicts("SELECT * FROM followups WHERE mention_id = ?", [mention_id])
    return rows[0] if rows else {}


class LiveServer:
    """The app served by uvicorn on 127.0.0.1 in a background thread (for the browser tests)."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the review page did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def chromium_driver(user_data_dir: str, width: int = 1280, height: int = 1400) -> Any:
    """Debian's headless chromium driven by Debian's chromedriver (no downloads)."""
    import os

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch a browser
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={user_data_dir}",
        f"--window-size={width},{height}",
        "--lang=nl-NL",
    ):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


# --- concurrent HTTP clients against a running page (issue 17) ---------------------------------


def submit(driver: Any, button: Any) -> None:
    """Click a submit button and wait until the next page has replaced this one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 10).until(EC.staleness_of(old))


def log_in(driver: Any, url: str, username: str) -> None:
    """Log in on the real login form and check it landed on the start page."""
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(url + "/login")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORDS[username])
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button"))
    assert driver.current_url.rstrip("/") == url, driver.find_element(By.TAG_NAME, "main").text


def browser(url: str, client_ip: str = "127.0.0.1") -> httpx.Client:
    """A client with its own cookies, connecting from `client_ip` (any 127.x address on Linux)."""
    transport = httpx.HTTPTransport(local_address=client_ip)
    return httpx.Client(base_url=url, transport=transport, follow_redirects=False, timeout=30)


def token(c: httpx.Client, path: str = "/login") -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', c.get(path).text)
    assert m, path
    return m.group(1)


def post_login(c: httpx.Client, username: str, password: str, tok: str | None = None) -> httpx.Response:
    return c.post("/login", data={"username": username, "password": password, "csrf_token": tok or token(c)})


def all_at_once(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(0..n-1) in n threads released together; their results in order."""
    results: list[Any] = [None] * n
    gate = threading.Barrier(n)

    def run(i: int) -> None:
        gate.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
