"""The "identical to an uninterrupted run" comparison every end-to-end resume, SIGKILL and node-loss test relies on:
it ignores timings only, and fails against a broken build whose resume drops the epoch history."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import acadp.trial.run as trial_run
from acadp.config.options import TrialOptions, build_trial_config
from acadp.learners import TrainingRun
from acadp.store.results import ResultsStore
from acadp.trial.checkpoint import TrialCheckpoint
from acadp.trial.result import EpochRecord
from acadp.trial.run import run_trial

from .helpers import comparable

CONFIG = build_trial_config(
    TrialOptions(
        dataset="mnist5k", alpha=0.1, epsilon=math.inf, seed=1, n_train=300, n_test=150,
        training={"epochs": 3, "batch_size": 100},
    )
)  # fmt: skip


class Interrupt(Exception):
    pass


def stop_after_epoch_2(record: EpochRecord, run: TrainingRun) -> None:
    if record.epoch == 2:
        raise Interrupt


def resumed_result(tmp_path: Path) -> dict[str, Any]:
    """``CONFIG`` interrupted after its second epoch's checkpoint, then resumed: its ``result.json`` content."""
    checkpoint = TrialCheckpoint(ResultsStore(tmp_path), "checkpoint")
    with pytest.raises(Interrupt):
        run_trial(CONFIG, threads=1, checkpoint=checkpoint, on_epoch=stop_after_epoch_2)
    return run_trial(CONFIG, threads=1, checkpoint=checkpoint).to_json()


def test_a_resumed_trial_is_comparable_to_an_uninterrupted_one_history_included(tmp_path: Path) -> None:
    whole = run_trial(CONFIG, threads=1).to_json()
    resumed = resumed_result(tmp_path)
    assert resumed["resumed_from_epoch"] == 2 and resumed["seconds"] != whole["seconds"]
    assert comparable(resumed) == comparable(whole)
    assert [epoch["epoch"] for epoch in comparable(resumed)["history"]] == [1, 2, 3]


def test_the_comparison_fails_against_a_resume_that_drops_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = run_trial(CONFIG, threads=1).to_json()
    restore = trial_run._restore

    def restore_without_history(*args: Any, **kwargs: Any) -> tuple[list[EpochRecord], float]:
        _, seconds = restore(*args, **kwargs)
        return [], seconds

    monkeypatch.setattr(trial_run, "_restore", restore_without_history)
    broken = resumed_result(tmp_path)
    assert [epoch["epoch"] for epoch in broken["history"]] == [3]
    assert comparable(broken) != comparable(whole)
    # the final metrics alone cannot tell: only the history shows the lost epochs
    assert without_history(broken) == without_history(whole)


def without_history(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in comparable(result).items() if key != "history"}
