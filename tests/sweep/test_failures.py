"""Failed attempts as the driver records them: the reason (a lost node named as such), ``attempts.json`` and, once no
retry is left, ``error.json``; ``sweep status`` shows a trial the live driver will retry as retrying, not failed."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.trial import TrialConfig
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.store.space import StoreFullNotice
from acadp.sweep.failures import FailureLog, StoreFullStop, failure_reason, record_attempt
from acadp.sweep.jobs import JobRuntime, job_for
from acadp.sweep.status import count_states, trial_record

# the text Tune keeps for a trial whose actor died with its node (Ray 2.60 wording, shortened)
NODE_DIED = """Failure # 1 (occurred at 2026-12-02_00-00-00)
ray.exceptions.ActorDiedError: The actor died unexpectedly before finishing this task.
\tclass_name: ImplicitFunc
\tactor_id: 0f1e
The actor is dead because its node has died. Node Id: 5be3
"""
USER_ERROR = """Failure # 2 (occurred at 2026-12-02_00-01-00)
ray.exceptions.RayTaskError(ValueError): ray::ImplicitFunc.train() (pid=1, ip=127.0.0.1)
  File "x.py", line 1, in f
ValueError: training diverged: loss is nan
"""


def config() -> TrialConfig:
    return build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=math.inf, n_train=64, n_test=32))


def context(trial: TrialConfig) -> dict:
    """The trial's job as a Tune config carries it (plain data)."""
    return job_for(JobRuntime(store="unused", invocation="inv-1"), trial).plain()


# what Tune recorded for trials whose node was SIGKILLed in tests/sweep/test_node_loss.py
UNREACHABLE = """Failure # 1 (occurred at 2026-12-02_01-04-54)
The actor 560921902b8d37e91db7fb2901000000 is unavailable: The actor is temporarily unavailable: RpcError: RPC error: \
Socket closed rpc_code: 14. The task may or may not have been executed on the actor.
"""
PROCESS_DIED = """Failure # 1 (occurred at 2026-12-02_01-04-54)
ray.exceptions.ActorDiedError: The actor died unexpectedly before finishing this task.
\tclass_name: ImplicitFunc
The actor is dead because its worker process has died. Worker exit type: SYSTEM_ERROR
"""


def test_a_lost_node_is_named_as_such_and_other_errors_keep_their_last_line() -> None:
    assert failure_reason(NODE_DIED).startswith("node lost: The actor is dead because its node has died")
    assert failure_reason(UNREACHABLE).startswith("node lost: The actor 5609")
    assert failure_reason(PROCESS_DIED).startswith("process lost: ray.exceptions.ActorDiedError")
    assert failure_reason(USER_ERROR) == "ValueError: training diverged: loss is nan"
    assert len(failure_reason("x" * 1000)) == 300


def test_a_retried_attempt_shows_as_retrying_then_running_and_the_final_one_as_failed(tmp_path: Path) -> None:
    store, trial = ResultsStore(tmp_path), config()
    paths = LAYOUT.trial(trial.key())
    store.write_json(paths.progress, {"invocation": "inv-1", "updated_at": "2026-12-02T00:00:00.000+00:00"})
    record_attempt(store, context(trial), error_text=NODE_DIED, invocation="inv-1", final=False)
    record = trial_record(store, trial, live_invocation="inv-1")
    assert record.status == "retrying" and record.error is not None
    assert record.error.startswith("attempt 2 after node lost")
    assert count_states([record])["retrying"] == 1 and count_states([record])["failed"] == 0
    # no live driver: nothing will retry it, it is simply unfinished
    assert trial_record(store, trial, live_invocation=None).status == "pending"
    # the retry starts (its progress is newer than the failure): running again, the note still says why
    store.write_json(paths.progress, {"invocation": "inv-1", "updated_at": "2999-01-01T00:00:00.000+00:00"})
    again = trial_record(store, trial, live_invocation="inv-1")
    assert again.status == "running" and again.error is not None and "attempt 2" in again.error
    # the last attempt Tune gives up on: failed, with the reason in error.json (the process could not write it)
    record_attempt(store, context(trial), error_text=NODE_DIED, invocation="inv-1", final=True)
    store.write_json(paths.progress, {"invocation": "inv-1", "updated_at": "2000-01-01T00:00:00.000+00:00"})
    failed = trial_record(store, trial, live_invocation="inv-1")
    assert failed.status == "failed" and failed.error is not None and failed.error.startswith("node lost")
    assert len(store.read_json(paths.attempts)["attempts"]) == 2


