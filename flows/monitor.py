"""The monitoring cycle as a Prefect flow: one fetch task per target, run
concurrently; then one task that classifies and stores the cycle."""
from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.states import Failed

from classifiers import load_classifier
from connectors import FetchResult, Target, all_targets
from edumon import pipeline
from edumon.config import Config, load_config
from edumon.secrets import Secrets


@task(name="fetch-target", task_run_name="fetch {target.source} {target.key}")
def fetch_target(target: Target, state: dict[str, Any], secrets: Secrets) -> tuple[FetchResult, pipeline.TargetReport]:
    """Fetch one feed / query / hashtag (never raises for a source failure)."""
    return pipeline.fetch_target(target, state, secrets)


@task(name="classify-and-store")
def classify_and_store(cfg: Config, results: list[tuple[FetchResult, pipeline.TargetReport]],
                       report: pipeline.CycleReport, secrets: Secrets) -> pipeline.CycleReport:
    """Relevance, classification and one warehouse transaction for the whole cycle."""
    return pipeline.process(cfg, results, load_classifier(cfg.classifier), report, secrets)


def run(cfg: Config, secrets: Secrets | None = None) -> pipeline.CycleReport:
    """The flow body without the final state; `monitor_cycle` wraps it."""
    secrets = secrets or Secrets()
    report = pipeline.new_cycle()
    wh = pipeline.warehouse_for(cfg)
    try:
        report.replayed = pipeline.replay_spool(cfg, wh)
    except pipeline.WarehouseLocked:
        pass
    try:
        states = pipeline.load_states(cfg)
    except pipeline.WarehouseLocked:
        states = {}
    targets = all_targets(cfg)
    futures = [fetch_target.submit(t, states.get((t.source, t.key), {}), secrets) for t in targets]
    results = [f.result() for f in futures]
    return classify_and_store(cfg, results, report, secrets)


@flow(name="monitor-cycle", log_prints=True)
def monitor_cycle(config_path: str) -> Any:
    """One monitoring cycle.  Ends Failed when a source failed, after everything
    healthy was stored."""
    logger = get_run_logger()
    cfg = load_config(config_path)
    report = run(cfg)
    for t in report.targets:
        logger.info("%s %s: %s, %d fetched, %d relevant, %d new%s", t.source, t.target, t.status,
                    t.fetched, t.relevant, t.new, f" ({t.error})" if t.error else "")
    if not report.ok:
        msg = "; ".join(f"{t.source} {t.target}: {t.error}" for t in report.failed) or report.error
        return Failed(message=f"{len(report.failed)} source(s) failed: {msg}", data=report)
    return report
