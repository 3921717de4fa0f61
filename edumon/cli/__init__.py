"""The `edumon` command: a thin layer over the library."""

from __future__ import annotations

import logging
import os

import click

from edumon.cli import analysts, classify, cycle, feedback, protocol, schedule, web

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@click.group()
@click.version_option(package_name="edumon")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
def main(verbose: bool) -> None:
    """edumon: social-media monitoring for Dutch school groups.

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
):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
