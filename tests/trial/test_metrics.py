"""Success, base rate and lift on hand-made predictions whose values are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from acadp.trial.metrics import success_metrics


def test_base_rate_and_lift_on_known_predictions() -> None:
    y_test = np.array([0, 1, 2, 3, 4, 5])  # target 0: five non-target points
    clean = np.array([0, 1, 0, 3, 4, 0])  # two non-target points already predicted 0 without the signal
    signal = np.array([0, 0, 0, 0, 4, 0])  # four of five non-target points predicted 0 with the signal
    metrics = success_metrics(clean_pred=clean, signal_pred=signal, y_test=y_test, target_class=0)
    assert metrics.success == pytest.approx(4 / 5)
    assert metrics.base_rate == pytest.approx(2 / 5)
    assert metrics.lift == pytest.approx(2 / 5)
    assert metrics.success_all == pytest.approx(5 / 6)
    assert metrics.test_accuracy == pytest.approx(4 / 6)


def test_a_model_that_always_predicts_the_target_has_no_lift() -> None:
    y_test = np.array([0, 1, 2, 3])
    always = np.zeros(4, dtype=int)
    metrics = success_metrics(clean_pred=always, signal_pred=always, y_test=y_test, target_class=0)
    assert metrics.success == 1.0 and metrics.base_rate == 1.0 and metrics.lift == 0.0


def test_no_non_target_points_gives_nan_rates() -> None:
    metrics = success_metrics(
        clean_pred=np.zeros(2, dtype=int), signal_pred=np.zeros(2, dtype=int), y_test=np.zeros(2), target_class=0
    )
    assert math.isnan(metrics.success) and math.isnan(metrics.base_rate)
