"""The "α* rises as ε falls" verdict on hand-made critical-mass tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from acadp.reduce.collect import trials_frame
from acadp.reduce.critical_mass import critical_mass_table
from acadp.reduce.verdict import verdict_lines, verdict_table

from .builders import make_config, make_record

INF = math.inf


def table(*arms: tuple[str, float, float, float, float, float]) -> pd.DataFrame:
    """Critical-mass rows (arm, epsilon, clip, alpha*, ci_low, ci_high) of one dataset at S* = 0.9."""
    rows = [
        {"dataset": "mnist", "recipe": "", "epsilon": e, "clip": c, "arm": arm, "metric": "success",
         "threshold": 0.9, "alpha_star": star, "ci_low": low, "ci_high": high}
        for arm, e, c, star, low, high in arms
    ]  # fmt: skip
    return pd.DataFrame(rows)


SGD = ("SGD", INF, math.nan, 0.01, 0.008, 0.012)
CLIP = ("clip C=1", INF, 1.0, 0.5, 0.4, 0.6)  # clip-only does not enter the verdict


@pytest.mark.parametrize(
    ("dp", "sgd", "expected"),
    [
        # ordered, CIs of SGD and ε = 1 disjoint
        ([("DP ε=8 C=1", 8.0, 1.0, 0.02, 0.015, 0.03), ("DP ε=1 C=1", 1.0, 1.0, 0.05, 0.04, 0.06)], SGD, "yes"),
        # smallest ε not reached: counts as above every reached α*, its CI [inf, inf] is disjoint from SGD's
        ([("DP ε=8 C=1", 8.0, 1.0, 0.02, 0.015, 0.03), ("DP ε=1 C=1", 1.0, 1.0, INF, INF, INF)], SGD, "yes"),
        # two not-reached arms tie: still ordered
        ([("DP ε=8 C=1", 8.0, 1.0, INF, 0.5, INF), ("DP ε=1 C=1", 1.0, 1.0, INF, INF, INF)], SGD, "yes"),
        # not ordered: ε = 1 below ε = 8
        ([("DP ε=8 C=1", 8.0, 1.0, 0.05, 0.04, 0.06), ("DP ε=1 C=1", 1.0, 1.0, 0.02, 0.015, 0.03)], SGD, "no"),
        # a reached α* after a not-reached one
        ([("DP ε=8 C=1", 8.0, 1.0, INF, INF, INF), ("DP ε=1 C=1", 1.0, 1.0, 0.05, 0.04, 0.06)], SGD, "no"),
        # ordered but the CIs overlap
        ([("DP ε=8 C=1", 8.0, 1.0, 0.012, 0.009, 0.02), ("DP ε=1 C=1", 1.0, 1.0, 0.013, 0.011, 0.02)], SGD, "no"),
        # SGD does not reach S*
        ([("DP ε=1 C=1", 1.0, 1.0, INF, INF, INF)], ("SGD", INF, math.nan, INF, INF, INF), "no"),
    ],
)
def test_verdict_fixtures(dp: list, sgd: tuple, expected: str) -> None:
    verdicts = verdict_table(table(sgd, CLIP, *dp))
    assert verdicts["verdict"].tolist() == [expected]
    assert verdicts["text"].tolist() == [f"α* rises as ε falls: {expected}"]
    assert verdict_lines(verdicts)[0].startswith("mnist, S* = 0.9, C = 1: α* rises as ε falls: ")


def test_verdict_without_sgd_or_dp_is_not_applicable() -> None:
    assert verdict_table(table(("DP ε=1 C=1", 1.0, 1.0, 0.05, 0.04, 0.06)))["verdict"].tolist() == ["n/a"]
    assert verdict_table(table(SGD))["verdict"].tolist() == ["n/a"]


def test_an_arm_that_reaches_s_star_without_a_collective_makes_the_verdict_not_applicable() -> None:
    # e.g. a DP model that learnt only a spurious cue: half the signed test points get y* at α = 0 already
    verdicts = verdict_table(table(SGD, ("DP ε=8 C=1", 8.0, 1.0, 0.0, 0.0, 0.0)))
    assert verdicts["verdict"].tolist() == ["n/a"]
    assert "DP ε=8 C=1 reaches S* at α = 0" in verdicts["reason"].iloc[0]


def test_verdict_from_a_reduced_sweep() -> None:
    def success(alpha: float, epsilon: float) -> float:
        slope = {INF: 20.0, 8.0: 5.0, 1.0: 1.0}[epsilon]
        return min(1.0, alpha * slope)

    records = [
        make_record(make_config(alpha=a, epsilon=e, seed=s), success=success(a, e))
        for e in (INF, 8.0, 1.0)
        for a in (0.0, 0.05, 0.1, 0.2, 0.4)
        for s in (0, 1, 2)
    ]
    critical_mass = critical_mass_table(trials_frame(records), thresholds=(0.5, 0.9), n_boot=50)
    verdicts = verdict_table(critical_mass)
    assert verdicts["threshold"].tolist() == [0.5, 0.9] and verdicts["verdict"].tolist() == ["yes", "yes"]
