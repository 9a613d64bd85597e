"""The noise multiplier σ of DP-SGD: the smallest σ whose planned Poisson-subsampled Gaussian steps spend at most a
target (ε, δ) under an Opacus accountant, and the typed table a sweep's driver computes once and hands to its trials.

σ comes from ``opacus.accountants.utils.get_noise_multiplier`` for an explicit step count (rather than
``make_private_with_epsilon``, whose ``int(epochs / sample_rate)`` can round the step count down by one and so
under-noise by a hair). Pure accounting: no model, no data.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np

from acadp.config.base import FrozenModel
from acadp.config.trial import Accountant
from acadp.errors import PrivacyInfeasibleError

# Relative precision of the σ search: the epsilon actually spent lies within 1% below the target.
EPSILON_RELATIVE_TOLERANCE = 0.01


class NoiseSetting(FrozenModel):
    """What determines σ: the target (ε, δ), the Poisson sample rate q, the planned steps and the accountant."""

    epsilon: float
    delta: float
    sample_rate: float
    steps: int
    accountant: Accountant


class NoiseEntry(FrozenModel):
    setting: NoiseSetting
    noise_multiplier: float


class NoiseTable(FrozenModel):
    """σ per setting, computed once by a sweep's driver and passed to every trial (it crosses process boundaries as
    validated data; a trial whose setting is missing computes σ itself)."""

    entries: tuple[NoiseEntry, ...] = ()

    def lookup(self, setting: NoiseSetting) -> float | None:
        return next((e.noise_multiplier for e in self.entries if e.setting == setting), None)


@contextlib.contextmanager
def quiet_accounting(accountant: str, *, searching: bool = False) -> Iterator[None]:
    """Silence accountant warnings that say nothing about the result.

    * The PRV accountant bounds its domain with an internal RDP computation whose "Optimal order is the largest
      alpha" warning says nothing about the PRV result.
    * During the σ search, RDP evaluates many σ far from the answer; that warning then concerns those, not the result.
    * At sample rate 1 (full batches) the PRV code takes log(1 - q) = log 0 on a branch it then discards.
    """
    with warnings.catch_warnings(), np.errstate(divide="ignore"):
        if accountant == "prv" or searching:
            warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        yield


# σ searches take seconds with the PRV accountant; a process's trials share a handful of settings. Written only here.
_SIGMA_CACHE: dict[NoiseSetting, float] = {}


def noise_multiplier_for(setting: NoiseSetting) -> float:
    """The smallest σ (to 1% in epsilon) whose ``setting.steps`` Poisson-subsampled Gaussian steps at rate
    ``setting.sample_rate`` spend at most (epsilon, delta) under the accountant. Raises
    :class:`PrivacyInfeasibleError` when none exists."""
    if setting not in _SIGMA_CACHE:
        _SIGMA_CACHE[setting] = _search_noise_multiplier(
            setting.epsilon, setting.delta, setting.sample_rate, setting.steps, setting.accountant
        )
    return _SIGMA_CACHE[setting]


def _search_noise_multiplier(epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str) -> float:
    from opacus.accountants.utils import get_noise_multiplier  # Opacus pulls in torch: only where σ is searched

    try:
        with quiet_accounting(accountant, searching=True):
            sigma = get_noise_multiplier(
                target_epsilon=epsilon,
                target_delta=delta,
                sample_rate=sample_rate,
                steps=steps,
                accountant=accountant,
                epsilon_tolerance=EPSILON_RELATIVE_TOLERANCE * epsilon,
            )
    except (ValueError, ArithmeticError) as error:
        raise PrivacyInfeasibleError(
            f"no noise multiplier reaches epsilon={epsilon:g} at delta={delta:g} with sample rate q={sample_rate:.4g} "
            f"over {steps} steps under the {accountant} accountant ({error}); raise epsilon or delta, or plan "
            "fewer steps (epochs, batch size)"
        ) from error
    return float(sigma)
