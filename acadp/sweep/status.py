"""The state of every grid point, LiRA audit and one-run audit, read from the results store (never from Ray's own
state). Light on purpose: ``acadp sweep status`` reads JSON files and imports nothing that trains or tracks."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from acadp.config.base import FrozenModel
from acadp.config.describe import describe
from acadp.config.lira import AuditConfig
from acadp.config.one_run import OneRunConfig
from acadp.config.trial import TrialConfig
from acadp.errors import StoreError
from acadp.lira.one_run_result import OneRunResult
from acadp.lira.results import AuditResult
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.lease import driver_is_live, read_driver
from acadp.trial.record import STATES, TrialRecord, TrialStatus
from acadp.trial.result import TrialResult

Result = TypeVar("Result", bound=FrozenModel)


@dataclass(frozen=True)
class StoredResult(Generic[Result]):
    """A stage's ``result.json`` as every reader sees it: the validated ``value``, or the ``problem`` that makes an
    existing file unusable (then the stage counts as not done: ``sweep status`` shows the problem and the driver
    deletes the file and runs the stage again). Neither when there is no file yet."""

    value: Result | None = None
    problem: str | None = None


def read_result(store: ResultsStore, rel: str, model: type[Result]) -> StoredResult[Result]:
    """The result file ``rel`` validated as ``model``. A file that is not JSON, or whose JSON does not validate as
    ``model`` (cut short, edited, written by an incompatible version), gives a ``problem`` naming the file and why."""
    if not store.exists(rel):
        return StoredResult()
    try:
        return StoredResult(value=model.model_validate(store.read_json(rel)))
    except ValidationError as error:
        reason = describe(error)
    except (StoreError, ValueError) as error:  # ValueError: not UTF-8 or not JSON
        reason = str(error)
    reason = reason if len(reason) <= 300 else reason[:299] + "…"
    return StoredResult(problem=f"{rel} unreadable ({reason}); will be re-run")


def _read(store: ResultsStore, rel: str) -> dict[str, Any] | None:
    if not store.exists(rel):
        return None
    try:
        payload = store.read_json(rel)
    except (StoreError, ValueError):
        return None  # a file being replaced right now: the next read sees the new one
    return payload if isinstance(payload, dict) else None


def trial_record(store: ResultsStore, config: TrialConfig, *, live_invocation: str | None) -> TrialRecord:
    """The :class:`TrialRecord` of one grid point."""
    key = config.key()
    paths = LAYOUT.trial(key)
    stored = read_result(store, paths.result, TrialResult)
    if stored.value is not None:
        result = stored.value
        return TrialRecord(key=key, config=config, status="completed", result=result, epochs_done=result.epochs)
    progress = _read(store, paths.progress) or {}
    error = _read(store, paths.error)
    epochs_done = int(progress.get("epochs_done", 0))
    running = live_invocation is not None and progress.get("invocation") == live_invocation
    if error is not None and not (running and progress.get("updated_at", "") > error.get("at", "")):
        return TrialRecord(key=key, config=config, status="failed", error=error.get("error"), epochs_done=epochs_done)
    retry = _retry_of(_read(store, paths.attempts), live_invocation)
    if retry is not None:
        restarted = running and progress.get("updated_at", "") > retry["at"]
        note = f"attempt {retry['number'] + 1} after {retry['reason']}"
        retrying: TrialStatus = "running" if restarted else "retrying"
        return TrialRecord(key=key, config=config, status=retrying, error=note, epochs_done=epochs_done)
    status: TrialStatus = "running" if running else "pending"
    return TrialRecord(key=key, config=config, status=status, error=stored.problem, epochs_done=epochs_done)


def _retry_of(attempts: dict[str, Any] | None, live_invocation: str | None) -> dict[str, Any] | None:
    """The last failed attempt of the live invocation that the driver will retry (with its number), else None."""
    if attempts is None or live_invocation is None:
        return None
    mine = [a for a in attempts.get("attempts", []) if a.get("invocation") == live_invocation]
    if not mine or mine[-1].get("final"):
        return None
    return {**mine[-1], "number": len(mine)}


def collect_records(
    store: ResultsStore, configs: Sequence[TrialConfig], *, assume_idle: bool = False
) -> list[TrialRecord]:
    """Records of every grid point, in grid order. ``assume_idle``: the caller knows no trial runs now (the driver
    after Tune returned), so unfinished trials are pending whatever ``driver.json`` says."""
    driver = None if assume_idle else read_driver(store)
    live = driver.get("invocation") if driver is not None and driver_is_live(driver) else None
    return [trial_record(store, config, live_invocation=live) for config in configs]


def count_states(records: Sequence[TrialRecord]) -> dict[str, int]:
    counts = Counter(str(record.status) for record in records)
    return {state: counts.get(state, 0) for state in STATES}


def _number(value: float | None) -> float | str | None:
    if value is None:
        return None
    return "inf" if math.isinf(value) else value


# the states ``sweep status`` shows: a record's, and ``interrupted`` for a pending trial that stopped after some epochs
SHOWN_STATES: tuple[str, ...] = (*STATES, "interrupted")


def shown_state(record: TrialRecord) -> str:
    """``interrupted`` for a pending trial with checkpointed epochs (its next run continues from its checkpoint; not
    one whose result.json is unreadable: that one is re-run and says why), else the record's status."""
    if record.status == "pending" and record.epochs_done > 0 and record.error is None:
        return "interrupted"
    return record.status


