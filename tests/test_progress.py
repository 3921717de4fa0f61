"""The progress display of the long commands: drawn on a terminal's stderr, never in piped or
captured output, and classifying a file in chunks gives the same labels as one call."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from conftest import write_config

from classifiers import load_classifier
from core.config import load_config
from edumon.cli import main
from edumon.cli.progress import Progress, shown

REPO = Path(__file__).resolve().parents[1]
TEXTS = [
    "Het Ley College organiseert een open dag voor nieuwe leerlingen.",
    "Alweer lesuitval bij het Ley College en niemand laat iets weten.",
    "Gefeliciteerd Ley College met de winst bij het debat, geweldig!",
    "Ik ga je opwachten na school, let maar op.",
    "Die juf van het Ley College is een sukkel.",
]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only():
    tty, pipe = Terminal(), io.StringIO()
    for stream in (tty, pipe):
        with Progress("Classifying with rules", total=3, stream=stream) as p:
            p.advance(2)
            p.describe("Classifying with rules (nearly done)")
            p.advance(1)
    assert shown(tty) and not shown(pipe)
    assert "Classifying with rules" in tty.getvalue() and "3/3" in tty.getvalue()
    assert pipe.getvalue() == ""


def write_posts(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "posts.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": i, "text": f"{TEXTS[i % len(TEXTS)]} ({i})"}) + "\n")
    return path


def small_batch_config(tmp_path: Path, backend: str = "default") -> Path:
    return write_config(tmp_path, [], db="w.duckdb", extra=f'[classifier]\nbackend = "{backend}"\nbatch_size = 2\n')


def test_classify_in_chunks_gives_the_labels_of_one_call_and_prints_no_progress_when_captured(tmp_path):
    cfg = small_batch_config(tmp_path)  # chunks of 2 x 8 = 16 posts
    posts, out = write_posts(tmp_path, 20), tmp_path / "labelled.jsonl"
    res = CliRunner().invoke(main, ["classify", "--config", str(cfg), "--input", str(posts), "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stderr == "" and res.stdout.startswith("classified 20 posts")
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    texts = [json.loads(line)["text"] for line in posts.read_text(encoding="utf-8").splitlines()]
    want = load_classifier(load_config(cfg).classifier).classify(texts)
    assert [g["id"] for g in got] == list(range(20))
    assert [(g["sentiment"], g["harm"], g["harm_kind"]) for g in got] == [
        (w.sentiment, w.harm, w.harm_kind) for w in want
    ]
    assert [g["scores"] for g in got] == [w.scores for w in want]


def test_classify_on_a_terminal_shows_progress_on_stderr_and_keeps_stdout_clean(tmp_path):
    cfg = small_batch_config(tmp_path, backend="rules")
    posts, out = write_posts(tmp_path, 40), tmp_path / "labelled.jsonl"
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100", "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from edumon.cli import main; main()", "classify", "--config", str(cfg)]
        + ["--input", str(posts), "--output", str(out)],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
        cwd=str(REPO),
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    assert proc.wait(60) == 0
    os.close(leader)
    assert b"Classifying with rules" in drawn
    assert stdout.startswith("classified 40 posts") and "Classifying" not in stdout
    assert len(out.read_text(encoding="utf-8").splitlines()) == 40
