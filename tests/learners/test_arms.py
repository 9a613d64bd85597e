"""The arms of one recipe: plain SGD neither clips nor adds noise, clipping only clips with σ = 0, DP-SGD does both;
normalised clipping steps with lr / C."""

from __future__ import annotations

import math

import pytest
import torch

from acadp.config.trial import TrainingConfig
from acadp.learners import LEARNERS, LearnerInputs, PrivacyTarget, TrainingRun
from acadp.learners.base import effective_lr
from acadp.models import MLPParams, ModelInputs, build_model


def run(*, clip: float | None, epsilon: float = math.inf, lr_scaling: str = "fixed", epochs: int = 2) -> TrainingRun:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(200, 6, generator=generator) * 10  # large inputs: large per-example gradients
    y = (x[:, 0] > 0).long()
    model = build_model(MLPParams(hidden=(8,)), ModelInputs((6,), 2), seed=0)
    training = TrainingConfig.model_validate({"epochs": epochs, "batch_size": 32, "lr": 0.5, "lr_scaling": lr_scaling})
    privacy = PrivacyTarget(epsilon=epsilon, delta=1e-5, accountant="prv") if math.isfinite(epsilon) else None
    inputs = LearnerInputs(
        model=model, x=x, y=y, training=training, seed=0, device=torch.device("cpu"), clip=clip, privacy=privacy
    )
    return LEARNERS.get("poisson")(inputs)


def test_plain_sgd_neither_clips_nor_adds_noise_and_spends_no_epsilon() -> None:
    sgd = run(clip=None)
    stats = sgd.train_epoch()
    assert stats.clipped_fraction is None
    report = sgd.privacy_report()
    assert report.noise_multiplier == 0.0 and report.epsilon_spent == math.inf and report.clip is None
    assert report.steps == stats.steps > 0


def test_clipping_only_clips_with_zero_noise() -> None:
    clipped = run(clip=0.01)
    stats = clipped.train_epoch()
    assert stats.clipped_fraction is not None and stats.clipped_fraction > 0.5
    report = clipped.privacy_report()
    assert report.noise_multiplier == 0.0 and report.epsilon_spent == math.inf and report.clip == 0.01


def test_clipping_only_with_a_huge_norm_equals_plain_sgd() -> None:
    """Clipping at a norm no gradient reaches changes nothing: the clipping engine and the plain path agree."""
    plain, loose = run(clip=None), run(clip=1e9)
    plain.train_epoch()
    stats = loose.train_epoch()
    assert stats.clipped_fraction == 0.0
    for a, b in zip(plain.model.parameters(), loose.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_dp_sgd_clips_and_adds_noise_within_its_budget() -> None:
    dp = run(clip=1.0, epsilon=4.0)
    dp.train_epoch()
    dp.train_epoch()
    report = dp.privacy_report()
    assert report.noise_multiplier > 0.0
    assert 0.97 * 4.0 <= report.epsilon_spent <= 4.0


def test_noise_is_what_separates_dp_from_clipping_only() -> None:
    """Same seed, same clipping: the DP arm differs from the clipping-only arm only by its noise."""
    clip_only, dp = run(clip=1.0), run(clip=1.0, epsilon=4.0)
    clip_only.train_epoch()
    dp.train_epoch()
    pairs = zip(clip_only.model.parameters(), dp.model.parameters(), strict=True)
    difference = sum(float((a - b).abs().sum()) for a, b in pairs)
    assert difference > 0.0


@pytest.mark.parametrize(("scaling", "clip", "expected"), [("fixed", 5.0, 0.5), ("normalised", 5.0, 0.1)])
def test_normalised_clipping_keeps_lr_times_clip_fixed(scaling: str, clip: float, expected: float) -> None:
    training = TrainingConfig.model_validate({"epochs": 1, "batch_size": 8, "lr": 0.5, "lr_scaling": scaling})
    assert effective_lr(training, clip) == pytest.approx(expected)
    assert run(clip=clip, lr_scaling=scaling).optimizer.param_groups[0]["lr"] == pytest.approx(expected)  # type: ignore[attr-defined]
