"""Paired contrasts: Δα* per seed, t-interval, paired t-test, Holm, the verdict of each case, the default contrasts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from acadp.config.contrasts import Contrast
from acadp.reduce.contrasts import contrast_lines, contrast_table, default_contrasts, holm, paired_statistics

INF = math.inf
DP, CLIP = "DP ε=2 C=1", "clip C=1"
ARMS = {  # arm → (recipe, epsilon, clip, kind)
    "SGD": ("", INF, math.nan, "sgd"),
    "clip C=1": ("", INF, 1.0, "clip"),
    "clip C=10": ("", INF, 10.0, "clip"),
    "DP ε=1 C=1": ("", 1.0, 1.0, "dpsgd"),
    "DP ε=2 C=1": ("", 2.0, 1.0, "dpsgd"),
    "DP ε=8 C=1": ("", 8.0, 1.0, "dpsgd"),
    "DP ε=2 C=10": ("", 2.0, 10.0, "dpsgd"),
    "SGD [tuned]": ("tuned", INF, math.nan, "sgd"),
    "SGD [matched]": ("matched", INF, math.nan, "sgd"),
}


def seed_rows(arm: str, values: list[float], *, collapsed: tuple[int, ...] = (), threshold: float = 0.5) -> list[dict]:
    """Rows of a seed-α* table (acadp.reduce.seed_alpha) for one arm: alpha* of seeds 0, 1, ..."""
    recipe, epsilon, clip, kind = ARMS[arm]
    return [
        {"dataset": "toy", "recipe": recipe, "epsilon": epsilon, "clip": clip, "arm": arm, "arm_kind": kind,
         "metric": "success", "threshold": threshold, "seed": seed, "alpha_star": value,
         "collapsed": seed in collapsed}
        for seed, value in enumerate(values)
    ]  # fmt: skip


def seed_table(*arms: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([row for rows in arms for row in rows])


CLIP_STARS = [0.060, 0.062, 0.058, 0.065, 0.061]
UP = [0.010, 0.012, 0.011, 0.009, 0.013]  # DP − clip-only per seed


def one_row(table: pd.DataFrame) -> pd.Series:
    assert len(table) == 1, table
    return table.iloc[0]


def test_paired_statistics_by_hand_and_against_scipy() -> None:
    # Δ = 1, 2, 3: mean 2, sd 1, t_{0.975, 2} = 4.302653; t = 2 / (1 / √3) = √12, p = 1 − √12 / √14 (t with 2 df)
    result = paired_statistics(np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0]))
    half = 4.302652729911275 / math.sqrt(3)
    assert (result.n, result.delta_mean) == (3, 2.0)
    assert (result.ci_low, result.ci_high) == pytest.approx((2 - half, 2 + half))
    assert result.p_value == pytest.approx(1 - math.sqrt(12 / 14))
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.01, 0.1, 10), rng.uniform(0.01, 0.1, 10)
    result = paired_statistics(a, b)
    interval = stats.t.interval(0.95, 9, loc=np.mean(a - b), scale=stats.sem(a - b))
    assert (result.ci_low, result.ci_high) == pytest.approx(interval)
    assert result.p_value == pytest.approx(stats.ttest_rel(a, b).pvalue)


def test_tied_and_single_seed_statistics() -> None:
    tied = paired_statistics(np.array([0.03, 0.04, 0.05]), np.array([0.02, 0.03, 0.04]))
    assert tied.tied and math.isnan(tied.p_value) and tied.ci_low == tied.ci_high == pytest.approx(0.01)
    single = paired_statistics(np.array([0.03]), np.array([0.02]))
    assert single.n == 1 and math.isnan(single.ci_low) and math.isnan(single.p_value)


def test_holm_by_hand() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 → running maximum 0.02, 0.03, 0.06, 0.06
    adjusted = holm(np.array([0.01, 0.04, math.nan, 0.03, 0.005]))
    assert adjusted[[0, 1, 3, 4]] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(adjusted[2])
    assert holm(np.array([0.2, 0.9])) == pytest.approx([0.4, 0.9])  # capped at 1 only above


def noise_row(dp: list[float], *, collapsed: tuple[int, ...] = (), smoke: bool = False, n: int = 5) -> pd.Series:
    """The one contrast of a table of two arms (DP ε=2 C=1 vs clip C=1: the default noise contrast)."""
    table = seed_table(seed_rows(DP, dp[:n], collapsed=collapsed), seed_rows(CLIP, CLIP_STARS[:n]))
    return one_row(contrast_table(table, smoke=smoke))


def test_noise_raises_alpha_star_yes() -> None:
    row = noise_row([c + d for c, d in zip(CLIP_STARS, UP, strict=True)])
    delta = np.array(UP)
    p = stats.ttest_rel(np.array(CLIP_STARS) + delta, CLIP_STARS).pvalue
    assert row["verdict"] == "yes" and row["n_tests"] == 1 and row["p_holm"] == pytest.approx(p)
    assert row["delta_mean"] == pytest.approx(delta.mean()) and row["n_seeds"] == 5
    half = stats.t.ppf(0.975, 4) * delta.std(ddof=1) / math.sqrt(5)
    assert row["text"] == (
        f"Noise raises α* beyond clipping at ε = 2, C = 1: yes ({delta.mean():+.3g} "
        f"[{delta.mean() - half:.3g}, {delta.mean() + half:.3g}], p_Holm = {p:.2g})"
    )


UP_ARM = [c + d for c, d in zip(CLIP_STARS, UP, strict=True)]


@pytest.mark.parametrize(
    ("dp", "options", "verdict", "reason"),
    [
        ([c - d for c, d in zip(CLIP_STARS, UP, strict=True)], {}, "no", ""),
        ([0.07, INF, 0.07, 0.075, 0.072], {}, "undetermined", "S* not reached: DP ε=2 C=1 in 1 of 5 seeds"),
        (UP_ARM, {"collapsed": (3,)}, "undetermined", "DP ε=2 C=1's model collapsed at its crossing in 1 of 5"),
        ([c + 0.005 for c in CLIP_STARS], {}, "undetermined", "all Δα* tied (+0.005 in every seed)"),
        ([0.07, 0.05, 0.068, 0.06, 0.059], {}, "undetermined", "p_Holm = "),
        (UP_ARM, {"n": 4}, "not meaningful (4 seeds)", ""),
        (UP_ARM, {"smoke": True}, "not meaningful (5 seeds)", ""),
    ],
)
def test_each_verdict_case(dp: list[float], options: dict, verdict: str, reason: str) -> None:
    row = noise_row(dp, **options)
    assert row["verdict"] == verdict
    assert reason in row["note"]
    assert row["text"].startswith(f"Noise raises α* beyond clipping at ε = 2, C = 1: {verdict}")


def test_not_reached_is_never_ordered_and_gets_no_statistics() -> None:
    row = noise_row([INF] * 5)
    assert row["verdict"] == "undetermined" and row["not_reached_a"] == 5 and row["not_reached_b"] == 0
    assert math.isnan(row["delta_mean"]) and math.isnan(row["p_value"]) and row["n_tests"] == 0
    assert row["text"].endswith("(S* not reached: DP ε=2 C=1 in 5 of 5 seeds)")


def test_reaching_s_star_without_a_collective_is_undetermined() -> None:
    row = noise_row([0.0, 0.07, 0.075, 0.072, 0.08])
    assert row["verdict"] == "undetermined" and "reaches S* at α = 0" in row["note"]


def test_seeds_that_only_one_arm_has_are_not_paired() -> None:
    table = seed_table(seed_rows(DP, [0.07, 0.072, 0.08, math.nan]), seed_rows(CLIP, [0.06, 0.061, 0.07]))
    row = one_row(contrast_table(table))
    assert row["n_seeds"] == 3 and row["verdict"] == "not meaningful (3 seeds)"


def test_holm_runs_over_every_contrast_threshold_and_metric() -> None:
    dp = [c + d for c, d in zip(CLIP_STARS, UP, strict=True)]
    rows = [
        seed_rows(DP, dp, threshold=t) + seed_rows(CLIP, CLIP_STARS, threshold=t) + seed_rows("SGD", [0.02] * 5,
        threshold=t) for t in (0.5, 0.9)
    ]  # fmt: skip
    table = contrast_table(seed_table(*rows))
    # noise, clipping and the ε step SGD → ε = 2, each at two S*: 6 tests in one family
    assert table["n_tests"].eq(6).all() and len(table) == 6
    assert table["p_holm"].to_numpy() == pytest.approx(holm(table["p_value"].to_numpy()))
    assert (table["p_holm"] >= table["p_value"]).all()
    assert set(table["role"]) == {"contrast", "ε step"}


def test_default_contrasts() -> None:
    arms = pd.DataFrame(
        [{"arm": arm, "recipe": r, "epsilon": e, "clip": c, "arm_kind": k} for arm, (r, e, c, k) in ARMS.items()]
    )
    planned = [(p.a, p.b) for p in default_contrasts(arms)]
    assert planned == [
        ("DP ε=8 C=1", "clip C=1"), ("DP ε=2 C=1", "clip C=1"), ("DP ε=1 C=1", "clip C=1"),  # noise, at each ε
        ("DP ε=2 C=10", "clip C=10"),
        ("clip C=1", "SGD"), ("clip C=10", "SGD"),  # clipping
        ("SGD [matched]", "SGD [tuned]"),  # utility
        ("clip C=1", "SGD [matched]"), ("clip C=10", "SGD [matched]"),  # clipping beyond its utility cost
    ]  # fmt: skip
    without = arms[~arms["arm"].isin(["clip C=10", "SGD [matched]"])]
    assert [(p.a, p.b) for p in default_contrasts(without)] == [
        ("DP ε=8 C=1", "clip C=1"), ("DP ε=2 C=1", "clip C=1"), ("DP ε=1 C=1", "clip C=1"), ("clip C=1", "SGD"),
    ]  # fmt: skip


def test_listed_contrasts_replace_the_defaults_and_keep_the_epsilon_steps() -> None:
    rows = [seed_rows(arm, [0.01 * (i + 1) + 0.001 * s for s in range(5)]) for i, arm in
            enumerate(("SGD", CLIP, "DP ε=8 C=1", DP))]  # fmt: skip
    listed = [Contrast(a=DP, b="DP ε=8 C=1", name="two steps"), Contrast(a=CLIP, b="SGD")]
    table = contrast_table(seed_table(*rows), contrasts=listed)
    assert table[["contrast", "a", "b"]].values.tolist() == [
        ["two steps", DP, "DP ε=8 C=1"],  # also the chain's second step: one row, one test
        ["clip C=1 vs SGD", CLIP, "SGD"],
        ["ε step SGD → ε = 8, C = 1", "DP ε=8 C=1", "SGD"],
    ]
    assert table["chain_clip"].tolist()[0] == 1.0 and math.isnan(table["chain_clip"].tolist()[1])
    assert table["question"].iloc[0] == "two steps: α*(DP ε=2 C=1) > α*(DP ε=8 C=1)"
    lines = contrast_lines(table)
    assert len(lines) == 2 and lines[0].startswith("toy, S* = 0.5: two steps: α*(DP ε=2 C=1) > α*(DP ε=8 C=1): ")


def test_a_listed_contrast_whose_arm_is_absent_from_a_setting_has_no_seeds() -> None:
    table = contrast_table(seed_table(seed_rows(CLIP, CLIP_STARS)), contrasts=[Contrast(a=DP, b=CLIP)])
    row = one_row(table)
    assert row["n_seeds"] == 0 and row["verdict"] == "not meaningful (0 seeds)"
