"""A config mistake is one line naming the key path, never a stack trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from core.config import ConfigError, load_config
from edumon.cli import main

REPO = Path(__file__).resolve().parents[1]

GOOD = """
[organisation]
name = "Edu-Ley"
[[schools]]
id = "ley-college"
name = "Ley College"
aliases = ["Ley College"]
[[sources.rss]]
url = "https://example.nl/feed.xml"
"""


def check(tmp_path: Path, text: str) -> str:
    p = tmp_path / "edumon.toml"
    p.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["check-config", "--config", str(p)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    err = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert len(err) == 1, result.output
    return err[0]


def test_example_config_is_valid() -> None:
    cfg = load_config(REPO / "config" / "example.toml")
    assert cfg.organisation.name == "Edu-Ley"
    assert [s.id for s in cfg.schools] == ["ley-college", "regenboog-leiderdorp", "rijnland-lyceum-ley"]
    assert cfg.school("regenboog-leiderdorp").context == ["Leiderdorp"]
    assert cfg.sources.bluesky[0].app_password_env == "EDUMON_BLUESKY_APP_PASSWORD"


def test_good_config_via_cli(tmp_path: Path) -> None:
    p = tmp_path / "ok.toml"
    p.write_text(GOOD)
    result = CliRunner().invoke(main, ["check-config", "--config", str(p)])
    assert result.exit_code == 0, result.output
    assert "1 schools, 1 feeds" in result.output


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD + "\n[warehouse]\npth = 'x.duckdb'\n", "warehouse.pth: unknown key"),
        (
            GOOD.replace('aliases = ["Ley College"]', 'aliases = "Ley College"'),
            "schools[0].aliases: expected a list of strings, got a string",
        ),
        (GOOD.replace('name = "Ley College"\n', ""), "schools[0].name: missing required key"),
        (
            GOOD.replace('[organisation]\nname = "Edu-Ley"', '[organisation]\ntimezone = "Europe/Amsterdam"'),
            "organisation.name: missing required key",
        ),
        (
            GOOD + "\n[warehouse]\nlock_timeout_s = 'long'\n",
            "warehouse.lock_timeout_s: expected a number, got a string",
        ),
        (
            GOOD.replace('url = "https://example.nl/feed.xml"', 'url = "ftp://example.nl/feed.xml"'),
            "sources.rss[0].url: expected an http(s) URL",
        ),
        (
            GOOD.replace(
                '[organisation]\nname = "Edu-Ley"', '[organisation]\nname = "Edu-Ley"\ntimezone = "Mars/Olympus"'
            ),
            "organisation.timezone: unknown time zone",
        ),
        (GOOD + '\n[[schools]]\nid = "ley-college"\nname = "Copy"\n', "schools[1].id: duplicate school id"),
        (
            GOOD + "\n[[sources.bluesky]]\nhandle = 'me.example.nl'\n",
            "sources.bluesky[0].app_password_env: missing required key",
        ),
        (GOOD + "\nthis is not toml\n", "not valid TOML"),
    ],
)
def test_each_mistake_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    assert message in check(tmp_path, text)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    result = CliRunner().invoke(main, ["check-config", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2 and "config file not found" in result.output
