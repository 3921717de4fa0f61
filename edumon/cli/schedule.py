"""`edumon serve` (the deployments on their schedules) and `edumon status` (is every source healthy?)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import click

import health
from core.config import Config
from edumon.cli.options import EXIT_FAILED, CliError, config_option, refuse_other_pseudonym_key, usage_error
from flows.deployments import deployments
from flows.monitor import prefect_api_url
from flows.serving import ServeBusy, end_orphaned_runs, run_deployments, serve_lock
from pipeline import warehouse_for
from warehouse import WarehouseLocked


@click.command()
@config_option
@click.option(
    "--cycle-every",
    "cycle_every",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Run the cycle every SECONDS instead of on [schedule] cycle_cron (for trying things out).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="At most this many flow runs at the same time (default: no limit).",
)
def serve(cfg: Config, cycle_every: float | None, limit: int | None) -> None:
    """Serve the cycle, digest and retention deployments on their schedules.

    Registers `monitor-cycle/edumon`, `daily-digest/edumon` and `retention/edumon` with the
    Prefect server in PREFECT_API_URL and runs them when they are due, in
    [organisation] timezone, until stopped.  Ctrl-C or SIGTERM cancels a running cycle
    (nothing half-written: a cycle stores in one transaction) and pauses the schedules.
    On start, runs of these deployments left unfinished by a serve that died are marked
    Crashed, so they never block the next cycle.  One serve per warehouse.

    \b
    Example:
        prefect server start &
        export PREFECT_API_URL=http://127.0.0.1:4200/api
        edumon serve --config config/edumon.toml
    """
    if not prefect_api_url():
        raise usage_error(
            "edumon serve needs a Prefect server: start one with `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (or `prefect config set PREFECT_API_URL=...`)"
        )
    assert cfg.path is not None
    refuse_other_pseudonym_key(cfg)
    deps = deployments(cfg, cfg.path, cycle_every_s=cycle_every)
    names = [f"{d.flow_name}/{d.name}" for d in deps]
    try:
        with serve_lock(cfg):
            ended = end_orphaned_runs(names, "its process is gone (edumon serve stopped or died during the run)")
            if ended:
                click.echo(
                    f"Marked {len(ended)} flow run(s) left running by a stopped serve as crashed: {', '.join(ended)}"
                )
            click.echo(
                f"Serving {len(deps)} deployments for {cfg.organisation.name} "
                f"({'every %g s' % cycle_every if cycle_every else ', '.join(cfg.schedule.cycle_cron)}; "
                f"{cfg.organisation.timezone}) against {prefect_api_url()}"
            )
            try:
                run_deployments(deps, limit=limit)
            finally:
                click.echo(stopped(names))
    except ServeBusy as e:
        raise CliError(str(e)) from None


def stopped(names: list[str]) -> str:
    """After the runner stopped: end what it left unfinished; one line saying so."""
    try:
        ended = end_orphaned_runs(names, "edumon serve stopped during the run")
    except Exception as e:  # noqa: BLE001 - the server may be stopping too; the next start sweeps
        return f"Stopped (could not check for unfinished flow runs: {type(e).__name__}; the next start does)."
    return "Stopped" + (f"; marked {len(ended)} unfinished flow run(s) as crashed." if ended else ".")


def _when(dt: datetime | None, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M") if dt else "-"


@click.command()
@config_option
def status(cfg: Config) -> None:
    """Show the last run of every source target, its outcome, and what is overdue or broken.

    A target is overdue when it has not run since the last scheduled cycle
    ([schedule] cycle_cron) more than [health] overdue_grace_minutes ago; FAILING
    and SILENT follow the [health] rules that raise admin alerts.

    \b
    Exit codes, for systemd, Nagios or a cron check:
      0  every target is fine
      1  a target is FAILING, SILENT or OVERDUE (or the warehouse is locked)
      2  usage or config error

    \b
    Example:
        edumon status --config config/edumon.toml || echo "edumon needs attention"
    """

    now = datetime.now(timezone.utc)
    tz = ZoneInfo(cfg.organisation.timezone)
    wh = warehouse_for(cfg)
    runs: list[dict[str, object]] = []
    if wh.path.exists():
        try:
            with wh.connect(read_only=True) as con:
                runs = health.recent_runs(con, cfg.health, now)
        except health.duckdb.CatalogException:
            runs = []  # a warehouse no cycle has written yet
        except WarehouseLocked as e:
            raise CliError(str(e)) from None
    rows = health.statuses(cfg, runs, now)
    if not rows:
        click.echo("No source targets configured.")
        return
    click.echo(
        f"{'SOURCE':<9} {'LAST RUN':<16} {'OUTCOME':<13} {'FETCHED':>7} {'NEW':>5} {'FAILS':>5} "
        f"{'LAST DELIVERY':<16} {'PROBLEM':<16} TARGET"
    )
    for st in rows:
        problems = [f.kind.upper() for f in st.findings] + (["OVERDUE"] if st.overdue else [])
        click.echo(
            f"{st.source:<9} {_when(st.last_run_at, tz):<16} {st.status:<13} {st.fetched:>7} {st.new:>5} "
            f"{st.failures:>5} {_when(st.last_delivery_at, tz):<16} {','.join(problems) or 'ok':<16} {st.target}"
        )
        if st.error and st.status != "ok":
            click.echo(f"{'':<9} ! {st.error}")
    expected = health.last_scheduled(
        cfg.schedule.cycle_cron, cfg.organisation.timezone, now - timedelta(minutes=cfg.health.overdue_grace_minutes)
    )
    overdue = [st for st in rows if st.overdue]
    broken = [st for st in rows if st.findings]
    click.echo(
        f"{len(rows)} targets; {len(broken)} failing or silent; {len(overdue)} overdue "
        f"(expected a run since {_when(expected, tz)}, {cfg.organisation.timezone})."
    )
    if not wh.path.exists():
        click.echo(f"No cycle has run yet: no warehouse at {wh.path}.")
    if overdue or broken:
        raise click.exceptions.Exit(EXIT_FAILED)
