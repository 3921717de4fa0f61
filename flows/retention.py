"""The nightly retention run: delete what the retention policy says is old enough.

First the deletion check (`warehouse.deletion.check_deleted(cfg)`): up to
`[retention] deletion_checks_per_run` stored Bluesky/Mastodon posts are looked up at
their source and the ones gone there are marked. It runs outside the cycle lock
(network I/O; it writes in short transactions), and a failure does not stop the
purge. Then the policy itself, `warehouse.retention.purge(cfg)`, under the
machine-wide warehouse lock, so it never competes with a cycle.
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


@task(name="check-deleted", cache_policy=NO_CACHE)
def check_deleted(cfg: Config) -> Any:
    """Mark the stored posts their source no longer has (a bounded number per run)."""
    from warehouse.deletion import check_deleted as check

    return check(cfg)


@task(name="purge", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[60, 300])
def purge(cfg: Config) -> Any:
    """Apply the retention policy once."""
    return _purge_api()(cfg)


@flow(name="retention", log_prints=True)
def retention(config_path: str) -> Any:
    """Apply the retention policy under the warehouse lock."""
    cfg = load_config(config_path)
    logger = get_run_logger()
    checked = check_deleted(cfg, return_state=True)
    if checked.is_completed():
        logger.info("deletion check: %s", checked.result().summary())
    else:   # the purge still runs: what was marked before goes, the check is retried tomorrow
        logger.warning("deletion check failed, purging without it: %s", checked.message)
    try:
        with cycle_lock(cfg, "retention", wait_s=RETENTION_LOCK_WAIT_S):
            result = purge(cfg)
    except CycleBusy as e:
        logger.warning(str(e))
        return Cancelled(message=str(e))
    summary = result.summary() if hasattr(result, "summary") else result
    logger.info("retention: %s", summary)
    return result
