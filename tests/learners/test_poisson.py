"""DP-SGD: σ for the target, epsilon spent, an independent accountant, infeasible budgets, every engine trains."""

from __future__ import annotations

import math

import pytest
import torch
from opacus.accountants import create_accountant

from acadp.config.trial import TrainingConfig
from acadp.errors import PrivacyInfeasibleError
from acadp.learners import LEARNERS, LearnerInputs, PrivacyTarget, TrainingRun
from acadp.learners.noise import NoiseSetting, noise_multiplier_for
from acadp.models import MLPParams, ModelInputs, build_model

dp_accounting = pytest.importorskip("dp_accounting")


def run(
    mode: str = "bookkeeping", *, n: int = 200, epochs: int = 2, epsilon: float = 4.0, seed: int = 0
) -> TrainingRun:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(n, 6, generator=generator)
    y = (x[:, 0] > 0).long()
    model = build_model(MLPParams(hidden=(8,)), ModelInputs((6,), 2), seed=seed)
    training = TrainingConfig(epochs=epochs, batch_size=32, lr=0.5, grad_sample_mode=mode)  # type: ignore[arg-type]
    target = PrivacyTarget(epsilon=epsilon, delta=1e-5, accountant="prv")
    inputs = LearnerInputs(
        model=model, x=x, y=y, training=training, seed=seed, device=torch.device("cpu"), clip=1.0, privacy=target
    )
    return LEARNERS.get("poisson")(inputs)


@pytest.mark.parametrize("accountant", ["prv", "rdp"])
@pytest.mark.parametrize("epsilon", [0.5, 1.0, 8.0])
def test_epsilon_spent_is_at_most_the_target_and_within_two_percent(accountant: str, epsilon: float) -> None:
    sigma = noise_multiplier_for(
        NoiseSetting(epsilon=epsilon, delta=1e-5, sample_rate=1 / 16, steps=160, accountant=accountant)
    )
    acc = create_accountant(accountant)
    acc.history = [(sigma, 1 / 16, 160)]
    spent = acc.get_epsilon(delta=1e-5)
    assert spent <= epsilon
    assert spent >= 0.98 * epsilon


def rdp_epsilon_independent(sigma: float, q: float, steps: int, delta: float) -> float:
    """epsilon of the Poisson-subsampled Gaussian from Google's dp_accounting RDP accountant."""
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps
    )
    accountant = dp_accounting.rdp.RdpAccountant()
    accountant.compose(event)
    return float(accountant.get_epsilon(delta))


def pld_epsilon_independent(sigma: float, q: float, steps: int, delta: float) -> float:
    """epsilon from dp_accounting's privacy-loss-distribution accountant (a tight numerical accountant, like PRV)."""
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps
    )
    accountant = dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-3)
    accountant.compose(event)
    return float(accountant.get_epsilon(delta))


@pytest.mark.parametrize(("sigma", "q", "steps"), [(1.1, 0.01, 1000), (0.9, 1 / 16, 160), (4.0, 0.25, 40)])
def test_opacus_accountants_agree_with_an_independent_implementation(sigma: float, q: float, steps: int) -> None:
    rdp = create_accountant("rdp")
    rdp.history = [(sigma, q, steps)]
    assert rdp.get_epsilon(delta=1e-5) == pytest.approx(rdp_epsilon_independent(sigma, q, steps, 1e-5), rel=0.02)
    prv = create_accountant("prv")
    prv.history = [(sigma, q, steps)]
    assert prv.get_epsilon(delta=1e-5) == pytest.approx(pld_epsilon_independent(sigma, q, steps, 1e-5), rel=0.03)


def test_report_counts_steps_and_spends_close_to_the_target() -> None:
    learner = run(epochs=3, epsilon=2.0)
    for _ in range(3):
        learner.train_epoch()
    report = learner.privacy_report()
    assert report.steps == 3 * math.ceil(200 / 32)
    assert report.sample_rate == pytest.approx(1 / 7)
    assert 0.98 * 2.0 <= report.epsilon_spent <= 2.0
    assert report.noise_multiplier > 0 and report.clip == 1.0 and report.accountant == "prv"


def test_infeasible_budget_raises_with_the_numbers() -> None:
    with pytest.raises(PrivacyInfeasibleError, match=r"epsilon=1e-06 at delta=1e-05 .* q=0\.1429 over 14 steps"):
        run(epsilon=1e-6)


@pytest.mark.parametrize("mode", ["hooks", "functorch", "ew", "ghost"])
def test_every_opacus_engine_trains_and_accounts(mode: str) -> None:
    learner = run(mode)
    before = [p.detach().clone() for p in learner.model.parameters()]
    stats = learner.train_epoch()
    assert stats.steps == 7 and math.isfinite(stats.train_loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, learner.model.parameters(), strict=True))
    assert 0 < learner.privacy_report().epsilon_spent < 4.0


def test_empty_poisson_batches_still_take_a_noisy_step() -> None:
    learner = run(n=200, epochs=1)
    learner.sampler.sample_rate = 1e-9  # every batch empty; the accountant still records the planned rate
    before = [p.detach().clone() for p in learner.model.parameters()]
    learner.train_epoch()
    assert all(not torch.equal(a, b) for a, b in zip(before, learner.model.parameters(), strict=True))
