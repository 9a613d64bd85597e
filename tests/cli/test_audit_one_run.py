"""``acadp audit-one-run``: a grid point of a sweep file audited with one training run, stored under the sweep and
reused; a point absent from the grid or settings that cannot give a bound print one line naming the field and create
nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from acadp.cli.main import main

SWEEP = """\
name: one_run_cli
datasets:
  mnist5k:
    model: {name: cnn}
    signal: {name: patch, size: 4, position: bottom_right, value: 1.0}
    target_class: 0
    training: {epochs: 2, batch_size: 64, lr: 1.0, momentum: 0.0}
grid:
  alpha: [0.0, 0.1]
  epsilon: [8, inf]
  clip: [none, 1.0]
  seed: [0]
smoke: {n_train: 200, n_test: 100, epochs: 1}
"""


def acadp(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["acadp", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    return path


def test_a_grid_point_is_audited_stored_and_reused(sweep: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    store = tmp_path / "store"
    args = ["audit-one-run", str(sweep), "--smoke", "--storage", str(store), "--alpha", "0.1", "--epsilon", "8",
            "--canaries", "100", "--k-plus", "10", "--k-minus", "5", "--json"]  # fmt: skip
    status, out, err = acadp(monkeypatch, capsys, *args)
    assert status == 0, err
    first = json.loads(out)
    assert not first["reused"] and first["clip"] == 1.0 and first["alpha"] == 0.1 and first["guesses"] == 15
    folder = store / "one_run_cli-smoke" / "one_run" / first["one_run_key"]
    assert {p.name for p in folder.iterdir()} == {"config.json", "canaries.npy", "included.npy", "scores.npy",
                                                  "result.json"}  # fmt: skip
    status, out, err = acadp(monkeypatch, capsys, *args)
    second = json.loads(out)
    assert status == 0 and second["reused"] and second["seconds"] == first["seconds"]
    status, out, err = acadp(monkeypatch, capsys, *args[:-1])  # the table
    assert status == 0 and "ε lower bound" in out and "reused" in out


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--alpha", "0.05", "--epsilon", "8"], "--alpha: 0.05 is not in the sweep's grid of mnist5k; its values: 0, "
                                                "0.1"),
        (["--alpha", "0.1", "--epsilon", "2"], "--epsilon: 2 is not in the sweep's grid"),
        (["--alpha", "0.1", "--epsilon", "8", "--clip", "none"], "--clip: none is not in the sweep's grid"),
        (["--alpha", "0.1", "--epsilon", "8", "--seed", "1"], "--seed: 1 is not in the sweep's grid"),
        (["--alpha", "0.1", "--epsilon", "8", "--canaries", "4"], "one_run.canaries: canaries (4) too few"),
        (["--alpha", "0.1", "--epsilon", "8", "--canaries", "500"], "one_run.canaries: 500 canaries exceed the 200"),
        (["--alpha", "0.1", "--epsilon", "8", "--canaries", "50", "--k-plus", "40", "--k-minus", "20"],
         "one_run.k_plus: k_plus + k_minus = 60 guesses exceed one_run.canaries = 50"),
    ],
    ids=["alpha", "epsilon", "clip", "seed", "too-few-canaries", "canaries-exceed-training-set", "k-too-large"],
)  # fmt: skip
def test_bad_input_is_one_line_naming_the_field_and_creates_nothing(
    sweep: Path, monkeypatch, capsys, *, options: list[str], says: str
) -> None:
    store = sweep.parent / "store"
    status, _, err = acadp(monkeypatch, capsys, "audit-one-run", str(sweep), "--smoke", "--storage", str(store),
                             *options)  # fmt: skip
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"acadp: error: {says}")
    assert not store.exists()
