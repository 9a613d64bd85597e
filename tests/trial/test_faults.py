"""The fault injected on purpose: which trials it hits, from which epoch, in every attempt; bad values are refused."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from acadp.config.options import TrialOptions, build_trial_config
from acadp.errors import InjectedFaultError, SpecError
from acadp.store.results import ResultsStore
from acadp.trial.checkpoint import TrialCheckpoint
from acadp.trial.faults import FAULT_VARIABLE, inject_fault
from acadp.trial.run import run_trial

CONFIG = build_trial_config(
    TrialOptions(
        dataset="mnist5k", alpha=0.1, epsilon=math.inf, seed=0, n_train=200, n_test=100,
        training={"epochs": 2, "batch_size": 100},
    )
)  # fmt: skip


def test_only_the_named_trial_fails_and_only_from_its_epoch_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT_VARIABLE, "ffff@9, abc@2")
    inject_fault("abc123", epochs_done=1)
    inject_fault("abd123", epochs_done=5)
    with pytest.raises(InjectedFaultError, match=r"into trial abc123 after 2 finished epochs"):
        inject_fault("abc123", epochs_done=2)
    monkeypatch.delenv(FAULT_VARIABLE)
    inject_fault("abc123", epochs_done=2)


@pytest.mark.parametrize("value", ["abc", "abc@", "@1", "abc@-1", "abc@one"])
def test_a_malformed_value_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(FAULT_VARIABLE, value)
    with pytest.raises(SpecError, match=rf"^{FAULT_VARIABLE}: .* is not <trial key prefix>@<epochs>"):
        inject_fault("abc123", epochs_done=0)


def test_a_trial_fails_every_attempt_after_its_checkpointed_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_VARIABLE, f"{CONFIG.key()[:8]}@1")
    checkpoint = TrialCheckpoint(ResultsStore(tmp_path), "checkpoint")
    for _ in range(2):  # the first attempt checkpoints epoch 1, the retry resumes there and fails again
        with pytest.raises(InjectedFaultError):
            run_trial(CONFIG, threads=1, checkpoint=checkpoint)
    assert checkpoint.load(CONFIG) is not None and checkpoint.load(CONFIG)[1]["epochs_done"] == 1
    monkeypatch.delenv(FAULT_VARIABLE)
    assert run_trial(CONFIG, threads=1, checkpoint=checkpoint).resumed_from_epoch == 1
