"""Captions state every interval: its kind, level, what it is over and n, read from the rows the figure draws."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from acadp.reduce.captions import (
    accuracy_caption,
    count_text,
    critical_mass_caption,
    lira_auc_caption,
    roc_caption,
    success_caption,
)
from acadp.reduce.collect import trials_frame
from acadp.reduce.critical_mass import critical_mass_table
from acadp.reduce.curves import accuracy_by_epsilon, success_curves

from .builders import lira_row, synthetic_records


@pytest.mark.parametrize(
    ("counts", "text"),
    [
        ([5, 5], "n = 5 seeds"),
        ([3, 5, math.nan, 0], "n = 3–5 seeds"),
        ([1], "n = 1 seed"),
        ([0, math.nan], "n = 0 seeds"),
    ],
)
def test_count_text(counts: list[float], text: str) -> None:
    assert count_text(counts, "seed") == text


def test_five_seeds_get_t_intervals_and_one_seed_says_there_is_none() -> None:
    five = success_curves(trials_frame(synthetic_records(seeds=range(5))))
    assert "Bands: 95% Student-t intervals of the mean over seeds, n = 5 seeds per point." in success_caption(five)
    one = success_curves(trials_frame(synthetic_records(seeds=(0,))))
    assert "Bands: none drawn (n = 1 seed per point" in success_caption(one)
    assert "logistic fit" in success_caption(five, fitted=True) and "Bands" not in success_caption(five, fitted=True)


def test_the_critical_mass_caption_names_the_bootstrap() -> None:
    table = critical_mass_table(trials_frame(synthetic_records(seeds=range(4))), n_boot=40)
    caption = critical_mass_caption(table)
    assert "Bars: 95% percentile-bootstrap intervals over seeds (40 resamples of the seeds, n = 4 seeds per arm)." in (
        caption
    )
    assert "not reached" in caption and "interpolated" in caption
    single = critical_mass_caption(critical_mass_table(trials_frame(synthetic_records(seeds=(0,))), n_boot=40))
    assert "Bars: none (n = 1 seed" in single


def test_the_accuracy_caption_counts_the_seeds_at_the_alpha_drawn() -> None:
    def status(alpha: float, epsilon: float, seed: int) -> str:
        return "failed" if alpha > 0 and seed == 0 else "completed"  # two seeds except at α = 0

    rows = accuracy_by_epsilon(trials_frame(synthetic_records(status_of=status)))
    caption = accuracy_caption(rows)
    assert "at α = 0," in caption and "n = 3 seeds per point" in caption and "does not start at 0" in caption


def test_lira_captions_count_audited_seeds_or_target_models_and_name_the_attack_in_words() -> None:
    lira = pd.DataFrame([lira_row(attack="online_fixed_variance", n_targets=16.0), lira_row(attack="online")])
    auc = lira_auc_caption(pd.DataFrame({"n_seeds": [5.0, 3.0]}))
    assert "online, fixed variance" in auc and "95% Student-t intervals of the mean over audited seeds" in auc
    assert "n = 3–5 seeds per point" in auc and "Hollow markers: fewer than 20" in auc
    assert "none drawn (n = 1 seed per point" in lira_auc_caption(pd.DataFrame({"n_seeds": [1.0]}))
    roc = roc_caption(lira)
    assert "No interval" in roc and "n = 16 target models per audit" in roc
    assert "n =" not in roc_caption(None)