def status_payload(records: Sequence[TrialRecord]) -> dict[str, Any]:
    """The ``acadp sweep status --json`` object: one entry per grid point (its :func:`shown_state`) plus counts."""
    trials = []
    for record in records:
        config = record.config
        entry: dict[str, Any] = {
            "label": config.label(),
            "arm": f"{config.dataset} {config.arm}",
            "arm_kind": config.arm_kind,
            "dataset": config.dataset,
            "alpha": config.alpha,
            "epsilon": _number(config.epsilon),
            "clip": config.clip,
            "seed": config.seed,
            "status": shown_state(record),
            "trial_key": record.key,
            "epochs_done": record.epochs_done,
            "epochs": config.training.epochs,
        }
        if record.error is not None:
            entry["error"] = record.error
        if record.result is not None:
            entry.update(
                success=record.result.success,
                test_accuracy=record.result.test_accuracy,
                epsilon_spent=_number(record.result.epsilon_spent),
                seconds=record.result.seconds,
            )
        trials.append(entry)
    shown = Counter(entry["status"] for entry in trials)
    return {"counts": {state: shown.get(state, 0) for state in SHOWN_STATES}, "trials": trials}


def stored_audit_result(store: ResultsStore, audit: AuditConfig) -> StoredResult[AuditResult]:
    """The audit's ``result.json``, validated (see :func:`read_result`)."""
    return read_result(store, LAYOUT.audit(audit.key()).result, AuditResult)


def audit_state(store: ResultsStore, audit: AuditConfig) -> tuple[str, int]:
    """(status, finished shadows) of one audit: ``completed`` (a valid result.json) or ``pending`` (with shadows
    saved so far; an unreadable result.json is re-scored from them)."""
    if stored_audit_result(store, audit).value is not None:
        return "completed", audit.lira.shadows
    paths = LAYOUT.audit(audit.key())
    done = sum(store.exists(paths.shadow_meta(i)) for i in range(audit.lira.shadows))
    return "pending", done


def one_run_state(store: ResultsStore, config: OneRunConfig) -> dict[str, Any]:
    """What ``sweep status`` shows of one planned one-run audit: its label and key, ``status`` (``completed`` with
    a valid result, ``failed`` with an ``error.json`` and no result, else ``pending``), the ε lower bound of a
    completed one, the error of a failed one."""
    paths = LAYOUT.one_run(config.key())
    result = read_result(store, paths.result, OneRunResult).value
    state: dict[str, Any] = {"label": config.label(), "one_run_key": config.key(), "status": "pending"}
    if result is not None:
        state.update(status="completed", epsilon_lower_bound=result.epsilon_lower_bound)
    elif store.exists(paths.error):
        state.update(status="failed", error=(_read(store, paths.error) or {}).get("error"))
    return state


def untracked_trials(store: ResultsStore, configs: Iterable[TrialConfig]) -> list[TrialConfig]:
    """Grid points whose result is stored but not (fully) logged to MLflow."""
    return [c for c in configs if _awaits(store, LAYOUT.trial(c.key()).untracked, LAYOUT.trial(c.key()).result)]


def untracked_audits(store: ResultsStore, audits: Iterable[AuditConfig]) -> list[AuditConfig]:
    """Audits whose result is stored but not (fully) logged to MLflow."""
    return [a for a in audits if _awaits(store, LAYOUT.audit(a.key()).untracked, LAYOUT.audit(a.key()).result)]


def _awaits(store: ResultsStore, marker: str, result: str) -> bool:
    return store.exists(marker) and store.exists(result)
