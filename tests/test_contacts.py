"""Contacts are validated when the config loads (issue 18, point 9): `edumon check-config` says what is
wrong in one line naming the key (and the school), exit 2; good contacts pass."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edumon.cli import main

SCHOOLS = """
[organisation]
name = "Edu-Ley"

[[schools]]
id = "ley-college"
name = "Ley College"
contacts = ["directie@leycollege.example.nl"]

[[schools]]
id = "zonnewijzer"
name = "De Zonnewijzer"
{zonnewijzer}

[alerts]
{alerts}

[digest]
{digest}
"""


def check(tmp_path: Path, zonnewijzer: str = "", alerts: str = "", digest: str = ""):
    p = tmp_path / "edumon.toml"
    p.write_text(SCHOOLS.format(zonnewijzer=zonnewijzer, alerts=alerts, digest=digest), encoding="utf-8")
    return CliRunner().invoke(main, ["check-config", "--config", str(p)])


@pytest.mark.parametrize(
    ("where", "text", "message"),
    [
        (
            "zonnewijzer",
            'contacts = ["directie-zonnewijzer.example.nl"]',
            "schools[1].contacts[0]: expected an e-mail address (local@domain.tld) or an http(s) webhook URL, "
            "got 'directie-zonnewijzer.example.nl' (school 'zonnewijzer')",
        ),
        (
            "zonnewijzer",
            'contacts = ["ftp://files.zonnewijzer.example.nl/alerts"]',
            "schools[1].contacts[0]: a webhook must be an http(s) URL with a host, "
            "got 'ftp://files.zonnewijzer.example.nl/alerts' (school 'zonnewijzer')",
        ),
        (
            "zonnewijzer",
            'contacts = ["https:///hooks/abc"]',
            "schools[1].contacts[0]: a webhook must be an http(s) URL with a host",
        ),
        (
            "zonnewijzer",
            'contacts = ["directie@zonnewijzer"]',
            "schools[1].contacts[0]: expected an e-mail address (local@domain.tld) or an http(s) webhook URL",
        ),
        (
            "zonnewijzer",
            'contacts = ["Directie <directie@zonnewijzer.example.nl>"]',
            "schools[1].contacts[0]: expected an e-mail address",
        ),
        (
            "zonnewijzer",
            "aliases = []",
            "schools[1].aliases: empty for school 'zonnewijzer'; list the names it goes by, "
            "or leave the key out to match its name",
        ),
        (
            "alerts",
            'admin_contacts = ["beheer@edu-ley.example.nl", "ftp://beheer.example.nl"]',
            "alerts.admin_contacts[1]: a webhook must be an http(s) URL with a host",
        ),
        (
            "alerts",
            'email_to = ["https://hooks.example.nl/x"]',
            "alerts.email_to[0]: expected an e-mail address, got 'https://hooks.example.nl/x'",
        ),
        ("alerts", 'email_to = ["veiligheid@@edu-ley.example.nl"]', "alerts.email_to[0]: expected an e-mail address"),
        (
            "digest",
            'recipients = ["communicatie edu-ley.example.nl"]',
            "digest.recipients[0]: expected an e-mail address",
        ),
    ],
)
def test_a_bad_contact_is_one_clean_line_and_exit_2(tmp_path: Path, where: str, text: str, message: str) -> None:
    res = check(tmp_path, **{where: text})
    assert res.exit_code == 2, res.output
    lines = res.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: config error: {message}"), res.output
    assert "Usage" not in res.output and "Traceback" not in res.output


def test_good_contacts_and_left_out_aliases_pass(tmp_path: Path) -> None:
    res = check(
        tmp_path,
        zonnewijzer='contacts = ["directie@zonnewijzer.example.nl", "https://hooks.example.nl/zonnewijzer?t=1", '
        '"http://127.0.0.1:8080/hook", "j.de-vries+alerts@mail.zonnewijzer.example.nl"]',
        alerts='email_to = ["veiligheid@edu-ley.example.nl"]\nadmin_contacts = ["https://beheer.example.nl/hook"]',
        digest='recipients = ["communicatie@edu-ley.example.nl"]',
    )
    assert res.exit_code == 0, res.output
    from core.config import load_config

    cfg = load_config(tmp_path / "edumon.toml")
    assert cfg.school("zonnewijzer").aliases == ["De Zonnewijzer"]  # no aliases key: the name
