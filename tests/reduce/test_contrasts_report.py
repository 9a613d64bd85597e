"""The paired statistics end to end: a synthetic sweep store reduced to contrasts.{csv,md,tex}, the verdict, the
forest plot and the terminal lines; every number read back and recomputed with scipy and statsmodels alone."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from scipy import stats
from statsmodels.stats.multitest import multipletests

from acadp.config.contrasts import Contrast
from acadp.reduce.plots_contrasts import contrasts_caption, plot_contrasts
from acadp.reduce.report import ReduceOutputs, reduce_sweep
from acadp.sweep.reducing import print_reduction

from .builders import make_config, make_record

INF = math.inf
MIDPOINTS = {(INF, None): 0.02, (INF, 1.0): 0.06, (8.0, 1.0): 0.062, (2.0, 1.0): 0.07}  # S(α*) = 0.5 per arm
ALPHAS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.06, 0.07, 0.09, 0.15)


def success(alpha: float, epsilon: float, clip: float | None, seed: int) -> float:
    """A logistic S(α) per arm whose midpoint moves a little with the seed (the same shift on every arm)."""
    midpoint = MIDPOINTS[(epsilon, clip)] * (1 + 0.05 * np.random.default_rng([seed, 7]).normal())
    return 0.0 if alpha == 0 else float(1 / (1 + math.exp(-6 * (math.log(alpha) - math.log(midpoint)))))


def records(seeds: int) -> list:
    return [
        make_record(make_config(alpha=a, epsilon=e, clip=c, seed=s), success=success(a, e, c, s))
        for e, c in MIDPOINTS
        for a in ALPHAS
        for s in range(seeds)
    ]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> ReduceOutputs:
    return reduce_sweep(
        records=records(5), lira_rows=None, roc_curves=None, out_dir=tmp_path_factory.mktemp("paired"),
        sweep_name="paired", n_boot=50, lift=True,
    )  # fmt: skip


def test_contrasts_read_back_match_an_independent_computation(outputs: ReduceOutputs) -> None:
    seeds = pd.read_csv(outputs.out_dir / "seed_alpha_star.csv")
    contrasts = pd.read_csv(outputs.out_dir / "contrasts.csv")
    assert set(contrasts["contrast"]) == {
        "noise at ε = 8, C = 1", "noise at ε = 2, C = 1", "clipping at C = 1", "ε step SGD → ε = 8, C = 1",
        "ε step ε = 8 → ε = 2, C = 1",
    }  # fmt: skip
    assert set(contrasts["metric"]) == {"success", "success_all", "lift"}
    tested = contrasts[contrasts["p_value"].notna()]
    assert len(tested) == contrasts["n_tests"].iloc[0] > 0
    assert tested["p_holm"].to_numpy() == pytest.approx(multipletests(tested["p_value"], method="holm")[1])
    for _, row in tested.iterrows():
        per_arm = {
            arm: seeds[(seeds["arm"] == arm) & (seeds["metric"] == row["metric"]) & (seeds["threshold"] ==
                       row["threshold"])].set_index("seed")["alpha_star"]
            for arm in (row["a"], row["b"])
        }  # fmt: skip
        a, b = per_arm[row["a"]].to_numpy(), per_arm[row["b"]].to_numpy()
        assert row["delta_mean"] == pytest.approx(np.mean(a - b))
        interval = stats.t.interval(0.95, len(a) - 1, loc=np.mean(a - b), scale=stats.sem(a - b))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(interval)
        assert row["p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)


def test_noise_and_clipping_verdicts(outputs: ReduceOutputs) -> None:
    table = outputs.tables["contrasts"].set_index(["contrast", "metric", "threshold"])
    # every seed's midpoint moves the same way on every arm, so the paired differences are tight
    assert table.loc[("noise at ε = 2, C = 1", "success", 0.5), "verdict"] == "yes"
    assert table.loc[("clipping at C = 1", "success", 0.5), "verdict"] == "yes"
    text = table.loc[("noise at ε = 2, C = 1", "success", 0.5), "text"]
    assert text.startswith("Noise raises α* beyond clipping at ε = 2, C = 1: yes (+0.01") and "p_Holm = " in text
    verdicts = outputs.tables["verdict"]
    assert verdicts[verdicts["threshold"] == 0.5]["verdict"].tolist() == ["yes"]


def test_tables_state_the_interval_and_print_not_reached(outputs: ReduceOutputs) -> None:
    markdown = (outputs.out_dir / "contrasts.md").read_text()
    assert "(t, 5 seeds)" in markdown and "Student-t interval over the n paired seeds" in markdown
    assert "Holm's step-down correction over all" in markdown
    assert "| undetermined | S* not reached:" in markdown  # success_all at S* = 0.9: no arm reaches it
    latex = (outputs.out_dir / "contrasts.tex").read_text()
    assert r"95\% CI" in latex and r"$p$ (Holm)" in latex
    html = outputs.dashboard.read_text()
    assert "Paired contrasts" in html and "of every seed" not in html  # per-seed rows are files only


def test_the_forest_plot_has_a_panel_per_metric_and_a_caption_with_the_interval(outputs: ReduceOutputs) -> None:
    contrasts = outputs.tables["contrasts"]
    figure = plot_contrasts(contrasts, title="toy")
    panels = [axis for axis in figure.axes if axis.get_xlabel()]
    assert [axis.get_title() for axis in panels] == [
        "α* on S", "α* on success over all test points", "α* on lift",
    ]  # fmt: skip
    rows = contrasts[contrasts["metric"] == "success"]
    labels = [tick.get_text() for tick in panels[0].get_yticklabels()]
    assert labels[0] == "noise at ε = 8, C = 1, S* = 0.5 (n = 5)" and len(labels) == len(rows)
    notes = [text.get_text() for text in panels[0].texts]
    assert all(note.startswith("p_Holm = ") for note in notes) and len(notes) == len(rows)
    caption = contrasts_caption(contrasts)
    assert "95% Student-t interval over the n = 5 paired seeds" in caption
    assert f"Holm over the sweep's {contrasts['n_tests'].iloc[0]} tests" in caption
    assert any(f.name == "contrasts_mnist5k" and "Student-t interval" in f.caption for f in _figures(outputs))


def _figures(outputs: ReduceOutputs) -> list:
    from acadp.reduce.report import sweep_figures

    return sweep_figures(pd.read_parquet(outputs.out_dir / "trials.parquet"), outputs.tables, None)


def test_the_terminal_prints_each_contrast_and_the_verdict(outputs: ReduceOutputs) -> None:
    console = Console(record=True, width=400)
    print_reduction(outputs, console)
    text = console.export_text()
    assert "mnist5k, S* = 0.5: Noise raises α* beyond clipping at ε = 2, C = 1: yes (" in text
    assert "mnist5k, S* = 0.5, C = 1: α* rises as ε falls: yes — SGD → DP ε=8 C=1: yes (" in text


def test_a_smoke_run_and_listed_contrasts(tmp_path: Path) -> None:
    smoke = reduce_sweep(
        records=records(1), lira_rows=None, roc_curves=None, out_dir=tmp_path / "smoke", sweep_name="smoke",
        n_boot=10, smoke=True, contrasts=[Contrast(a="DP ε=2 C=1", b="clip C=1", name="noise")],
    )  # fmt: skip
    contrasts = smoke.tables["contrasts"]
    assert contrasts["verdict"].eq("not meaningful (1 seed)").all()
    assert contrasts[contrasts["role"] == "contrast"]["contrast"].unique().tolist() == ["noise"]
    assert smoke.tables["verdict"]["text"].tolist() == ["α* rises as ε falls: not meaningful (1 seed)"] * 2
