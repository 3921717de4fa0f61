"""The monitoring cycle as a Prefect flow: the same `pipeline` functions as a direct run,
one side effect per task.

- `replay-spool`: writes what earlier cycles kept in the spool (a locked warehouse).
- `fetch-target`, one per feed / query / hashtag, run concurrently: the network.  Not retried
  by Prefect: the connectors retry their own HTTP requests (`sources.*.retries`), so there is
  one layer of retries.  A target that fails becomes a failed result; the others go on.
- `store-cycle`: relevance and classification (pure preparation, reading cached labels), then
  the cycle's one warehouse transaction (or the spool) and the analysts' views derived from it.
- `protocol-actions`: follow-ups, evidence, flags, alerts raised, escalation (warehouse writes).
- `deliver-alerts`: sends every pending alert.  Its own retries (`[schedule] retry_delays_s`,
  `retry_jitter_factor`), decided by a typed error: only when a delivery failed for a reason
  that passes (`DeliveryError.transient`: unreachable, 5xx, 429, SMTP 4xx).
- `check-source-health`: failing and silent sources; a new episode raises one admin alert.
- `publish-analysts-copy`: the analysts' read-only copy of the warehouse (`warehouse.publish`).

`store-cycle` sends urgent (threat) alerts right after classification, before the write
(`protocol.urgent`), so a locked warehouse never delays them.

The run ends Failed when a source failed, after everything healthy was stored.  Cycles never
overlap: the deployment has a concurrency limit of 1 and the whole cycle holds the machine-wide
warehouse lock (`pipeline.cyclelock`), so an `edumon run` by hand waits for (or skips) a
scheduled one.

`run_cycle` is what `edumon run` calls: a flow run when a Prefect server is configured
(`PREFECT_API_URL`), the plain functions otherwise, and the plain functions as well when the
flow run cannot start (an orchestrator that is down or slow never costs a cycle).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.settings import get_current_settings
from prefect.states import Cancelled, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner

import health
import pipeline
from classifiers import load_classifier
from connectors import FetchResult, Target, all_targets
from core.config import Config, load_config
from core.mention import utcnow
from core.secrets import Secrets
from flows.serving import claim_run
from pipeline.cyclelock import CycleBusy, cycle_lock

MAX_PARALLEL_FETCHES = 8
API_CHECK_TIMEOUT_S = 5.0  # a Prefect server slower than this to answer its health check is not waited for

log = logging.getLogger("edumon.flows")


class AlertsNotDelivered(Exception):
    """Some alert failed for a reason that passes (`DeliveryError.transient`): worth a retry."""

    def __init__(self, report: pipeline.CycleReport) -> None:
        failed = report.actions.failed if report.actions else []
        super().__init__(f"{len(failed)} alert(s) not delivered: " + "; ".join(a["last_error"] for a in failed[:3]))
        self.report: pipeline.CycleReport | None = report

    def __reduce__(self) -> tuple[Any, ...]:  # a pickle (if Prefect ever persists it) carries no report
        return (_not_delivered, (str(self),))


def _not_delivered(message: str) -> AlertsNotDelivered:
    e = AlertsNotDelivered.__new__(AlertsNotDelivered)
    Exception.__init__(e, message)
    e.report = None
    return e


def worth_retrying(failed: list[dict[str, Any]]) -> bool:
    """Retry the delivery when at least one failure is transient (typed, not matched on text)."""
    return any(a.get("transient") for a in failed)


@task(name="replay-spool", cache_policy=NO_CACHE, persist_result=False)
def replay_spool(cfg: Config, report: pipeline.CycleReport) -> pipeline.CycleReport:
    """Write what earlier cycles kept in the spool."""
    return pipeline.replay(cfg, report)


@task(
    name="fetch-target", task_run_name="fetch {target.source} {target.key}", cache_policy=NO_CACHE, persist_result=False
)
def fetch_target(cfg: Config, target: Target, state: dict[str, Any]) -> tuple[FetchResult, pipeline.TargetReport]:
    """Fetch one target (the connector retries its own requests); never raises for a source's fault."""
    return pipeline.fetch_target(target, state, Secrets())


