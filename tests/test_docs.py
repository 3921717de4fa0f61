"""The README documents every command and every config key."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import click

from core.config import Config
from edumon.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# the reference in docs/ counts too (issue 14: docs/ holds the reference, the README the start)
DOCS = README + "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))


def commands(group: click.Group, prefix: str = "edumon") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((f"{prefix} {name}", cmd))
        if isinstance(cmd, click.Group):
            out.extend(commands(cmd, f"{prefix} {name}"))
    return out


def config_keys(cls: type, prefix: str = "") -> list[str]:
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        tp = hints[f.name]
        inner = typing.get_args(tp)[0] if typing.get_origin(tp) is list else tp
        path = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(inner):
            keys.extend(config_keys(inner, f"{path}[]." if typing.get_origin(tp) is list else f"{path}."))
        else:
            keys.append(path)
    return keys


def test_every_command_is_documented_with_help_and_example() -> None:
    for name, cmd in commands(main):
        assert f"`{name}" in DOCS, f"{name} is not in README.md or docs/"
        assert cmd.help, f"{name} has no help text"
        if not isinstance(cmd, click.Group):
            assert "Example" in cmd.help + (cmd.epilog or ""), f"{name}'s help has no example"


def test_every_config_key_is_documented() -> None:
    missing = [k for k in config_keys(Config) if f"`{k}`" not in README]
    assert not missing, f"config keys missing from README.md: {missing}"
