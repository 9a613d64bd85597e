"""A trial with training augmentation: deterministic, resumed bit-identically from its epoch checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.trial import TrialConfig
from acadp.store.results import ResultsStore
from acadp.trial.checkpoint import TrialCheckpoint
from acadp.trial.result import EpochRecord
from acadp.trial.run import run_trial


class Interrupt(Exception):
    pass


def interrupt_after_first(record: EpochRecord, run: object) -> None:
    if record.epoch == 1:
        raise Interrupt


def augmented(augment: str) -> TrialConfig:
    options = TrialOptions(
        dataset="mnist5k", alpha=0.1, epsilon=4.0, seed=3, n_train=400, n_test=200,
        training={"epochs": 2, "batch_size": 100, "augment": augment},
    )  # fmt: skip
    return build_trial_config(options)


def test_an_augmented_trial_resumes_bit_identically(tmp_path: Path) -> None:
    config = augmented("flip,shift")
    whole = run_trial(config, threads=1)
    checkpoint = TrialCheckpoint(ResultsStore(tmp_path), "ckpt")
    with pytest.raises(Interrupt):
        run_trial(config, threads=1, checkpoint=checkpoint, on_epoch=interrupt_after_first)
    resumed = run_trial(config, threads=1, checkpoint=checkpoint)
    assert resumed.resumed_from_epoch == 1
    assert [h.train_loss for h in resumed.history] == [h.train_loss for h in whole.history]
    assert resumed.test_accuracy == whole.test_accuracy and resumed.success == whole.success
    plain = run_trial(augmented("none"), threads=1)
    assert [h.train_loss for h in plain.history] != [h.train_loss for h in whole.history]
    assert math.isfinite(whole.train_loss)