@task(name="store-cycle", cache_policy=NO_CACHE, persist_result=False)
def store_cycle(
    cfg: Config, results: list[tuple[FetchResult, pipeline.TargetReport]], report: pipeline.CycleReport
) -> pipeline.CycleReport:
    """Relevance and classification, then one warehouse transaction (or the spool) and the views."""
    return pipeline.store_cycle(cfg, results, load_classifier(cfg.classifier), report, Secrets())


@task(name="protocol-actions", cache_policy=NO_CACHE, persist_result=False)
def protocol_actions(cfg: Config, report: pipeline.CycleReport) -> pipeline.CycleReport:
    """Follow-ups, evidence, flags, alerts raised and escalation; sends nothing."""
    return pipeline.protocol_actions(cfg, report)


def _only_typed(task: Any, task_run: Any, state: State) -> bool:
    """Prefect's retry condition: retry the delivery only after `AlertsNotDelivered`."""
    try:
        state.result()
    except AlertsNotDelivered:
        return True
    except BaseException:
        return False
    return False


@task(name="deliver-alerts", cache_policy=NO_CACHE, persist_result=False, retry_condition_fn=_only_typed)
def deliver_alerts(cfg: Config, report: pipeline.CycleReport) -> pipeline.CycleReport:
    """Send every pending alert; raise `AlertsNotDelivered` (retried) when a failure may pass."""
    pipeline.deliver_alerts(cfg, report, Secrets())
    if report.actions is not None and worth_retrying(report.actions.failed):
        raise AlertsNotDelivered(report)
    return report


@task(name="check-source-health", cache_policy=NO_CACHE, persist_result=False, retries=1, retry_delay_seconds=5)
def check_source_health(cfg: Config) -> list[health.Finding]:
    """Failing and silent sources; a new episode raises one admin alert."""
    logger = get_run_logger()
    found, alerted = health.check_and_alert(cfg, deliver=True)
    new = {f.alert_id for f in alerted}
    for f in found:
        logger.warning(
            "%s%s",
            health.alert_text(f, cfg.organisation.timezone),
            " (admin alert raised)" if f.alert_id in new else "",
        )
    return found


@task(name="publish-analysts-copy", cache_policy=NO_CACHE, persist_result=False)
def publish_copy(cfg: Config, report: pipeline.CycleReport) -> pipeline.CycleReport:
    """Publish the analysts' copy (never fails the cycle)."""
    return pipeline.publish_copy(cfg, report, Secrets())


def delivery_options(cfg: Config) -> dict[str, Any]:
    """The deliver-alerts task's retries: one per `[schedule] retry_delays_s` entry."""
    sch = cfg.schedule
    return {
        "retries": len(sch.retry_delays_s),
        "retry_delay_seconds": list(sch.retry_delays_s) or 0,
        "retry_jitter_factor": sch.retry_jitter_factor or None,
    }


def fetch_all(
    cfg: Config, targets: list[Target], states: dict[tuple[str, str], dict[str, Any]]
) -> list[tuple[FetchResult, pipeline.TargetReport]]:
    """Every target concurrently; a task that crashed becomes a failed result."""
    futures = [fetch_target.submit(cfg, t, states.get((t.source, t.key), {})) for t in targets]
    results = []
    for t, fut in zip(targets, futures):
        fut.wait()
        value = fut.state.result(raise_on_failure=False)
        if isinstance(value, BaseException):  # a crash in the task itself: keep the cycle going
            res = FetchResult(
                target=t,
                state=dict(states.get((t.source, t.key), {})),
                status="failed",
                error=f"task error: {type(value).__name__}: {value}",
            )
            value = (res, pipeline.TargetReport(t.source, t.key, "failed", res.error))
        results.append(value)
    return results


def deliver(cfg: Config, report: pipeline.CycleReport) -> pipeline.CycleReport:
    """The deliver-alerts task with its retries; what failed for good stays in the report."""
    state = deliver_alerts.with_options(**delivery_options(cfg))(cfg, report, return_state=True)
    value = state.result(raise_on_failure=False)
    if isinstance(value, AlertsNotDelivered):
        return value.report or report
    if isinstance(value, BaseException):  # a bug in the task: the alerts stay pending for the next cycle
        if report.actions is not None:
            report.actions.errors.append(f"delivery: {type(value).__name__}: {value}")
        return report
    return value


