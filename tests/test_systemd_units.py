"""The systemd units in config/systemd/ (issue 18, point 5) name commands and options that exist,
keep the secrets in the EnvironmentFile, and are the ones docs/operations.md describes."""

from __future__ import annotations

import configparser
import dataclasses
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from core.config import load_config
from edumon.cli import main

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "config" / "systemd"
ENV_EXAMPLE = UNITS / "edumon.env.example"


def unit(name: str) -> configparser.ConfigParser:
    p = configparser.ConfigParser(strict=False, interpolation=None)
    p.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    p.read_string((UNITS / name).read_text(encoding="utf-8"))
    return p


def exec_start(name: str) -> list[str]:
    return shlex.split(unit(name)["Service"]["ExecStart"])


def edumon_command(argv: list[str]) -> click.Command:
    """The click command `edumon a b ...` names, checking every option it passes exists."""
    cmd: click.Command = main
    args = argv[1:]
    while args and isinstance(cmd, click.Group) and args[0] in cmd.commands:
        cmd = cmd.commands[args.pop(0)]
    known = {o for p in cmd.params for o in getattr(p, "opts", [])}
    for a in args:
        if a.startswith("--"):
            assert a.split("=")[0] in known, f"{argv}: {cmd.name} has no option {a}"
    return cmd


def test_edumon_serve_unit_runs_the_serve_command_with_a_config_and_the_prefect_server():
    argv = exec_start("edumon-serve.service")
    assert Path(argv[0]).name == "edumon" and argv[1] == "serve"
    assert edumon_command(argv).name == "serve"
    assert "--config" in argv
    u = unit("edumon-serve.service")
    assert "prefect-server.service" in u["Unit"]["Requires"] and "prefect-server.service" in u["Unit"]["After"]
    assert u["Service"]["EnvironmentFile"] == "/etc/edumon/edumon.env"
    environment = [
        ln for ln in (UNITS / "edumon-serve.service").read_text().splitlines() if ln.startswith("Environment=")
    ]
    assert "Environment=PREFECT_API_URL=http://127.0.0.1:4200/api" in environment
    assert u["Service"]["Restart"] == "always"


def test_prefect_server_unit_runs_prefect_server_start_with_options_prefect_knows():
    argv = exec_start("prefect-server.service")
    assert Path(argv[0]).name == "prefect" and argv[1:3] == ["server", "start"]
    # the prefect next to edumon's python: the same installation the units point into
    prefect = Path(sys.executable).with_name("prefect")
    res = subprocess.run([str(prefect), "server", "start", "--help"], capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    for opt in (a for a in argv if a.startswith("--")):
        assert opt in res.stdout, f"prefect server start has no option {opt}"
    port = argv[argv.index("--port") + 1]
    assert f"127.0.0.1:{port}/api" in (UNITS / "edumon-serve.service").read_text()
    assert "EnvironmentFile" not in unit("prefect-server.service")["Service"]  # it needs no edumon secret


def env_names(obj: object) -> set[str]:
    """Every environment variable a config's `*_env` keys name."""
    out: set[str] = set()
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        if f.metadata.get("internal"):
            continue
        v = getattr(obj, f.name)
        if f.name.endswith("_env") and isinstance(v, str):
            out.add(v)
        elif dataclasses.is_dataclass(v):
            out |= env_names(v)
        elif isinstance(v, list):
            for item in v:
                if dataclasses.is_dataclass(item):
                    out |= env_names(item)
    return out


def test_the_environment_file_lists_every_secret_the_example_config_names_and_holds_no_value():
    names = env_names(load_config(ROOT / "config" / "example.toml"))
    assert {"EDUMON_PSEUDONYM_KEY", "EDUMON_WEB_SECRET", "EDUMON_BLUESKY_APP_PASSWORD"} <= names
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    assigned = dict(ln.split("=", 1) for ln in lines if ln and not ln.startswith("#"))
    assert names <= set(assigned), f"missing in edumon.env.example: {names - set(assigned)}"
    assert all(v == "" for v in assigned.values())  # a template: no secret in the repository
    assert all(re.fullmatch(r"[A-Z_][A-Z0-9_]*", k) for k in assigned)


@pytest.mark.parametrize("name", ["prefect-server.service", "edumon-serve.service", "edumon.env.example"])
def test_the_units_are_documented(name):
    ops = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert f"config/systemd/{name}" in ops
