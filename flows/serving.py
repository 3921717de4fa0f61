"""How `edumon serve` runs its deployments so that no flow run outlives its process.

Prefect holds a slot of a deployment's concurrency limit (1 for the cycle) for every flow run
that is PENDING, RUNNING or CANCELLING.  A run whose process died without saying so (Ctrl-C,
`kill -9`, a power cut) keeps its slot until the server's lease expires (5 minutes by default),
and every cycle due before then is cancelled ("Deployment concurrency limit reached").  So:

- Ctrl-C (SIGINT) stops serve the way SIGTERM does: the runner cancels its running flow runs
  (they end Cancelled) before it exits.
- Every flow run records the process that runs it (`claim_run`: `host:pid` in the run's
  `infrastructure_pid`).
- On start and on the way out, serve ends every unfinished run of its deployments whose process
  is gone (`end_orphaned_runs`): Crashed, which gives the slot back at once.  It holds a lock
  beside the warehouse meanwhile (`serve_lock`), so no other serve of the same warehouse owns
  those runs: one serve per warehouse.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Sequence
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.runner import Runner
from prefect.states import Cancelled, Crashed

from core.config import Config
from pipeline.cyclelock import file_lock, holder

log = logging.getLogger("edumon.flows.serving")

UNFINISHED = [StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]


class ServeBusy(RuntimeError):
    """Another `edumon serve` already serves this warehouse."""


def serve_lock_path(cfg: Config) -> Path:
    """`<warehouse>.serve.lock`, beside the database (and its cycle lock)."""
    db = Path(cfg.warehouse.path)
    return db.with_name(db.name + ".serve.lock")


def serve_lock(cfg: Config) -> ContextManager[Path]:
    """Hold the serve lock for the life of `edumon serve`; `ServeBusy` when another serve has it.
    The operating system drops the lock when the process dies, however it dies."""

    def busy(path: Path) -> Exception:
        return ServeBusy(f"another edumon serve ({holder(path)}) already serves this warehouse ({path})")

    return file_lock(serve_lock_path(cfg), "serve", 0.0, busy)


def this_process() -> str:
    """`host:pid` of this process, as `claim_run` records it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_run() -> None:
    """Record this process as the one running the current deployment's flow run (for
    `end_orphaned_runs`).  A no-op outside a served run; never fails the run."""
    try:
        from prefect.context import FlowRunContext

        ctx = FlowRunContext.get()
        run = ctx.flow_run if ctx else None
        if run is None or run.deployment_id is None:
            return
        with get_client(sync_client=True) as client:
            client.update_flow_run(run.id, infrastructure_pid=this_process())
    except Exception:  # noqa: BLE001 - bookkeeping only: the start-up sweep falls back on the serve lock
        log.debug("could not record the flow run's process", exc_info=True)


def process_alive(owner: str | None, host: str | None = None) -> bool:
    """Whether the process `host:pid` (as `claim_run` wrote it) still runs a Prefect flow here.

    Not recorded, or recorded on another host: False (the caller holds the serve lock, so no
    other serve of this warehouse can own the run)."""
    if not owner or ":" not in owner:
        return False
    where, _, pid_text = owner.rpartition(":")
    if where != (host or socket.gethostname()) or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():  # a recycled pid is not our flow run
        try:
            return b"prefect" in cmdline.read_bytes()
        except OSError:
            return True
    return True


def deployment_ids(client: Any, names: Sequence[str]) -> list[Any]:
    """The ids of the deployments `flow/deployment` that exist on the server."""
    ids = []
    for name in names:
        try:
            ids.append(client.read_deployment_by_name(name).id)
        except ObjectNotFound:
            continue
    return ids


def unfinished_runs(client: Any, ids: list[Any]) -> list[FlowRun]:
    """The PENDING, RUNNING and CANCELLING flow runs of these deployments."""
    if not ids:
        return []
    return client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=ids)),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=UNFINISHED))),
    )


def end_orphaned_runs(names: Sequence[str], reason: str) -> list[str]:
    """End every unfinished run of the deployments `names` whose process is gone: Crashed
    (Cancelled when it was being cancelled), which frees its concurrency slot at once.
    Call it holding `serve_lock`.  Returns the names of the runs ended."""
    ended = []
    with get_client(sync_client=True) as client:
        for run in unfinished_runs(client, deployment_ids(client, names)):
            if process_alive(run.infrastructure_pid):
                continue
            state_type = run.state.type if run.state else None
            state = Cancelled(message=reason) if state_type == StateType.CANCELLING else Crashed(message=reason)
            client.set_flow_run_state(run.id, state, force=True)
            log.info("flow run %s (%s) ended as %s: %s", run.name, run.id, state.name, reason)
            ended.append(run.name)
    return ended


def run_deployments(deployments: Sequence[RunnerDeployment], limit: int | None = None) -> None:
    """Serve the deployments until SIGINT or SIGTERM; both stop the runner gracefully (its
    running flow runs are cancelled), a second one stops it at once."""
    runner = Runner(limit=limit, pause_on_shutdown=True)
    for d in deployments:
        runner.add_deployment(d)

    def on_sigint(signum: int, frame: Any) -> None:
        if not runner.started or runner.stopping:
            raise KeyboardInterrupt
        log.warning("interrupted: cancelling the running flow runs, then stopping")
        runner.handle_sigterm()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        signal.signal(signal.SIGINT, previous)