def test_a_final_failure_keeps_the_error_its_own_process_wrote(tmp_path: Path) -> None:
    store, trial = ResultsStore(tmp_path), config()
    paths = LAYOUT.trial(trial.key())
    own = {"error": "ValueError: training diverged: loss is nan", "at": "2999-01-01T00:00:00.000+00:00",
           "invocation": "inv-1", "traceback": "…"}  # fmt: skip
    store.write_json(paths.error, own)
    record_attempt(store, context(trial), error_text=USER_ERROR, invocation="inv-1", final=True)
    assert store.read_json(paths.error) == own


@pytest.mark.parametrize("final", [False, True])
def test_the_tune_callback_records_the_trial_of_its_context(tmp_path: Path, final: bool) -> None:
    store, trial = ResultsStore(tmp_path), config()
    error_file = tmp_path / "error.txt"  # Tune's local copy: every failure of the trial, appended
    error_file.write_text(USER_ERROR + NODE_DIED)
    fake = SimpleNamespace(config={"acadp": context(trial)}, error_file=str(error_file), get_error=lambda: "")
    log = FailureLog(store, "inv-7")
    (log.on_trial_error if final else log.on_trial_recover)(0, [], fake)
    (attempt,) = store.read_json(LAYOUT.trial(trial.key()).attempts)["attempts"]
    assert attempt["invocation"] == "inv-7" and attempt["final"] is final
    assert attempt["reason"].startswith("node lost")  # the latest failure of the file, not the first
    assert store.exists(LAYOUT.trial(trial.key()).error) is final


# what Tune keeps for a trial whose store write hit a full disk, and for one whose data cache filled up (shortened)
STORE_FULL = """Failure # 1 (occurred at 2026-12-07_18-45-20)
ray.exceptions.RayTaskError(StoreFullError): ray::ImplicitFunc.train() (pid=1, ip=127.0.0.1)
acadp.errors.StoreFullError: results store /r/full is full (No space left on device writing trials/k/progress.json); \
free space on its device (or give another --storage)
"""
CACHE_FULL = """Failure # 1 (occurred at 2026-12-07_18-45-20)
ray.exceptions.RayTaskError(OSError): ray::ImplicitFunc.train() (pid=1, ip=127.0.0.1)
OSError: [Errno 28] No space left on device: '/data/mnist.npz'
"""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (STORE_FULL, "results store /r/full is full (No space left on device writing trials/k/progress.json)"),
        (CACHE_FULL, "a trial ran out of disk space outside the results store (OSError: [Errno 28] No space left"),
    ],
)
def test_a_full_disk_is_no_attempt_of_the_trial_and_stops_the_experiment(
    tmp_path: Path, text: str, reason: str
) -> None:
    store, trial = ResultsStore(tmp_path), config()
    error_file = tmp_path / "error.txt"
    error_file.write_text(text)
    fake = SimpleNamespace(config={"acadp": context(trial)}, error_file=str(error_file), get_error=lambda: "")
    notice = StoreFullNotice()
    stop = StoreFullStop(notice)
    log = FailureLog(store, "inv-8", full=notice)
    assert not stop.stop_all()
    log.on_trial_recover(0, [], fake)
    assert stop.stop_all() and notice.reason is not None and notice.reason.startswith(reason)
    assert not store.exists(LAYOUT.trial(trial.key()).attempts) and not store.exists(LAYOUT.trial(trial.key()).error)
    notice.note("a later report")
    assert notice.reason.startswith(reason), "the first report is kept"
