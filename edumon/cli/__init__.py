"""The `edumon` command: a thin layer over the library."""

from __future__ import annotations

import logging
import os

import click

from edumon.cli import analysts, classify, cycle, feedback, listen, protocol, schedule, web
from edumon.cli.options import as_cli_error

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


class Edumon(click.Group):
    """The `edumon` group: an error no command caught is still one line (exit 1), never a trace."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
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
    listen.listen,
):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
