"""The ``one_run:`` section of a sweep file: one one-run audit per audited grid point, smoke runs shrink it, and
settings or points that can give no bound are refused in one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from acadp.config.sweep import load_spec
from acadp.errors import SpecError
from acadp.sweep.plan import plan_sweep

SWEEP = """
name: one-run
datasets:
  mnist5k:
    n_train: 400
    n_test: 100
    training: {epochs: 1, batch_size: 50, lr: 0.5}
grid: {alpha: [0.0, 0.1], epsilon: [8, inf], clip: [none, 1.0], arms: [sgd, dpsgd], seed: [0, 1]}
one_run:
  points: {alpha: [0.0, 0.1], epsilon: [inf, 8]}
  canaries: 300
  k_plus: 30
  k_minus: 30
  smoke: {canaries: 100, k_plus: 10, k_minus: 10}
smoke: {n_train: 200, n_test: 50, epochs: 1}
"""


def spec_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def test_each_audited_point_is_its_grid_trial_with_the_sections_settings(tmp_path: Path) -> None:
    spec = load_spec(spec_file(tmp_path, SWEEP))
    grid = {config.key() for config in spec.trial_configs()}
    one_runs = spec.one_run_configs()
    assert len(one_runs) == 4 and len({c.key() for c in one_runs}) == 4
    assert all(c.trial.key() in grid for c in one_runs)  # the grid trial itself: its training set holds the canaries
    assert {(c.trial.alpha, c.trial.arm) for c in one_runs} == {
        (0.0, "SGD"), (0.1, "SGD"), (0.0, "DP ε=8 C=1"), (0.1, "DP ε=8 C=1"),
    }  # fmt: skip
    assert {(c.one_run.canaries, c.one_run.k_plus, c.one_run.seed) for c in one_runs} == {(300, 30, 0)}
    (smoke,) = spec.one_run_configs(smoke=True)
    assert smoke.one_run.canaries == 100 and smoke.trial.key() in {c.key() for c in spec.trial_configs(smoke=True)}
    assert not load_spec(spec_file(tmp_path, SWEEP.split("one_run:", 1)[0])).one_run_configs()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"alpha: [0.0, 0.1], epsilon: [inf, 8]}": "alpha: [0.05], epsilon: [inf]}"}, "one_run.points.alpha"),
        ({"canaries: 300": "canaries: 500"}, "one_run.canaries"),  # more canaries than the 400 training examples
        ({"k_plus: 30": "k_plus: 1", "k_minus: 30": "k_minus: 1"}, "one_run.k_plus"),  # 2 guesses show nothing
        ({"k_minus: 30": "k_minus: 300"}, "one_run.k_plus"),  # more guesses than canaries
        ({"smoke: {canaries: 100,": "smoke: {canaries: 300,"}, "one_run.canaries"),  # the smoke run has 200
    ],
    ids=[
        "point-absent-from-the-grid",
        "canaries-beyond-the-training-set",
        "too-few-guesses",
        "guesses-beyond-canaries",
        "smoke-canaries",
    ],
)
def test_settings_that_can_give_no_bound_are_refused_in_one_line(
    tmp_path: Path, changes: dict[str, str], field: str
) -> None:
    text = SWEEP
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new, 1)
    with pytest.raises(SpecError) as error:  # refused when the sweep is planned, before anything is created
        plan_sweep(spec_file(tmp_path, text), storage=str(tmp_path / "results"))
    assert not (tmp_path / "results").exists()
    message = str(error.value)
    assert "\n" not in message and field in message
