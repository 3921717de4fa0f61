"""The docs stay true: every command in docs/cli.md, every config key in docs/configuration.md, a short
README whose links lead somewhere, the protocol's "where" column naming real functions, and backup and
restore instructions that work when run."""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import click
import duckdb
from analysts_data import KEY_A, build_view_warehouse
from click.testing import CliRunner

from core.config import Config
from edumon.cli import main
from warehouse import Warehouse
from warehouse.views import prepare

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI_DOC = (DOCS / "cli.md").read_text(encoding="utf-8")
CONFIG_DOC = (DOCS / "configuration.md").read_text(encoding="utf-8")


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


def section(text: str, title: str) -> str:
    m = re.search(rf"^##+ {re.escape(title)}\n(.*?)(?=^##+ |\Z)", text, re.S | re.M)
    assert m, f"no section {title!r}"
    return m.group(1)


def test_every_command_is_documented_with_help_and_example() -> None:
    for name, cmd in commands(main):
        assert f"`{name}" in CLI_DOC, f"{name} is not in docs/cli.md"
        assert cmd.help, f"{name} has no help text"
        if not isinstance(cmd, click.Group):
            assert "Example" in cmd.help + (cmd.epilog or ""), f"{name}'s help has no example"


def test_every_option_is_documented() -> None:
    for name, cmd in commands(main):
        body = section(CLI_DOC, f"`{name}`")
        for p in cmd.params:
            if isinstance(p, click.Option) and p.name != "help":
                assert f"`{p.opts[0]}" in body, f"{name} {p.opts[0]} is not in its docs/cli.md section"


def test_exit_codes_are_documented() -> None:
    codes = section(CLI_DOC, "Exit codes")
    for code, words in (("0", "ok"), ("1", "ran, but"), ("2", "usage or config error")):
        assert re.search(rf"^\| {code} \| [^\n]*{re.escape(words)}", codes, re.M), f"exit code {code}"


def test_exit_codes_are_what_the_doc_says(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.toml"
    bad.write_text('[organisation]\nname = "x"\n[[schools]]\nid = "a"\nname = "A"\naliases = "A"\n', encoding="utf-8")
    result = runner.invoke(main, ["check-config", "--config", str(bad)])
    assert result.exit_code == 2 and "schools[0].aliases" in result.output
    assert runner.invoke(main, ["run"], env={"EDUMON_CONFIG": ""}).exit_code == 2  # missing --config
    assert runner.invoke(main, ["run", "--no-such-option"]).exit_code == 2
    good = tmp_path / "good.toml"
    good.write_text(
        f'[organisation]\nname = "x"\n[warehouse]\npath = "{tmp_path / "w.duckdb"}"\n'
        '[[schools]]\nid = "a"\nname = "A"\n',
        encoding="utf-8",
    )
    assert runner.invoke(main, ["check-config", "--config", str(good)]).exit_code == 0
    # ran, but could not do the work: no warehouse yet
    assert runner.invoke(main, ["followups", "list", "--config", str(good)]).exit_code == 1


def test_every_config_key_is_documented() -> None:
    missing = [k for k in config_keys(Config) if f"`{k}`" not in CONFIG_DOC]
    assert not missing, f"config keys missing from docs/configuration.md: {missing}"


def test_readme_is_a_doorway() -> None:
    assert len(README.splitlines()) <= 400, "README.md is over 400 lines: move the detail to docs/"
    for command in ("make demo", "make test"):
        assert command in README


def _links(text: str) -> list[str]:
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.*)$", page.read_text(encoding="utf-8"), re.M)}


def test_links_into_a_page_name_one_of_its_headings() -> None:
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target, anchor in re.findall(r"\]\(([^)\s#:]*\.md|)#([^)\s]+)\)", page.read_text(encoding="utf-8")):
            linked = (page.parent / target) if target else page
            if linked.exists():
                assert anchor in _anchors(linked), f"{page.name}: no heading #{anchor} in {linked.name}"


