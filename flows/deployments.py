"""The deployments `edumon serve` runs: the same three as `prefect.yaml`, with the
schedules from the config's `[schedule]` section in `organisation.timezone`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron, Interval, Schedule

from core.config import Config
from flows.digest import daily_digest
from flows.monitor import monitor_cycle
from flows.retention import retention

DEPLOYMENT = "edumon"  # every flow's deployment is called `edumon`: monitor-cycle/edumon, ...
TAGS = ["edumon"]


def cycle_limit() -> ConcurrencyLimitConfig:
    """One cycle at a time; a cycle due while the last one still runs is cancelled, not queued."""
    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def deployments(cfg: Config, config_path: str | Path, *, cycle_every_s: float | None = None) -> list[RunnerDeployment]:
    """`monitor-cycle`, `daily-digest` and `retention` as runner deployments.

    `cycle_every_s` replaces the cycle's cron schedules by a plain interval (for trying things out).
    """

    tz = cfg.organisation.timezone
    params: dict[str, Any] = {"config_path": str(Path(config_path).resolve())}
    cycle: list[Schedule] = (
        [Interval(timedelta(seconds=cycle_every_s), timezone=tz)]
        if cycle_every_s
        else [Cron(c, timezone=tz) for c in cfg.schedule.cycle_cron]
    )
    common: dict[str, Any] = {"tags": TAGS, "parameters": params, "entrypoint_type": EntrypointType.MODULE_PATH}
    return [
        monitor_cycle.to_deployment(
            DEPLOYMENT,
            schedules=cycle,
            concurrency_limit=cycle_limit(),
            description="Fetch every source, classify, store, follow-ups and alerts.",
            **common,
        ),
        daily_digest.to_deployment(
            DEPLOYMENT,
            schedules=[Cron(cfg.schedule.digest_cron, timezone=tz)],
            concurrency_limit=1,
            description="Build and send the daily digest.",
            **common,
        ),
        retention.to_deployment(
            DEPLOYMENT,
            schedules=[Cron(cfg.schedule.retention_cron, timezone=tz)],
            concurrency_limit=1,
            description="Apply the retention policy.",
            **common,
        ),
    ]
