"""Issue 18.3, through the real export: handles are masked whole and only where they are handles,
and the pseudonym key cannot change without anyone noticing."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from analysts_data import KEY_A, KEY_B, bsky, make_config, toot, write_config
from click.testing import CliRunner

from core.mention import Mention
from core.secrets import Secrets
from edumon.cli import main
from warehouse import Warehouse, upsert_mentions
from warehouse.export import export
from warehouse.views import PseudonymKeyMismatch, key_id, pseudonym

WHEN = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


def secrets(key: str) -> Secrets:
    return Secrets(environ={"EDUMON_PSEUDONYM_KEY": key})


def rss(author: str, guid: str, title: str, text: str) -> Mention:
    return Mention(
        source="rss",
        source_id=guid,
        text=text,
        title=title,
        url=f"https://forum.example.nl/t/{guid}",
        author=author,
        published_at=WHEN,
        fetched_at=WHEN,
        school_ids=["ley-college"],
        sentiment="negative",
        harm="none",
        raw="<item/>",
        target="https://forum.example.nl/rss",
    )


def build(tmp: Path, mentions: list[Mention]):  # type: ignore[no-untyped-def]
    cfg = make_config(tmp)
    with Warehouse(cfg.warehouse.path).transaction() as con:
        upsert_mentions(con, mentions)
    return cfg


def exported(out: Path) -> dict[str, dict]:
    con = duckdb.connect()
    cur = con.execute(
        f"SELECT * FROM read_parquet('{out}/mentions_pseudonymous/*/*.parquet', hive_partitioning = true)"
    )
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}


def export_bytes(out: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())


def test_an_e_mail_like_handle_leaks_no_local_part(tmp_path: Path) -> None:
    ms = [
        rss(
            "karin.jansen78@example.nl",
            "g1",
            "Vraag van karin.jansen78@example.nl",
            "Mail mij op karin.jansen78@example.nl of karin.jansen78@gmail.com over het Ley College.",
        ),
        toot(
            "jösé.v@mastodon.nl",
            "4711",
            "1",
            "Het Ley College, zegt @jösé.v@mastodon.nl tegen @sanne_k@social.example en jan.bsky.social.",
            WHEN,
            ["ley-college"],
            "neutral",
            "none",
        ),
        bsky(
            "piet.bsky.social",
            "did:plc:piet42",
            "3k9",
            "Ley College volgt @piet.bsky.social, zie did:plc:piet42. Of mail piet@school.example.nl.",
            WHEN,
            ["ley-college"],
            "neutral",
            "none",
        ),
    ]
    cfg = build(tmp_path, ms)
    out = tmp_path / "export"
    export(cfg, out, secrets=secrets(KEY_A))
    rows = exported(out)
    assert rows[ms[0].mention_id]["text"] == "Mail mij op @[account] of @[account] over het Ley College."
    assert rows[ms[0].mention_id]["title"] == "Vraag van @[account]"  # the news title is masked too
    assert rows[ms[1].mention_id]["text"] == "Het Ley College, zegt @[account] tegen @[account] en @[account]."
    assert rows[ms[2].mention_id]["text"] == "Ley College volgt @[account], zie @[account]. Of mail @[account]."
    data = export_bytes(out)
    for local_part in ("karin.jansen78", "karin", "jösé", "sanne_k", "piet42", "piet@", "jan.bsky"):
        assert local_part.encode() not in data, local_part


def test_an_ordinary_word_is_never_masked_whatever_an_author_is_called(tmp_path: Path) -> None:
    text = "De gemeente en het Ley College: de gemeente belooft actie. Vraag het @gemeente of gemeente.nl."
    by_gemeente = rss("gemeente", "g2", "Gemeente en school", text)
    dotted = bsky(
        "leiden.nl",
        "did:plc:leiden1",
        "3ka",
        "In leiden.nl en Leiden zelf: @leiden.nl schrijft over het Ley College (leiden.nl)",
        WHEN,
        ["ley-college"],
        "neutral",
        "none",
    )
    cfg = build(tmp_path, [by_gemeente, dotted])
    out = tmp_path / "export"
    export(cfg, out, secrets=secrets(KEY_A))
    rows = exported(out)
    # "gemeente" the word stays; only the @mention is masked (and gemeente.nl is no account of this author)
    assert rows[by_gemeente.mention_id]["text"] == (
        "De gemeente en het Ley College: de gemeente belooft actie. Vraag het @[account] of gemeente.nl."
    )
    assert rows[by_gemeente.mention_id]["title"] == "Gemeente en school"
    # an author whose handle is a domain: the handle as a token is masked, the word "Leiden" is not
    assert rows[dotted.mention_id]["text"] == (
        "In @[account] en Leiden zelf: @[account] schrijft over het Ley College (@[account])"
    )


def test_another_key_is_refused_and_rotating_is_on_purpose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = toot("anna@mastodon.nl", "99", "5", "Ley College!", WHEN, ["ley-college"], "neutral", "none")
    build(tmp_path, [m])
    cfg_path = write_config(tmp_path)
    out = tmp_path / "export"
    run = lambda *args: CliRunner().invoke(main, [*args, "--config", str(cfg_path)])  # noqa: E731

    monkeypatch.setenv("EDUMON_PSEUDONYM_KEY", KEY_A)
    assert run("export", "--out", str(out)).exit_code == 0
    first = exported(out)[m.mention_id]["author_pseudonym"]
    assert first == pseudonym(KEY_A.encode(), "mastodon:99")
    manifest = (out / "manifest.json").read_bytes()
    assert json.loads(manifest)["pseudonym_key_id"] == key_id(KEY_A.encode())

    monkeypatch.setenv("EDUMON_PSEUDONYM_KEY", KEY_B)
    for args in (("export", "--out", str(out)), ("query", "SELECT count(*) FROM mentions_pseudonymous"), ("run",)):
        res = run(*args)
        assert res.exit_code == 2, (args, res.output)
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: EDUMON_PSEUDONYM_KEY is not the pseudonym key"), args
        assert key_id(KEY_A.encode()) in lines[0] and "edumon export --rotate-key" in lines[0]
    # nothing changed: the export, the stored pseudonyms, the recorded fingerprint
    assert (out / "manifest.json").read_bytes() == manifest
    wh = Warehouse(tmp_path / "edumon.duckdb")
    assert wh.query("SELECT pseudonym FROM pseudonyms") == [(first,)]
    assert wh.query("SELECT value FROM settings WHERE key = 'pseudonym_key_id'") == [(key_id(KEY_A.encode()),)]

    # on purpose: every author gets a new pseudonym and the new key is the warehouse's
    res = run("export", "--out", str(out), "--rotate-key")
    assert res.exit_code == 0, res.output
    second = exported(out)[m.mention_id]["author_pseudonym"]
    assert second == pseudonym(KEY_B.encode(), "mastodon:99") != first
    assert json.loads((out / "manifest.json").read_text())["pseudonym_key_id"] == key_id(KEY_B.encode())
    assert run("export", "--out", str(out)).exit_code == 0
    monkeypatch.setenv("EDUMON_PSEUDONYM_KEY", KEY_A)  # now the old key is the other one
    assert run("export", "--out", str(out)).exit_code == 2
    assert exported(out)[m.mention_id]["author_pseudonym"] == second


def test_a_cycle_with_another_key_keeps_the_pseudonyms(tmp_path: Path) -> None:
    """A cycle started some other way (a worker, a flow) with the wrong key stores and alerts as
    usual, warns, and leaves the pseudonyms as they were."""
    from pipeline import refresh_analyst_views

    m = toot("anna@mastodon.nl", "99", "5", "Ley College!", WHEN, ["ley-college"], "neutral", "none")
    cfg = build(tmp_path, [m])
    export(cfg, tmp_path / "export", secrets=secrets(KEY_A))
    wh = Warehouse(cfg.warehouse.path)
    before = wh.query("SELECT * FROM pseudonyms")
    with pytest.raises(PseudonymKeyMismatch):
        export(cfg, tmp_path / "export", secrets=secrets(KEY_B))
    refresh_analyst_views(cfg, wh, secrets(KEY_B))  # never raises
    assert wh.query("SELECT * FROM pseudonyms") == before