def test_readme_links_only_to_files_that_exist() -> None:
    links = [t for t in _links(README) if t]
    assert links, "the README links to no docs"
    missing = [t for t in links if not (ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"
    for page in ("docs/configuration.md", "docs/cli.md", "docs/operations.md", "docs/analysts.md", "docs/protocol.md"):
        assert page in links, f"the README's docs table does not link {page}"


def test_docs_link_only_to_files_that_exist() -> None:
    for page in sorted(DOCS.glob("*.md")):
        for t in _links(page.read_text(encoding="utf-8")):
            if not t:
                continue
            target = (page.parent / t).resolve()
            assert target.exists(), f"{page.name} links to a missing file: {t}"


def test_paths_of_labelled_sets_exist() -> None:
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"classifiers/data/\w+\.jsonl", text), f"{page.name} names a labelled set by its old path"
        for path in re.findall(r"data/labelled/[\w/.-]+\.jsonl", text):
            assert (ROOT / path).exists(), f"{page.name} names {path}, which does not exist"


def _resolve(name: str) -> None:
    """`pkg.mod.func` or `pkg/mod.py:func` (or a folder or file path) names something that exists."""
    path, _, attr = name.partition(":")
    if "/" in path:
        assert (ROOT / path).exists(), f"{path} does not exist"
        if not attr:
            return
        module = importlib.import_module(path.removesuffix(".py").replace("/", ".").removesuffix(".__init__"))
        assert hasattr(module, attr), f"{name}: no {attr} in {module.__name__}"
        return
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for a in parts[i:]:
            assert hasattr(obj, a), f"{name}: {a} not found"
            obj = getattr(obj, a)
        return
    raise AssertionError(f"{name}: no such module")


def test_protocol_rules_name_real_functions() -> None:
    table = section((DOCS / "protocol.md").read_text(encoding="utf-8"), "Where each rule lives")
    rows = [r for r in table.splitlines() if r.startswith("| ") and not r.startswith("| rule")]
    assert len(rows) >= 8, "the protocol table lost rules"
    for row in rows:
        where = row.rstrip(" |").rsplit(" | ", 1)[1]
        names = [n for n in re.findall(r"`([^`]+)`", where) if " " not in n and ("." in n or "/" in n)]
        assert names, f"no implementation named for: {row[:60]}"
        for name in names:
            _resolve(name)


# --- backup and restore, run for real ------------------------------------------------------


def _snapshot(db: Path) -> dict[str, object]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        rows = {t: sorted(map(str, con.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}  # noqa: S608 - names from the catalogue
        views = sorted(r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall())
        indexes = sorted(r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall())
        daily = sorted(map(str, con.execute("SELECT * FROM daily_mentions").fetchall()))
    finally:
        con.close()
    return {"tables": rows, "views": views, "indexes": indexes, "daily_mentions": daily}


def test_backup_and_restore_instructions_work(tmp_path: Path) -> None:
    blocks = re.findall(
        r"```sh\n(.*?)```", section((DOCS / "operations.md").read_text(encoding="utf-8"), "Backup and restore"), re.S
    )
    assert len(blocks) >= 6, "the backup and restore section lost its commands"
    build = tmp_path / "build"
    build.mkdir()
    cfg, _ = build_view_warehouse(build)
    prepare(Warehouse(cfg.warehouse.path), cfg, KEY_A.encode())
    site = tmp_path / "site"
    (site / "data").mkdir(parents=True)
    (site / "config").mkdir()
    shutil.move(cfg.warehouse.path, site / "data" / "edumon.duckdb")
    (site / "config" / "edumon.toml").write_text(
        '[organisation]\nname = "Edu-Ley"\n[warehouse]\npath = "data/edumon.duckdb"\nlock_timeout_s = 5\n'
        '[[schools]]\nid = "ley-college"\nname = "Ley College"\n[[schools]]\nid = "regenboog-leiderdorp"\nname = "De Regenboog"\n',
        encoding="utf-8",
    )
    (site / ".venv").symlink_to(Path(sys.executable).parents[1])  # the docs call .venv/bin/python
    env = dict(
        os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", EDUMON_PSEUDONYM_KEY=KEY_A
    )
    env.pop("EDUMON_CONFIG", None)
    original = _snapshot(site / "data" / "edumon.duckdb")
    assert original["tables"]["mentions"], "the fixture warehouse is empty"  # type: ignore[index]
    restores = 0
    for block in blocks:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block], cwd=site, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{block}\nexit {done.returncode}: {done.stderr}"
        if re.search(r"^edumon restore .*$", block, re.M):
            restores += 1
            assert _snapshot(site / "data" / "edumon.duckdb") == original, (
                f"the restore gave another warehouse:\n{block}"
            )
    assert restores >= 2, "a restore way is no longer run"
    copies = ["backups/edumon-online.duckdb", "backups/edumon-imported.duckdb"]
    copies += [str(p.relative_to(site)) for p in (site / "data" / "backups").glob("*.duckdb")]  # the default name
    assert len(copies) == 3, copies
    for copy in copies:
        assert _snapshot(site / copy) == original, copy
    assert len(list((site / "data" / "replaced").glob("*.duckdb"))) == restores  # each replaced file kept
    assert "mentions" in done.stdout  # the check after the restore printed its figures
