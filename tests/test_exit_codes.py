"""The documented exit codes of `edumon`, through the CLI runner: 0 ok; 1 ran, but a source or
delivery failed (`edumon status`: a target needs attention); 2 usage or config error.  Every error is one line on stderr, never a trace."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import rss_feed
from conftest import write_config as feeds_config
from protocol_env import Env, env, smtp_server, write_config  # noqa: F401  (fixtures)

import edumon.cli.cycle as cycle_cli
from edumon.cli import main
from fakes.rss import FeedHandler
from fakes.server import FakeServer, Response

FEED = rss_feed([("g1", "Leerlingen Ley College winnen debatwedstrijd", "Vier leerlingen wonnen de finale.")])


def config(tmp_path: Path, urls: list[str]) -> Path:
    return feeds_config(tmp_path, urls, db="w.duckdb")


def invoke(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, list(args))


def one_error_line(res: click.testing.Result) -> str:
    assert "Traceback" not in res.output, res.output
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, res.output
    return errors[0]


@pytest.fixture()
def feeds():
    with FakeServer() as srv:
        srv.route("/good.xml", FeedHandler(FEED))
        srv.route("/gone.xml", lambda req: Response(404, b"not found"))
        yield srv


def test_0_when_the_cycle_ran_and_everything_worked(feeds, tmp_path):
    res = invoke("run", "--no-prefect", "--config", str(config(tmp_path, [feeds.url + "/good.xml"])))
    assert res.exit_code == 0, res.output
    assert "Stored 1 new mentions" in res.output


def test_1_when_a_source_failed_after_storing_the_others(feeds, tmp_path):
    cfg = config(tmp_path, [feeds.url + "/good.xml", feeds.url + "/gone.xml"])
    res = invoke("run", "--no-prefect", "--config", str(cfg))
    assert res.exit_code == 1, res.output
    assert "HTTP 404" in res.output and "Stored 1 new mentions" in res.output


def test_1_when_an_alert_could_not_be_delivered(env: Env, tmp_path):
    env.hook.statuses = [404]  # the webhook refuses every alert
    res = invoke("run", "--no-prefect", "--config", str(write_config(env.cfg, tmp_path / "edumon.toml")))
    assert res.exit_code == 1, res.output
    assert "Stored 6 new mentions" in res.output  # storage never depends on alerting
    assert "webhook answered HTTP 404" in res.output
    # the next cycle delivers what the webhook now takes, and ends 0
    env.hook.statuses = [200]
    res = invoke("run", "--no-prefect", "--config", str(tmp_path / "edumon.toml"))
    assert res.exit_code == 0, res.output


def test_1_when_another_cycle_holds_the_warehouse_or_the_thing_is_not_there(feeds, tmp_path):
    cfg = config(tmp_path, [feeds.url + "/good.xml"])
    res = invoke("followups", "list", "--config", str(cfg))  # no cycle ran yet: no warehouse
    assert res.exit_code == 1
    assert "no warehouse here yet" in one_error_line(res)


def test_status_0_when_every_target_is_fine_and_1_when_one_needs_attention(feeds, tmp_path):
    """`edumon status` is a check for systemd, Nagios or cron: 1 when a target is FAILING, SILENT
    or OVERDUE (issue 18: it exited 0 with FAILING and OVERDUE targets)."""
    good = config(tmp_path, [feeds.url + "/good.xml"])
    with good.open("a", encoding="utf-8") as f:
        f.write("\n[health]\nfailing_after_minutes = 0\n")  # the first failure is FAILING
    res = invoke("status", "--config", str(good))
    assert res.exit_code == 1 and "OVERDUE" in res.output, res.output  # no cycle ran yet
    assert invoke("run", "--no-prefect", "--config", str(good)).exit_code == 0
    res = invoke("status", "--config", str(good))
    assert res.exit_code == 0, res.output
    assert "1 targets; 0 failing or silent; 0 overdue" in res.output
    both = good.read_text(encoding="utf-8").replace(
        "[health]", f'[[sources.rss]]\nurl = "{feeds.url}/gone.xml"\nretries = 0\n\n[health]'
    )
    good.write_text(both, encoding="utf-8")
    assert invoke("run", "--no-prefect", "--config", str(good)).exit_code == 1
    res = invoke("status", "--config", str(good))
    assert res.exit_code == 1, res.output
    assert "FAILING" in res.output and "1 failing or silent" in res.output
    assert "Traceback" not in res.output and not res.stderr  # a finding is not an error line


@pytest.mark.parametrize(
    "args, message",
    [
        (["run"], "Missing option '--config'"),
        (["run", "--config", "x.toml", "--bogus"], "No such option '--bogus'"),
        (["run", "--config", "/nonexistent/edumon.toml"], "config file not found"),
        (["digest", "--config", "CFG", "--format", "pdf"], "Invalid value for '--format'"),
        (["eval", "--config", "CFG"], "give either --input GOLD.jsonl or --feedback"),
        (["classify", "--input", "/nonexistent/posts.jsonl", "--output", "out.jsonl"], "file not found"),
        (["web"], "Missing option '--config'"),
    ],
)
def test_2_on_a_usage_or_config_error(tmp_path, args, message):
    cfg = config(tmp_path, ["https://nieuws.example.nl/feed.xml"])
    res = invoke(*[str(cfg) if a == "CFG" else a for a in args])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


def test_2_on_a_config_that_does_not_load_is_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[organisation\nname = 'x'\n", encoding="utf-8")
    for args in (["run"], ["status"], ["query", "SELECT 1"], ["web"], ["classify", "--input", "a", "--output", "b"]):
        res = invoke(*args, "--config", str(bad))
        assert res.exit_code == 2, (args, res.output)
        assert one_error_line(res).startswith("Error: config error:"), res.output
        assert "Usage:" not in res.output  # one line, not a usage screen


def test_an_unexpected_error_is_one_line_and_exit_1(feeds, tmp_path, monkeypatch):
    def broken(*a, **kw):
        raise RuntimeError("something inside broke\nwith a second line")

    monkeypatch.setattr(cycle_cli, "run_cycle", broken)
    res = invoke("run", "--no-prefect", "--config", str(config(tmp_path, [feeds.url + "/good.xml"])))
    assert res.exit_code == 1
    assert one_error_line(res) == "Error: RuntimeError: something inside broke"


def commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((*path, name))
        if isinstance(cmd, click.Group):
            out += commands(cmd, (*path, name))
    return out


def test_every_command_has_help_with_an_example():
    names = commands(main)
    assert len(names) >= 20
    for name in names:
        res = invoke(*name, "--help")
        assert res.exit_code == 0, (name, res.output)
        assert "Example" in res.output and "edumon " + name[0] in res.output, name


def test_every_command_that_reads_a_config_takes_the_one_config_option():
    """--config is defined once (edumon.cli.options.config_option) and reads $EDUMON_CONFIG."""
    for name in commands(main):
        cmd: click.Command = main
        for part in name:
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        opts = [p for p in cmd.params if "--config" in getattr(p, "opts", [])]
        for p in opts:
            assert p.envvar == "EDUMON_CONFIG", name
            assert p.help and p.help.startswith("The TOML config file"), name
