"""The ``alpha: {search: ...}`` form of a grid: accepted, expanded at its ends, and bad input refused in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from acadp.config.sweep import load_spec
from acadp.errors import SpecError

SEARCH = {"low": 0.005, "high": 0.2, "budget": 15}


def write(tmp_path: Path, alpha: Any) -> Path:
    spec = {
        "name": "s",
        "datasets": {"mnist5k": {}},
        "grid": {"alpha": alpha, "epsilon": ["inf"], "clip": ["none"], "seed": [0, 1, 2]},
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_a_search_is_accepted_and_its_grid_is_the_bracket_ends(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, {"search": SEARCH}))
    assert spec.grid.search is not None and spec.grid.search.thresholds == [0.5, 0.9]
    assert sorted({c.alpha for c in spec.trial_configs()}) == [0.005, 0.2]


@pytest.mark.parametrize(
    ("alpha", "field"),
    [
        ({"search": {**SEARCH, "low": 0.3}}, "grid.alpha.search: low"),
        ({"search": {**SEARCH, "thresholds": [0.5, 1.5]}}, "grid.alpha.search.thresholds"),
        ({"search": {**SEARCH, "thresholds": [0]}}, "grid.alpha.search.thresholds"),
        ({"search": {**SEARCH, "tolerance": 0}}, "grid.alpha.search.tolerance"),
        ({"search": {**SEARCH, "tolerance": -1}}, "grid.alpha.search.tolerance"),
        ({"search": {**SEARCH, "budget": 8}}, "alpha.search.budget"),
        ({"search": SEARCH, "values": [0.1]}, "grid.alpha"),
        ([0.1, {"search": SEARCH}], "grid.alpha"),
    ],
)
def test_bad_search_input_is_refused_with_one_line_naming_the_field(tmp_path: Path, alpha: Any, field: str) -> None:
    with pytest.raises(SpecError) as error:
        load_spec(write(tmp_path, alpha))
    message = str(error.value)
    assert "\n" not in message and field in message


def test_a_dose_response_search_needs_only_three_trials_and_is_read_off_the_fit(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, {"search": {**SEARCH, "design": "dose_response", "budget": 3}}))
    assert spec.grid.search is not None and spec.grid.search.design == "dose_response"
    assert spec.interpolation() == "logistic" and spec.interpolation(smoke=True) == "auto"
    assert load_spec(write(tmp_path, {"search": SEARCH})).interpolation() == "auto"  # a bisection: seed means


@pytest.mark.parametrize(
    ("search", "field"),
    [
        ({**SEARCH, "design": "dose_response", "budget": 2}, "alpha.search.budget"),
        ({**SEARCH, "design": "sobol"}, "grid.alpha.search.design"),
    ],
)
def test_bad_dose_response_input_is_refused_in_one_line(tmp_path: Path, search: dict, field: str) -> None:
    with pytest.raises(SpecError) as error:
        load_spec(write(tmp_path, {"search": search}))
    message = str(error.value)
    assert "\n" not in message and field in message
    if search.get("budget") == 2:
        assert "dose-response step (3 alphas × 1 seed = 3)" in message


def test_a_dose_response_search_with_one_seed_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, {"search": {**SEARCH, "design": "dose_response"}})
    spec = yaml.safe_load(path.read_text())
    spec["grid"]["seed"] = [0]
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError) as error:
        load_spec(path)
    message = str(error.value)
    assert "\n" not in message and "alpha.search.design" in message and "at least 2 seeds" in message
