"""Start-up noise (issue 18.10): an error is one line, with no usage screen before it, and
Prefect's usage-data notice or telemetry never shows, in a real terminal too."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_config

from edumon.cli import main

BIN = Path(sys.executable).parent


def clean_env(home: Path) -> dict[str, str]:
    """This environment without anything that already turns Prefect's analytics off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    for k in ("DO_NOT_TRACK", "CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL"):
        env.pop(k, None)
    return {**env, "PREFECT_HOME": str(home), "TERM": "dumb"}


def in_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, list[str]]:
    """Run `edumon args` with stdout and stderr on a pseudo-terminal, as a person would."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [str(BIN / "edumon"), *args], stdin=follower, stdout=follower, stderr=follower, env=env, cwd=cwd
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process is gone
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    code = proc.wait(timeout=120)
    return code, [ln for ln in out.decode(errors="replace").replace("\r", "").splitlines() if ln.strip()]


@pytest.mark.parametrize(
    "case, expected",
    [
        ("bad", "Error: config error: schools: missing required key"),
        ("dir", "Error: Invalid value for '--config'"),
        ("missing", "Error: Missing option '--config'."),
    ],
)
def test_a_config_error_at_start_is_one_line_in_a_terminal(tmp_path, case, expected):
    bad = tmp_path / "bad.toml"
    bad.write_text('[organisation]\nname = "x"\ntimezone = "Europe/Amsterdam"\n', encoding="utf-8")
    args = {"bad": ["--config", str(bad)], "dir": ["--config", str(tmp_path)], "missing": []}[case]
    code, lines = in_a_terminal(["serve", *args], clean_env(tmp_path / "prefect-home"), tmp_path)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(expected), lines  # no "Usage:", no telemetry notice


def test_prefect_analytics_are_off_before_prefect_is_imported(tmp_path):
    code = (
        "import sys, edumon.cli\n"
        "from prefect.settings import get_current_settings\n"
        "from prefect._internal.analytics import is_telemetry_enabled\n"
        "print(get_current_settings().server.analytics_enabled, is_telemetry_enabled())\n"
    )
    env = clean_env(tmp_path)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.stdout.split() == ["False", "False"], res.stderr
    # an administrator who wants them on says so, and is heard
    res = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.stdout.split() == ["True", "False"], res.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["serve"], "Error: Missing option '--config'. (see 'edumon serve --help')"),
        (["--bogus"], "Error: No such option '--bogus'"),
        (["nosuch"], "Error: No such command 'nosuch'. (see 'edumon --help')"),
        (["serve", "--config", "CFG", "--limit", "x"], "Error: Invalid value for '--limit'"),
        (["web", "end-sessions", "--nope"], "Error: No such option '--nope'"),
    ],
)
def test_a_usage_error_is_one_line_exit_2(tmp_path, args, message):
    cfg = write_config(tmp_path, [])
    res = CliRunner().invoke(main, [str(cfg) if a == "CFG" else a for a in args], prog_name="edumon")
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(message), res.output
