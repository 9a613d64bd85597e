"""``reduce.contrasts`` of a sweep file: pairs of arms by label, checked against the sweep's arms when it is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from acadp.config.contrasts import Contrast
from acadp.config.sweep import load_spec
from acadp.errors import SpecError

SWEEP = """
name: contrasts
datasets:
  mnist5k:
    recipes: [{name: tuned, epochs: 2}, {name: matched, epochs: 1}]
grid: {alpha: [0.0, 0.1], epsilon: [2, 8, inf], clip: [none, 1.0, 10.0], seed: [0, 1]}
reduce:
  contrasts: CONTRASTS
"""


def load(tmp_path: Path, contrasts: str) -> list[Contrast] | None:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP.replace("CONTRASTS", contrasts))
    return load_spec(path).reduce.contrasts


def test_contrasts_name_arms_of_the_grid_and_of_named_recipes(tmp_path: Path) -> None:
    listed = load(
        tmp_path,
        '[{a: "DP ε=2 C=1", b: "clip C=1", name: "noise at ε=2, C=1"}, {a: "SGD [matched]", b: "SGD [tuned]"},'
        ' {a: "DP ε=2 C=10", b: "clip C=10"}]',
    )
    assert listed is not None and [(c.a, c.b, c.label) for c in listed] == [
        ("DP ε=2 C=1", "clip C=1", "noise at ε=2, C=1"),
        ("SGD [matched]", "SGD [tuned]", "SGD [matched] vs SGD [tuned]"),
        ("DP ε=2 C=10", "clip C=10", "DP ε=2 C=10 vs clip C=10"),
    ]
    assert load(tmp_path, "null") is None  # the reducer's defaults


def test_the_sweeps_arm_labels(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP.replace("CONTRASTS", "null"))
    assert load_spec(path).arm_labels() == [
        "DP ε=2 C=1", "DP ε=2 C=10", "DP ε=8 C=1", "DP ε=8 C=10", "SGD", "clip C=1", "clip C=10", "SGD [tuned]",
        "SGD [matched]",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("contrasts", "message"),
    [
        (
            '[{a: "DP ε=1 C=1", b: "clip C=1"}]',
            "reduce.contrasts[0].a: 'DP ε=1 C=1' is not an arm of this sweep; valid arm labels: 'DP ε=2 C=1', "
            "'DP ε=2 C=10', 'DP ε=8 C=1', 'DP ε=8 C=10', 'SGD', 'clip C=1', 'clip C=10', 'SGD [tuned]', "
            "'SGD [matched]'",
        ),
        ('[{a: "SGD", b: "SGD"}]', "reduce.contrasts[0]: a and b name the same arm 'SGD'"),
        (
            '[{a: "clip C=1", b: "SGD"}, {a: "clip C=1", b: "SGD", name: again}]',
            "reduce.contrasts[1]: the same pair of arms as reduce.contrasts[0]; list each once",
        ),
        (
            '[{a: "clip C=1", b: "SGD", name: x}, {a: "clip C=10", b: "SGD", name: x}]',
            "reduce.contrasts[1].name: 'x' already names reduce.contrasts[0]",
        ),
        ('[{a: "clip C=1"}]', "reduce.contrasts[0].b: Field required"),
        ('[{a: "clip C=1", b: "SGD", c: "GDRO"}]', "reduce.contrasts[0].c: unknown key"),
    ],
)
def test_bad_contrasts_are_refused_in_one_line(tmp_path: Path, contrasts: str, message: str) -> None:
    with pytest.raises(SpecError) as error:
        load(tmp_path, contrasts)
    text = str(error.value)
    assert message in text and "\n" not in text and text.startswith(str(tmp_path / "sweep.yaml"))