def run(cfg: Config) -> pipeline.CycleReport:
    """The flow body without the final state; call it inside a flow run."""
    report = replay_spool(cfg, pipeline.new_cycle())
    results = fetch_all(cfg, all_targets(cfg), pipeline.load_states(cfg))
    report = store_cycle(cfg, results, report)
    report = protocol_actions(cfg, report)
    report = deliver(cfg, report)
    report = publish_copy(cfg, report)
    report.finished_at = utcnow()
    return report


_bodies_started = 0  # flow bodies begun in this process: tells "could not start" from "failed"
_started_lock = threading.Lock()


@flow(
    name="monitor-cycle",
    log_prints=True,
    persist_result=False,
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL_FETCHES),
)
def monitor_cycle(config_path: str) -> Any:
    """One monitoring cycle.  Ends Failed when a source failed, after everything healthy was
    stored; Cancelled when another cycle still holds the warehouse lock.  Whatever the outcome,
    the state and the logs carry counts, target names and mention ids only (never a text)."""
    global _bodies_started
    with _started_lock:
        _bodies_started += 1
    claim_run()
    logger = get_run_logger()
    try:
        cfg = load_config(config_path)
        with cycle_lock(cfg, "cycle"):
            report = run(cfg)
            try:
                check_source_health(cfg)
            except Exception as e:  # the health check never costs the cycle its result
                logger.error("source health check failed: %s", error_line(e))
        health.heartbeat.after_cycle(cfg, report)
    except CycleBusy as e:
        logger.warning(str(e))
        return Cancelled(message=str(e))
    except Exception as e:  # noqa: BLE001 - one short line; Prefect would log and pickle the whole exception
        log.debug("cycle crashed", exc_info=True)
        msg = f"cycle crashed: {error_line(e)}"
        logger.error(msg)
        return Failed(message=msg, data=CycleError(msg))
    return final_state(report, logger)


MESSAGE_CHARS = 200  # an error quoted in a state or log line is cut here
LISTED_FAILURES = 5  # failed targets named in a Failed state's message
LISTED_IDS = 20  # mention ids named in the log line of what was stored


def short(text: str | None, limit: int = MESSAGE_CHARS) -> str:
    """The first line of `text`, cut to `limit` characters."""
    lines = (text or "").strip().splitlines()
    first = lines[0].strip() if lines else ""
    return first if len(first) <= limit else first[: limit - 1] + "\u2026"


def error_line(e: BaseException) -> str:
    """`Type: first line of the message`, short: what a state or log line may say of an error."""
    return short(f"{type(e).__name__}: {e}")


