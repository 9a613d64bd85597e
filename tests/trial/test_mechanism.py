"""The mechanism a decomposition reads: gradient norms of the collective's examples and of the others, clipped shares
per group, the collective's own training success — measured without changing the trial's results."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import acadp.trial.run
from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.trial import TrialConfig
from acadp.learners.poisson import ClippingTally
from acadp.trial.data import prepare_trial_data
from acadp.trial.mechanism import GradientProbe
from acadp.trial.metrics import predict
from acadp.trial.run import build_training_run, run_trial


def small(epsilon: float, clip: float | None) -> TrialConfig:
    return build_trial_config(
        TrialOptions(
            dataset="mnist5k", alpha=0.1, epsilon=epsilon, clip=clip, seed=2, n_train=500, n_test=200,
            training={"epochs": 2, "batch_size": 100},
        )
    )  # fmt: skip


def test_measuring_the_mechanism_changes_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    config = small(4.0, 1.0)
    measured = run_trial(config, threads=1)
    monkeypatch.setattr(acadp.trial.run.GradientProbe, "for_model", classmethod(lambda cls, *a, **k: None))
    unmeasured = run_trial(config, threads=1)
    assert all(h.grad_norm_members is None for h in unmeasured.history)
    assert all(h.grad_norm_members is not None for h in measured.history)
    for field in ("test_accuracy", "success", "success_all", "member_success", "train_loss", "epsilon_spent"):
        assert getattr(measured, field) == getattr(unmeasured, field), field
    assert [h.train_loss for h in measured.history] == [h.train_loss for h in unmeasured.history]


def test_a_clipping_arm_records_each_groups_clipped_share_and_sgd_records_none() -> None:
    clipped = run_trial(small(math.inf, 0.5), threads=1)
    for epoch in clipped.history:
        assert epoch.clipped_fraction_members is not None and epoch.clipped_fraction_others is not None
        assert 0.0 <= epoch.clipped_fraction_members <= 1.0 and 0.0 <= epoch.clipped_fraction_others <= 1.0
        low, high = sorted((epoch.clipped_fraction_members, epoch.clipped_fraction_others))
        assert epoch.clipped_fraction is not None and low <= epoch.clipped_fraction <= high  # a weighted mean
    sgd = run_trial(small(math.inf, None), threads=1)
    assert all(h.clipped_fraction_members is None and h.clipped_fraction is None for h in sgd.history)
    assert all(h.grad_norm_members is not None and h.grad_norm_members > 0 for h in sgd.history)


def test_the_tally_counts_each_group_apart() -> None:
    members = torch.tensor([True, False, True, False, False])
    tally = ClippingTally(members)
    tally.add(torch.tensor([0, 1, 2]), torch.tensor([True, True, False]))
    tally.add(torch.tensor([3, 4, 0]), torch.tensor([False, True, True]))
    # members seen: 0, 2, 0 (clipped: 0 twice) → 2/3; others: 1, 3, 4 (clipped: 1, 4) → 2/3; all: 4/6
    assert tally.fractions() == pytest.approx(
        {"clipped_fraction": 4 / 6, "clipped_fraction_members": 2 / 3, "clipped_fraction_others": 2 / 3}
    )
    alone = ClippingTally(None)
    alone.add(torch.tensor([0, 1]), torch.tensor([True, False]))
    assert alone.fractions() == {
        "clipped_fraction": 0.5,
        "clipped_fraction_members": None,
        "clipped_fraction_others": None,
    }


def test_probe_norms_are_the_per_example_gradient_norms() -> None:
    """Against one backward pass per example (no book-keeping)."""
    config = small(math.inf, None)
    data = prepare_trial_data(config)
    run = build_training_run(config, data, torch.device("cpu"))
    probe = GradientProbe(run.model, data, seed=config.seed, device=torch.device("cpu"))
    norms = probe.measure()
    expected = []
    for x, y in probe.groups:
        per_example = []
        for i in range(y.shape[0]):
            loss = F.cross_entropy(run.model(x[i : i + 1]), y[i : i + 1], reduction="sum")
            grads = torch.autograd.grad(loss, [p for p in run.model.parameters() if p.requires_grad])
            per_example.append(float(torch.sqrt(sum((g**2).sum() for g in grads))))
        expected.append(float(np.mean(per_example)))
    assert (norms.members, norms.others) == pytest.approx(tuple(expected), rel=1e-4)
    assert probe.groups[0][1].shape[0] == int(data.planted.planted.sum())  # 50 members: all of them probed
    assert probe.groups[1][1].shape[0] == 256


def test_member_success_is_the_collectives_training_points_predicted_as_the_target() -> None:
    config = small(math.inf, None)
    runs: list[object] = []
    result = run_trial(config, threads=1, on_epoch=lambda record, run: runs.append(run))
    data = prepare_trial_data(config)
    members = data.planted.x[data.planted.planted]
    by_hand = np.mean(predict(runs[-1].model, members, torch.device("cpu")) == config.target_class)  # type: ignore[attr-defined]
    assert result.member_success == pytest.approx(by_hand) and 0.0 < result.member_success <= 1.0
    no_collective = run_trial(config.model_copy(update={"alpha": 0.0}), threads=1)
    assert math.isnan(no_collective.member_success)


def test_an_opacus_engine_trains_unprobed_and_unchanged() -> None:
    config = small(4.0, 1.0)
    hooks = config.model_copy(update={"training": config.training.model_copy(update={"grad_sample_mode": "hooks"})})
    result = run_trial(hooks, threads=1)
    assert all(h.grad_norm_members is None and h.grad_norm_others is None for h in result.history)
    assert 0.0 <= result.test_accuracy <= 1.0 and math.isfinite(result.epsilon_spent)
