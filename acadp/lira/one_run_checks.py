"""The checks that refuse a one-run audit which can give no ε bound, before any data is read or model trained (one
line naming the field). They need the bound's arithmetic (:mod:`acadp.lira.bounds`), so they live beside the attack,
not in the configuration layer."""

from __future__ import annotations

from acadp.config.one_run import OneRunConfig
from acadp.lira.bounds import minimum_guesses


def settings_problem(config: OneRunConfig) -> str | None:
    """Why ``config`` cannot give an ε bound, found before any data is read (one line naming the field), or None:
    more guesses than canaries; a canary count or guess count with which even all-correct guesses show no ε > 0 at
    the confidence and the trial's δ; a clipped arm on an engine that cannot fix its sampling plan."""
    settings, delta = config.one_run, config.trial.delta
    m, r = settings.canaries, settings.guesses
    if r > m:
        return f"one_run.k_plus: k_plus + k_minus = {r} guesses exceed one_run.canaries = {m} (one guess per canary)"
    try:
        least = minimum_guesses(canaries=m, delta=delta, confidence=settings.confidence)
    except ValueError as error:
        return f"one_run.canaries: {error}"
    if r < least:
        return (
            f"one_run.k_plus: k_plus + k_minus = {r} guesses cannot show ε > 0 at confidence {settings.confidence:g} "
            f"with {m} canaries and delta {delta:g}, even all correct; make at least {least}"
        )
    if config.trial.clip is not None and config.trial.training.grad_sample_mode != "bookkeeping":
        return (
            f"training.grad_sample_mode: the one-run audit fixes the sampling plan in advance, which only "
            f"'bookkeeping' supports (the audited arm uses {config.trial.training.grad_sample_mode!r})"
        )
    return None


def canary_problem(config: OneRunConfig, *, n_train: int) -> str | None:
    """Why the trial's ``n_train`` training examples cannot hold the canaries (naming ``one_run.canaries``), or None."""
    m = config.one_run.canaries
    if m > n_train:
        return f"one_run.canaries: {m} canaries exceed the {n_train} training examples of {config.trial.label()}"
    return None


def one_run_problem(config: OneRunConfig) -> str | None:
    """Why ``config`` is refused before anything is created (settings, then the canaries against the trial's
    training set, which needs the dataset read), or None."""
    problem = settings_problem(config)
    if problem is not None:
        return problem
    if config.trial.n_train is not None:
        return canary_problem(config, n_train=config.trial.n_train)
    return None
