"""reduce_sweep end to end on synthetic TrialRecords: every file written, atomically, and consistent."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from acadp.reduce.collect import read_trials_parquet
from acadp.reduce.report import ReduceOutputs, reduce_sweep

from .builders import lira_row, make_config, make_record, synthetic_records


def partial_records() -> list:
    """A grid with failures (seed 2 at alpha 0.2) and a point nobody finished (epsilon 1, alpha 0.2)."""

    def status(alpha: float, epsilon: float, seed: int) -> str:
        if alpha == 0.2 and epsilon == 1.0:
            return "pending"
        return "failed" if (alpha == 0.2 and seed == 2) else "completed"

    records = synthetic_records(status_of=status)
    records.append(make_record(make_config(alpha=0.1, epsilon=4.0, seed=0, clip=0.1), "running"))
    return records


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> ReduceOutputs:
    fpr = np.logspace(-4, 0, 50)
    return reduce_sweep(
        records=partial_records(),
        lira_rows=pd.DataFrame([lira_row(), lira_row(subset="collective")]),
        roc_curves={("ε=8, α=0.05", "online"): (fpr, np.sqrt(fpr))},
        out_dir=tmp_path_factory.mktemp("reduced"),
        sweep_name="e2e",
        n_boot=100,
        provenance={"commit": "deadbeef"},
    )


def test_all_files_are_written_and_listed(outputs: ReduceOutputs) -> None:
    names = {path.relative_to(outputs.out_dir).as_posix() for path in outputs.paths}
    tables = {
        f"{t}.{ext}"
        for t in ("success_curves", "critical_mass", "accuracy", "verdict", "contrasts", "seed_alpha_star", "lira")
        for ext in ("csv", "md", "tex")
    }
    stems = ["figures/lira_roc"] + [
        f"figures/{f}_mnist5k" for f in ("success_curves", "critical_mass", "accuracy", "contrasts")
    ]
    figures = {f"{stem}.{ext}" for stem in stems for ext in ("png", "svg", "txt")}
    expected = {"trials.parquet", "dashboard.html"} | tables | figures
    assert names == expected
    assert outputs.paths[-1] == outputs.dashboard  # the final artifact is written last
    on_disk = {p.relative_to(outputs.out_dir).as_posix() for p in outputs.out_dir.rglob("*") if p.is_file()}
    assert on_disk == expected  # and no temporary files are left behind
    assert all(path.stat().st_size > 0 for path in outputs.paths)


def test_trials_parquet_has_every_grid_point(outputs: ReduceOutputs) -> None:
    trials = read_trials_parquet(outputs.out_dir / "trials.parquet")
    assert len(trials) == 46
    assert trials["status"].value_counts().to_dict() == {"completed": 40, "failed": 2, "pending": 3, "running": 1}


def test_missing_point_shown_as_missing(outputs: ReduceOutputs) -> None:
    curves = outputs.tables["success_curves"]
    missing = curves[(curves["epsilon"] == 1.0) & (curves["alpha"] == 0.2)].iloc[0]
    assert missing["n_seeds"] == 0 and math.isnan(missing["mean"])
    markdown = (outputs.out_dir / "success_curves.md").read_text()
    assert "| mnist5k | DP ε=1 C=1 | 1 | 1 | 0.2 | 0/3 | missing | missing | missing | missing |  |" in markdown


def test_critical_mass_reports_not_reached_in_every_format(outputs: ReduceOutputs) -> None:
    table = outputs.tables["critical_mass"]
    eps1 = table[(table["epsilon"] == 1.0) & (table["threshold"] == 0.9)].iloc[0]
    assert not eps1["reached"] and eps1["alpha_star"] == math.inf
    assert "not reached" in (outputs.out_dir / "critical_mass.md").read_text()
    assert "not reached" in (outputs.out_dir / "critical_mass.tex").read_text()
    csv = pd.read_csv(outputs.out_dir / "critical_mass.csv")
    assert set(csv["reached"]) == {True, False}
    # the non-private group, at two thresholds, on success and success_all
    assert (csv["epsilon"] == math.inf).sum() == 4 and set(csv["metric"]) == {"success", "success_all"}


def test_non_private_reference_in_tables(outputs: ReduceOutputs) -> None:
    table = outputs.tables["critical_mass"]
    reference = table[table["epsilon"] == math.inf]
    assert reference["clip"].isna().all() and reference["reached"].all()
    assert "$\\infty$" in (outputs.out_dir / "critical_mass.tex").read_text()


def test_dashboard_mentions_failures_and_provenance(outputs: ReduceOutputs) -> None:
    html = outputs.dashboard.read_text()
    assert html.count("out of memory") == 2 and "deadbeef" in html
    assert html.count('src="data:image/svg+xml;base64,') == 5  # 3 sweep figures, the contrasts, the ROC curves


INTERVALS = {  # figure → how its caption states the interval: kind, level, over what, n
    "critical_mass_mnist5k": r"95% percentile-bootstrap intervals over seeds \(100 resamples of the seeds, "
    r"n = 3 seeds per arm\)",
    # a failed seed at α = 0.2: two seeds there, three elsewhere
    "success_curves_mnist5k": r"Bands: 95% Student-t intervals of the mean over seeds, n = 2–3 seeds per point",
    "accuracy_mnist5k": r"Bars: 95% Student-t intervals of the mean over seeds, n = 3 seeds per point",
    "lira_roc": r"No interval: pooled predictions share shadow models",
}


@pytest.mark.parametrize("stem", sorted(INTERVALS))
def test_every_figure_has_a_caption_stating_its_interval(outputs: ReduceOutputs, stem: str) -> None:
    text = (outputs.out_dir / "figures" / f"{stem}.txt").read_text(encoding="utf-8")
    title, caption = text.split("\n\n", 1)
    assert title and re.search(INTERVALS[stem], caption), caption
    html = outputs.dashboard.read_text(encoding="utf-8")
    assert html.count(str(escape(caption.strip()))) == 2  # the image's alt text and its caption


def test_the_dashboard_opens_on_the_verdict_and_the_headline_figure(outputs: ReduceOutputs) -> None:
    html = outputs.dashboard.read_text(encoding="utf-8")
    main = html[html.index("<main>") :]
    markers = ('id="verdict"', "α* rises as ε falls", 'id="figure-critical_mass_mnist5k"', 'id="status"',
               'id="figures"', 'id="tables"')  # fmt: skip
    order = [main.index(marker) for marker in markers]
    assert order == sorted(order)
    assert "α* rises as ε falls: not meaningful (3 seeds)" in main  # synthetic sweeps have three seeds


def test_rerun_overwrites_in_place(outputs: ReduceOutputs, tmp_path: Path) -> None:
    again = reduce_sweep(
        records=partial_records(),
        lira_rows=None,
        roc_curves=None,
        out_dir=outputs.out_dir,
        sweep_name="e2e",
        n_boot=100,
    )
    pd.testing.assert_frame_equal(again.tables["critical_mass"], outputs.tables["critical_mass"])


def test_sweep_with_nothing_completed(tmp_path: Path) -> None:
    records = synthetic_records(status_of=lambda a, e, s: "pending")
    result = reduce_sweep(records=records, lira_rows=None, roc_curves=None, out_dir=tmp_path, sweep_name="fresh")
    assert not (tmp_path / "figures").exists()
    assert "no completed trials" in (tmp_path / "critical_mass.md").read_text()
    assert "No figures" in result.dashboard.read_text()


def test_empty_sweep(tmp_path: Path) -> None:
    result = reduce_sweep(records=[], lira_rows=pd.DataFrame(), roc_curves=None, out_dir=tmp_path, sweep_name="none")
    assert (tmp_path / "trials.parquet").exists() and result.tables["critical_mass"].empty
    assert "lira" not in result.tables
