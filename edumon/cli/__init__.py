"""The `edumon` command: a thin layer over the library."""

from __future__ import annotations

import os

# Before anything imports Prefect: it reads these once, on import (its usage-data notice and
# the telemetry of a temporary server would otherwise show at start-up).  Flow-run processes
# that `edumon serve` starts inherit them.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

import logging  # noqa: E402

import click  # noqa: E402

from edumon.cli import analysts, backup, classify, cycle, feedback, protocol, schedule, web  # noqa: E402
from edumon.cli.options import EXIT_USAGE, CliError, as_cli_error  # noqa: E402


def one_line_usage(e: click.UsageError) -> CliError:
    """A usage error as one line (exit 2), without Click's usage screen before it."""
    where = e.ctx.command_path if e.ctx is not None else "edumon"
    return CliError(f"{e.format_message()} (see '{where} --help')", EXIT_USAGE)


class Edumon(click.Group):
    """The `edumon` group: every error is one line, never a trace or a usage screen; an error
    no command caught exits 1."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            raise one_line_usage(e) from None

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            raise one_line_usage(e) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as e:  # noqa: BLE001
            raise as_cli_error(e) from None


@click.group(cls=Edumon)
@click.version_option(package_name="edumon")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
def main(verbose: bool) -> None:
    """edumon: social-media monitoring for Dutch school groups.

    \b
    Exit codes: 0 ok; 1 ran, but a source or delivery failed (or the
    warehouse was locked, or what was asked is not there); 2 usage or
    config error. Errors are one line on stderr.

    \b
    Example:
        edumon run --config config/example.toml
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


for _command in (
    cycle.run,
    cycle.demo,
    cycle.check_config,
    protocol.followups,
    protocol.evidence_cmd,
    protocol.digest_cmd,
    *classify.COMMANDS,
    analysts.query,
    analysts.export,
    analysts.purge,
    schedule.serve,
    schedule.status,
    web.web,
    feedback.feedback,
    *backup.COMMANDS,
):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
