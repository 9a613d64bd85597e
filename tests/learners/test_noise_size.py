"""The size of DP-SGD's noise, measured for every per-example-gradient engine.

Two runs start from one initialisation and take one step on one batch: one clips only (C, no noise), the other is
DP-SGD with noise multiplier σ and the same C. With q = 1 (batch size ≥ n) the Poisson batch is every example in both
runs, so the clipped gradient sums, the weight decay and the first momentum buffer are the same and cancel: the
parameter difference is lr · N(0, σ²C²) / B per coordinate, independently (Abadi et al. 2016, Algorithm 1; B the
expected batch size, here n).

Each coordinate divided by lr·σ·C/B must be a standard normal draw. Two checks, each at false-alarm rate
``FALSE_ALARM`` under a correct build (so at most 2·10⁻⁴ per engine; the seeds are fixed, so the outcome is
deterministic):

* scale: the sum of squares of the k standardised coordinates is χ²(k); two-sided (with k ≈ 26,000 coordinates it
  rejects, on average, a standard deviation off by 2 % or more);
* shape and location: Kolmogorov–Smirnov of the standardised coordinates against N(0, 1).

The guard's power is tested too: the same checks reject noise of the broken sizes σ (instead of σ·C) and σ·C/B
(the mean divided by B twice), injected by wrapping ``torch.normal``, which every engine draws its noise with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats

from acadp.config.trial import TrainingConfig
from acadp.learners import LEARNERS, LearnerInputs, PrivacyTarget
from acadp.models import CNNParams, ModelInputs, build_model

ENGINES = ["bookkeeping", "hooks", "functorch", "ew", "ghost"]
FALSE_ALARM = 1e-4  # per check, under a correct build
N_EXAMPLES = 48  # batch size ≥ n: q = 1 and the expected batch size B = n
CLIP = 2.5  # far from 1, so noise σ (not σ·C) is a different size
SIGMA = 0.8
LR = 0.3


def one_step(mode: str, *, noise_multiplier: float | None) -> list[torch.Tensor]:
    """The parameters of the MNIST CNN (~26k) after one clipped step, noisy when ``noise_multiplier`` is given."""
    generator = torch.Generator().manual_seed(5)
    x = torch.rand(N_EXAMPLES, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (N_EXAMPLES,), generator=generator)
    model = build_model(CNNParams(), ModelInputs((1, 28, 28), 10), seed=11)
    training = TrainingConfig(
        epochs=1,
        batch_size=N_EXAMPLES,
        lr=LR,
        momentum=0.9,
        weight_decay=5e-4,
        grad_sample_mode=mode,  # type: ignore[arg-type]
    )
    privacy = None if noise_multiplier is None else PrivacyTarget(epsilon=1.0, delta=1e-5, accountant="prv")
    inputs = LearnerInputs(
        model=model,
        x=x,
        y=y,
        training=training,
        seed=2,
        device=torch.device("cpu"),
        clip=CLIP,
        privacy=privacy,
        noise_multiplier=noise_multiplier,
    )
    run = LEARNERS.get("poisson")(inputs)
    stats_ = run.train_epoch()
    assert stats_.steps == 1 and stats_.examples == N_EXAMPLES  # one step on every example
    return [param.detach().clone() for param in model.parameters()]


def noise_of_one_step(mode: str) -> np.ndarray:
    """(k,) float64: the DP run's parameters minus the clip-only run's, every coordinate, after one step."""
    clipped = one_step(mode, noise_multiplier=None)
    noisy = one_step(mode, noise_multiplier=SIGMA)
    return torch.cat([(a - b).flatten() for a, b in zip(noisy, clipped, strict=True)]).double().numpy()


def noise_p_values(difference: np.ndarray, *, std: float) -> tuple[float, float]:
    """(scale, shape) p-values of ``difference`` (k,) being k independent N(0, std²) draws: two-sided χ²(k) of the
    sum of squares, Kolmogorov–Smirnov against N(0, 1) of the standardised draws."""
    z = difference / std
    squares = float(np.square(z).sum())
    p_scale = 2 * min(stats.chi2.cdf(squares, z.size), stats.chi2.sf(squares, z.size))
    p_shape = float(stats.kstest(z, "norm").pvalue)
    return float(p_scale), p_shape


EXPECTED_STD = LR * SIGMA * CLIP / N_EXAMPLES  # the update is -lr · (Σ clipped + N(0, σ²C²)) / B


@pytest.mark.parametrize("mode", ENGINES)
def test_one_dp_step_adds_noise_of_standard_deviation_lr_sigma_c_over_b(mode: str) -> None:
    difference = noise_of_one_step(mode)
    assert difference.size > 20_000
    p_scale, p_shape = noise_p_values(difference, std=EXPECTED_STD)
    assert p_scale > FALSE_ALARM, f"{mode}: noise of the wrong size (χ² p = {p_scale:.2e})"
    assert p_shape > FALSE_ALARM, f"{mode}: noise not N(0, (lr σ C / B)²) (KS p = {p_shape:.2e})"


def _scaled_normal(factor: float, calls: list[int]) -> Callable[..., torch.Tensor]:
    """``torch.normal`` whose standard deviation is multiplied by ``factor`` (a deliberately broken noise size)."""
    real = torch.normal

    def broken(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls.append(1)
        if "std" in kwargs:
            kwargs["std"] = kwargs["std"] * factor
        else:
            args = (args[0], args[1] * factor, *args[2:])
        return real(*args, **kwargs)

    return broken


BROKEN_SIZES = {"sigma-instead-of-sigma-C": 1 / CLIP, "divided-by-B-twice": 1 / N_EXAMPLES}


@pytest.mark.parametrize("broken", BROKEN_SIZES)
@pytest.mark.parametrize("mode", ENGINES)
def test_the_check_rejects_noise_of_a_broken_size(mode: str, broken: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(torch, "normal", _scaled_normal(BROKEN_SIZES[broken], calls))
    difference = noise_of_one_step(mode)
    assert calls, f"{mode} drew its noise without torch.normal: the broken build was not injected"
    p_scale, _ = noise_p_values(difference, std=EXPECTED_STD)
    assert p_scale < FALSE_ALARM


def test_the_check_rejects_noise_that_is_missing_or_not_centred() -> None:
    rng = np.random.default_rng(0)
    draws = rng.normal(0.0, EXPECTED_STD, 26_000)
    assert min(noise_p_values(draws, std=EXPECTED_STD)) > FALSE_ALARM  # the reference case passes
    assert noise_p_values(np.zeros_like(draws), std=EXPECTED_STD)[0] < FALSE_ALARM
    shifted = draws + 0.1 * EXPECTED_STD  # a bias of a tenth of the noise size per coordinate
    assert noise_p_values(shifted, std=EXPECTED_STD)[1] < FALSE_ALARM
