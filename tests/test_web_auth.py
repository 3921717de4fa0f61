"""Accounts of the review page: password hashes, roles and schools in the config, `edumon web` start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from core.config import ConfigError, WebUser
from core.passwords import hash_password, is_password_hash, verify_password
from edumon.cli import main
from edumon.cli.cycle import to_toml
from edumon.web.auth import LoginLimiter, authenticate, visible_schools

FAST = {"n": 2**4}  # a cheap scrypt for tests that make many hashes


def test_hash_and_verify() -> None:
    h = hash_password("correct horse battery")
    assert h.startswith("scrypt$16384$8$1$") and is_password_hash(h)
    assert verify_password("correct horse battery", h)
    assert not verify_password("correct horse batterY", h)
    assert hash_password("correct horse battery") != h  # salted
    assert not is_password_hash("correct horse battery")  # a plain password is not a hash
    assert not verify_password("x", "scrypt$15$8$1$AAAA$BBBB")  # malformed: refused, no crash


def test_roles_decide_which_schools() -> None:
    ids = ["ley-college", "regenboog-leiderdorp"]
    h = hash_password("x" * 10, **FAST)
    assert visible_schools(WebUser("a", "comms", h), ids) == ids
    assert visible_schools(WebUser("b", "leader", h, ["regenboog-leiderdorp"]), ids) == ["regenboog-leiderdorp"]
    assert visible_schools(WebUser("c", "analyst", h), ids) == []


def test_authenticate_and_throttle() -> None:
    users = [WebUser("anna", "comms", hash_password("geheim-wachtwoord", **FAST))]
    assert authenticate(users, "anna", "geheim-wachtwoord") is users[0]
    assert authenticate(users, "anna", "fout") is None
    assert authenticate(users, "niemand", "geheim-wachtwoord") is None
    clock = [1000.0]
    t = LoginLimiter(free=3, clock=lambda: clock[0])
    for _ in range(3):
        assert t.begin("Anna", "10.0.0.1") == 0  # counted before the password is checked
    assert t.begin("anna", "10.0.0.1") == 1.0  # then a wait, doubling with each failure
    assert t.begin("anna", "10.0.0.2") == 0  # another client is not locked out
    clock[0] += 1.0
    assert t.begin("anna", "10.0.0.1") == 0
    assert t.begin("anna", "10.0.0.1") == 2.0
    t.succeeded("anna", "10.0.0.1")
    assert t.begin("anna", "10.0.0.1") == 0


def user(**kw):  # type: ignore[no-untyped-def]
    return {
        "username": "bert",
        "role": "leader",
        "schools": ["ley-college"],
        "password_hash": hash_password("y" * 12, **FAST),
        **kw,
    }


@pytest.mark.parametrize(
    "override, message",
    [
        ({"role": "admin"}, "users[0].role: expected one of comms, leader, analyst"),
        ({"password_hash": "hunter2hunter2"}, "users[0].password_hash: not a hash"),
        ({"schools": []}, "users[0].schools: a leader needs at least one school id"),
        ({"schools": ["nergens"]}, "users[0].schools[0]: unknown school id 'nergens'"),
        ({"password": "x"}, "users[0].password: unknown key"),
    ],
)
def test_bad_users_are_one_line_config_errors(make_config, override, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make_config(users=[user(**override)])


def test_duplicate_usernames_refused(make_config) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="duplicate username 'bert'"):
        make_config(users=[user(), user()])


def test_hash_password_cli() -> None:
    r = CliRunner().invoke(main, ["web", "hash-password", "--stdin"], input="een lang wachtwoord\n")
    assert r.exit_code == 0, r.output
    h = r.output.strip()
    assert is_password_hash(h) and verify_password("een lang wachtwoord", h)
    r = CliRunner().invoke(main, ["web", "hash-password", "--stdin"], input="kort\n")
    assert r.exit_code == 1 and "at least 10 characters" in r.output


def test_web_refuses_to_start_without_secret_or_users(tmp_path: Path, make_config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("EDUMON_WEB_SECRET", raising=False)
    path = tmp_path / "c.toml"
    path.write_text(to_toml(make_config()), encoding="utf-8")
    r = CliRunner().invoke(main, ["web", "--config", str(path)])
    assert r.exit_code == 1 and "no [[users]]" in r.output
    path.write_text(to_toml(make_config(users=[user()])), encoding="utf-8")
    r = CliRunner().invoke(main, ["web", "--config", str(path)])
    assert r.exit_code == 1 and "environment variable EDUMON_WEB_SECRET is not set" in r.output
    monkeypatch.setenv("EDUMON_WEB_SECRET", "short")
    r = CliRunner().invoke(main, ["web", "--config", str(path)])
    assert r.exit_code == 1 and "at least 32 characters" in r.output
    r = CliRunner().invoke(main, ["web"])
    assert r.exit_code == 2 and "Missing option '--config'" in r.output
