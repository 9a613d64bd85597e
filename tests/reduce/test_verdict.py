"""The "α* rises as ε falls" verdict, read off the ε steps of the paired contrasts."""

from __future__ import annotations

import math

import pytest

from acadp.reduce.collect import trials_frame
from acadp.reduce.contrasts import contrast_table
from acadp.reduce.seed_alpha import seed_alpha_table
from acadp.reduce.verdict import verdict_lines, verdict_table

from .builders import make_config, make_record
from .test_contrasts import seed_rows, seed_table

INF = math.inf
SEEDS = 6
SGD = [0.020 + 0.001 * s for s in range(SEEDS)]


def shifted(base: list[float], deltas: list[float]) -> list[float]:
    return [b + d for b, d in zip(base, deltas, strict=True)]


RISE = [0.010, 0.012, 0.011, 0.009, 0.013, 0.010]  # a clear, consistent rise
FALL = [-d for d in RISE]
NOISE = [0.004, -0.003, 0.002, -0.004, 0.001, 0.0]  # no consistent change


def verdict_of(eps8: list[float], eps2: list[float], *, smoke: bool = False):  # type: ignore[no-untyped-def]
    table = seed_table(seed_rows("SGD", SGD), seed_rows("DP ε=8 C=1", eps8), seed_rows("DP ε=2 C=1", eps2))
    return verdict_table(contrast_table(table, smoke=smoke))


@pytest.mark.parametrize(
    ("step1", "step2", "expected"),
    [
        (RISE, RISE, "yes"),  # both steps rise significantly
        (RISE, FALL, "no"),  # one step falls significantly
        (RISE, NOISE, "undetermined"),  # one step cannot decide
        (RISE, [INF] * SEEDS, "undetermined"),  # the smallest ε does not reach S*: never "ordered"
    ],
)
def test_chain_verdicts(step1: list[float], step2: list[float], expected: str) -> None:
    eps8 = shifted(SGD, step1)
    eps2 = shifted(eps8, step2) if math.isfinite(step2[0]) else step2
    verdicts = verdict_of(eps8, eps2)
    assert verdicts["verdict"].tolist() == [expected]
    assert verdicts["text"].tolist() == [f"α* rises as ε falls: {expected}"]
    line = verdict_lines(verdicts)[0]
    assert line.startswith(f"toy, S* = 0.5, C = 1: α* rises as ε falls: {expected} — SGD → DP ε=8 C=1: yes (+")
    assert "; DP ε=8 C=1 → DP ε=2 C=1: " in line


def test_not_reached_tie_is_not_ordered() -> None:
    # both DP arms never reach S*: the old rule called this ordered ("inf < inf"), the contrast rule does not
    verdicts = verdict_of([INF] * SEEDS, [INF] * SEEDS)
    assert verdicts["verdict"].tolist() == ["undetermined"]
    reason = verdicts["reason"].iloc[0]
    assert "S* not reached: DP ε=8 C=1 in 6 of 6 seeds" in reason
    assert "S* not reached: DP ε=2 C=1 in 6 of 6 seeds and DP ε=8 C=1 in 6 of 6 seeds" in reason


def test_a_smoke_run_or_few_seeds_is_not_meaningful() -> None:
    eps8 = shifted(SGD, RISE)
    assert verdict_of(eps8, shifted(eps8, RISE), smoke=True)["verdict"].tolist() == ["not meaningful (6 seeds)"]
    table = seed_table(seed_rows("SGD", SGD[:3]), seed_rows("DP ε=8 C=1", eps8[:3]))
    assert verdict_table(contrast_table(table))["verdict"].tolist() == ["not meaningful (3 seeds)"]


def test_a_chain_without_sgd_starts_at_the_largest_epsilon() -> None:
    eps8 = shifted(SGD, RISE)
    table = seed_table(seed_rows("DP ε=8 C=1", eps8), seed_rows("DP ε=2 C=1", shifted(eps8, RISE)))
    verdicts = verdict_table(contrast_table(table))
    assert verdicts["verdict"].tolist() == ["yes"] and verdicts["reason"].iloc[0].startswith("DP ε=8 C=1 → DP ε=2")


def test_verdict_from_a_reduced_sweep() -> None:
    def success(alpha: float, epsilon: float, seed: int) -> float:
        slope = {INF: 20.0, 8.0: 5.0, 1.0: 1.0}[epsilon] * (1 + 0.05 * seed)
        return min(1.0, alpha * slope)

    records = [
        make_record(make_config(alpha=a, epsilon=e, seed=s), success=success(a, e, s))
        for e in (INF, 8.0, 1.0)
        for a in (0.0, 0.05, 0.1, 0.2, 0.4, 0.8)
        for s in range(5)
    ]
    seed_alpha = seed_alpha_table(trials_frame(records), thresholds=(0.5, 0.9), interpolation="linear")
    verdicts = verdict_table(contrast_table(seed_alpha))
    assert verdicts["threshold"].tolist() == [0.5, 0.9] and verdicts["clip"].tolist() == [1.0, 1.0]
    # S* = 0.5: alpha* = 0.025, 0.1, 0.5 (shrinking with the seed's slope): every step rises in every seed
    assert verdicts["verdict"].tolist() == ["yes", "undetermined"]  # S* = 0.9: ε = 1 reaches it only in some seeds