class CycleError(Exception):
    """A cycle that crashed inside its flow run, as one short line (the flow run's result)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self),))


class CycleFailed(Exception):
    """The result of a flow run whose cycle had a failed source: a short message (counts and
    target names) for Prefect, and the cycle report for the process that ran it.

    Its text, repr and pickle never carry the report (texts, authors, payloads), so nothing
    Prefect logs, stores or persists does.  The report's fields read through it
    (`state.result(raise_on_failure=False).targets`) in the process that ran the cycle."""

    def __init__(self, message: str, report: pipeline.CycleReport | None = None) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self),))

    def __getattr__(self, name: str) -> Any:
        report = self.__dict__.get("report")
        if name.startswith("__") or report is None:
            raise AttributeError(name)
        return getattr(report, name)


def failure_message(report: pipeline.CycleReport) -> str:
    """`2 source(s) failed: rss https://...: HTTP 503; ...; 3 new mention(s) stored`: counts,
    target names and short errors."""
    failed = report.failed
    parts = [f"{t.source} {t.target}: {short(t.error, MESSAGE_CHARS // 2)}" for t in failed[:LISTED_FAILURES]]
    if len(failed) > LISTED_FAILURES:
        parts.append(f"and {len(failed) - LISTED_FAILURES} more")
    if report.error:
        parts.append(short(report.error))
    head = f"{len(failed)} source(s) failed" if failed else "cycle error"
    tail = f"{len(report.stored)} new mention(s) stored" + (f", {report.spooled} spooled" if report.spooled else "")
    return f"{head}: {'; '.join(parts)}; {tail}"


def final_state(report: pipeline.CycleReport, logger: Any) -> State | pipeline.CycleReport:
    """Log each target and what was stored (ids), and turn a cycle with a failed source into a
    Failed state with a short message."""
    for t in report.targets:
        logger.info(
            "%s %s: %s, %d fetched, %d relevant, %d new%s",
            t.source,
            t.target,
            t.status,
            t.fetched,
            t.relevant,
            t.new,
            f" ({short(t.error)})" if t.error else "",
        )
    if report.stored:
        ids = [m.mention_id for m in report.stored[:LISTED_IDS]]
        more = f" and {len(report.stored) - LISTED_IDS} more" if len(report.stored) > LISTED_IDS else ""
        logger.info("stored %d new mention(s): %s%s", len(report.stored), ", ".join(ids), more)
    if not report.ok:
        msg = failure_message(report)
        return Failed(message=msg, data=CycleFailed(msg, report))
    return report


# --- edumon run: a flow run or the plain functions ------------------------------------------


class CycleCrashed(Exception):
    """The flow run ended in an error that is not a failed source."""


def prefect_api_url() -> str | None:
    """The configured Prefect server (PREFECT_API_URL, or the Prefect profile), if any."""
    url = get_current_settings().api.url
    return str(url) if url else None


def api_unavailable(timeout_s: float = API_CHECK_TIMEOUT_S) -> str | None:
    """Why the configured Prefect server cannot take a flow run now (None: it answered in time)."""
    try:
        with get_client(httpx_settings={"timeout": timeout_s}, sync_client=True) as client:
            err = client.api_healthcheck()
    except Exception as e:  # noqa: BLE001 - any failure to reach it means: run directly
        err = e
    return f"{type(err).__name__}: {err}" if err is not None else None


def run_direct(cfg: Config) -> pipeline.CycleReport:
    """The cycle as plain functions under the warehouse lock (raises `CycleBusy`)."""
    with cycle_lock(cfg, "cycle"):
        report = pipeline.run_cycle(cfg)
        health.after_cycle(cfg, report)  # source health, then the heartbeat
        return report


def run_as_flow(cfg: Config) -> pipeline.CycleReport | None:
    """The cycle as a flow run; None when the flow run could not start (nothing of it ran)."""
    if cfg.path is None:
        return None
    before = _bodies_started
    try:
        state = monitor_cycle(str(cfg.path), return_state=True)
    except Exception as e:
        if _bodies_started == before:
            log.debug("flow run did not start", exc_info=True)
            return None
        raise CycleCrashed(f"cycle crashed: {type(e).__name__}: {e}") from e
    if state.is_cancelled():
        raise CycleBusy(state.message or "the cycle was cancelled")
    report = state.result(raise_on_failure=False)
    if isinstance(report, CycleFailed) and report.report is not None:
        return report.report
    if isinstance(report, CycleError):
        raise CycleCrashed(str(report))
    if isinstance(report, BaseException):
        if _bodies_started == before:
            return None
        raise CycleCrashed(f"cycle crashed: {type(report).__name__}: {report}")
    return report


def run_cycle(
    cfg: Config, prefect: bool | None = None, warn: Callable[[str], None] = log.warning
) -> pipeline.CycleReport:
    """One cycle for `edumon run`: a flow run when `prefect` (default: a Prefect server is
    configured), else the plain functions; when the flow run cannot start, the plain functions
    after one warning.  Raises `CycleBusy` when another cycle holds the lock."""
    url = prefect_api_url()
    if prefect is None:
        prefect = url is not None
    if not prefect:
        return run_direct(cfg)
    problem = api_unavailable() if url else None
    if problem:
        warn(f"the Prefect server at {url} did not answer ({problem}); running the cycle without Prefect")
        return run_direct(cfg)
    report = run_as_flow(cfg)
    if report is None:
        warn("the Prefect flow run could not start; running the cycle without Prefect")
        return run_direct(cfg)
    return report
