"""The monitoring cycle as a Prefect flow.

One `fetch-target` task per feed / query / hashtag, run concurrently; a 5xx,
timeout or network error is retried by Prefect with backoff and jitter
(`[schedule] fetch_retries`, `retry_delays_s`, `retry_jitter_factor`).  A
target that still fails becomes a failed result, so one broken source never
stops the others.  Then one `classify-and-store` task (relevance,
classification, one warehouse transaction, follow-ups and alerts: all in
`pipeline.process`) and one `check-source-health` task.  The run ends
Failed when a source failed, after everything healthy was stored.

Cycles never overlap: the deployment has a concurrency limit of 1 and the
whole cycle holds the machine-wide warehouse lock (`pipeline.cyclelock`), so an
`edumon run` by hand waits for (or skips) a scheduled one.  Only the one
store task writes the warehouse.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Cancelled, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner

import health
import pipeline
from classifiers import load_classifier
from connectors import FetchResult, Target, all_targets
from core.config import Config, load_config
from core.secrets import Secrets, redact
from pipeline.cyclelock import CycleBusy, cycle_lock

MAX_PARALLEL_FETCHES = 8


class SourceUnavailable(Exception):
    """A target failed in a way worth retrying (5xx, timeout, network); carries what it returned."""

    def __init__(self, message: str, result: FetchResult, report: pipeline.TargetReport) -> None:
        super().__init__(message)
        self.result = result
        self.report = report


# What the connectors say for a timeout or a network error (connectors/http.py, bluesky, mastodon).
TRANSIENT_ERRORS = ("timed out", "did not answer within", "network error")


def retryable(result: FetchResult) -> bool:
    """A 5xx, a timeout or a network error: worth another try.  A 4xx, a 429 (the next cycle
    honours it), a missing secret, a payload that is not a feed or a connector bug are not."""
    if result.status != "failed":
        return False
    if result.http_status is not None and result.http_status >= 500:
        return True
    if result.http_status is not None and 400 <= result.http_status < 500:
        return False
    error = (result.error or "").lower()
    return any(p in error for p in TRANSIENT_ERRORS)


@task(name="fetch-target", task_run_name="fetch {target.source} {target.key}", cache_policy=NO_CACHE)
def fetch_target(cfg: Config, target: Target, state: dict[str, Any]) -> tuple[FetchResult, pipeline.TargetReport]:
    """Fetch one target; raise `SourceUnavailable` for a retryable failure."""
    secrets = Secrets()
    result, report = pipeline.fetch_target(target, state, secrets)
    if retryable(result):
        msg = redact(f"{target.source} {target.key}: {result.error}", pipeline.secret_values(cfg, secrets))
        raise SourceUnavailable(msg, result, report)
    return result, report


@task(name="classify-and-store", cache_policy=NO_CACHE)
def classify_and_store(
    cfg: Config, results: list[tuple[FetchResult, pipeline.TargetReport]], report: pipeline.CycleReport
) -> pipeline.CycleReport:
    """Relevance, classification, one warehouse transaction, follow-ups and alerts."""
    return pipeline.process(cfg, results, load_classifier(cfg.classifier), report, Secrets())


@task(name="check-source-health", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def check_source_health(cfg: Config) -> list[health.Finding]:
    """Failing and silent sources; a new episode raises one admin alert."""
    logger = get_run_logger()
    found, alerted = health.check_and_alert(cfg)
    new = {f.alert_id for f in alerted}
    for f in found:
        logger.warning(
            "%s%s",
            health.alert_text(f, cfg.organisation.timezone),
            " (admin alert raised)" if f.alert_id in new else "",
        )
    return found


def _fetch_options(cfg: Config) -> dict[str, Any]:
    sch = cfg.schedule
    return {
        "retries": sch.fetch_retries,
        "retry_delay_seconds": list(sch.retry_delays_s) or 0,
        "retry_jitter_factor": sch.retry_jitter_factor or None,
    }


def fetch_all(
    cfg: Config, targets: list[Target], states: dict[tuple[str, str], dict[str, Any]]
) -> list[tuple[FetchResult, pipeline.TargetReport]]:
    """Every target concurrently; a target that failed for good becomes a failed result."""
    fetch = fetch_target.with_options(**_fetch_options(cfg))
    futures = [fetch.submit(cfg, t, states.get((t.source, t.key), {})) for t in targets]
    results = []
    for t, fut in zip(targets, futures):
        fut.wait()
        value = fut.state.result(raise_on_failure=False)
        if isinstance(value, SourceUnavailable):
            value = (value.result, value.report)
        elif isinstance(value, BaseException):  # a crash in the task itself: keep the cycle going
            res = FetchResult(
                target=t,
                state=dict(states.get((t.source, t.key), {})),
                status="failed",
                error=f"task error: {type(value).__name__}: {value}",
            )
            value = (res, pipeline.TargetReport(t.source, t.key, "failed", res.error))
        results.append(value)
    return results


def run(cfg: Config) -> pipeline.CycleReport:
    """The flow body without the final state; call it inside a flow run."""
    report = pipeline.new_cycle()
    wh = pipeline.warehouse_for(cfg)
    try:
        report.replayed = pipeline.replay_spool(cfg, wh, report)
    except pipeline.WarehouseLocked:
        pass
    try:
        states = pipeline.load_states(cfg)
    except pipeline.WarehouseLocked:
        states = {}
    results = fetch_all(cfg, all_targets(cfg), states)
    return classify_and_store(cfg, results, report)


@flow(name="monitor-cycle", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL_FETCHES))
def monitor_cycle(config_path: str) -> Any:
    """One monitoring cycle.  Ends Failed when a source failed, after everything healthy was
    stored; Cancelled when another cycle still holds the warehouse lock."""
    logger = get_run_logger()
    cfg = load_config(config_path)
    try:
        with cycle_lock(cfg, "cycle"):
            report = run(cfg)
            try:
                check_source_health(cfg)
            except Exception as e:  # the health check never costs the cycle its result
                logger.error("source health check failed: %s: %s", type(e).__name__, e)
    except CycleBusy as e:
        logger.warning(str(e))
        return Cancelled(message=str(e))
    return final_state(report, logger)


def final_state(report: pipeline.CycleReport, logger: Any) -> State | pipeline.CycleReport:
    """Log each target and turn a cycle with a failed source into a Failed state."""
    for t in report.targets:
        logger.info(
            "%s %s: %s, %d fetched, %d relevant, %d new%s",
            t.source,
            t.target,
            t.status,
            t.fetched,
            t.relevant,
            t.new,
            f" ({t.error})" if t.error else "",
        )
    if not report.ok:
        msg = "; ".join(f"{t.source} {t.target}: {t.error}" for t in report.failed) or report.error
        return Failed(message=f"{len(report.failed)} source(s) failed: {msg}", data=report)
    return report
