"""The nightly retention run: delete what the retention policy says is old enough.

First the deletion check (`pipeline.deletion.check_deleted(cfg)`): up to
`[retention] deletion_checks_per_run` stored Bluesky/Mastodon posts are looked up at
their source and the ones gone there are marked. It runs outside the cycle lock
(network I/O; it writes in short transactions), and a failure does not stop the
purge. Then the policy itself, `warehouse.retention.purge(cfg)`, under the
machine-wide warehouse lock, so it never competes with a cycle; a purge that removed posts
publishes the analysts' copy again (`warehouse.publish`), or removes it when it cannot, so the
copy never holds what was purged.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Cancelled

from core.config import Config, load_config
from flows.serving import claim_run
from pipeline import deletion
from pipeline.cyclelock import CycleBusy, cycle_lock
from warehouse import retention as policy

RETENTION_LOCK_WAIT_S = 900.0  # a night-time cycle is short; wait for it rather than skip a night


@task(name="check-deleted", cache_policy=NO_CACHE, persist_result=False)
def check_deleted(cfg: Config) -> Any:
    """Mark the stored posts their source no longer has (a bounded number per run)."""
    return deletion.check_deleted(cfg)


@task(name="purge", cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=[60, 300])
def purge(cfg: Config) -> Any:
    """Apply the retention policy once."""
    return policy.purge(cfg)


@flow(name="retention", log_prints=True, persist_result=False)
def retention(config_path: str) -> Any:
    """Apply the retention policy under the warehouse lock."""
    claim_run()
    cfg = load_config(config_path)
    logger = get_run_logger()
    checked = check_deleted(cfg, return_state=True)
    if checked.is_completed():
        logger.info("deletion check: %s", checked.result().summary())
    else:  # the purge still runs: what was marked before goes, the check is retried tomorrow
        logger.warning("deletion check failed, purging without it: %s", checked.message)
    try:
        with cycle_lock(cfg, "retention", wait_s=RETENTION_LOCK_WAIT_S):
            result = purge(cfg)  # publishes the analysts' copy again (or removes it)
    except CycleBusy as e:
        logger.warning(str(e))
        return Cancelled(message=str(e))
    summary = result.summary() if hasattr(result, "summary") else result
    logger.info("retention: %s", summary)
    return result
