"""The nightly retention run: delete what the retention policy says is old enough.

The policy itself is `warehouse.retention.purge(cfg)`; this flow runs it
under the machine-wide warehouse lock, so it never competes with a cycle.
"""
from __future__ import annotations

from typing import Any, Callable

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Cancelled

from edumon.config import Config, load_config
from edumon.cyclelock import CycleBusy, cycle_lock

RETENTION_LOCK_WAIT_S = 900.0   # a night-time cycle is short; wait for it rather than skip a night


class RetentionUnavailable(RuntimeError):
    """This installation has no retention module."""


def _purge_api() -> Callable[[Config], Any]:
    """`warehouse.retention.purge`, imported when the flow runs."""
    try:
        from warehouse.retention import purge
    except ImportError as e:
        raise RetentionUnavailable(f"retention is not available in this installation ({e})") from None
    return purge


@task(name="purge", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[60, 300])
def purge(cfg: Config) -> Any:
    """Apply the retention policy once."""
    return _purge_api()(cfg)


@flow(name="retention", log_prints=True)
def retention(config_path: str) -> Any:
    """Apply the retention policy under the warehouse lock."""
    cfg = load_config(config_path)
    try:
        with cycle_lock(cfg, "retention", wait_s=RETENTION_LOCK_WAIT_S):
            result = purge(cfg)
    except CycleBusy as e:
        get_run_logger().warning(str(e))
        return Cancelled(message=str(e))
    summary = result.summary() if hasattr(result, "summary") else result
    get_run_logger().info("retention: %s", summary)
    return result
