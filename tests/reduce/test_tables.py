"""Paper tables: exact Markdown and LaTeX for a tiny critical-mass table, CSV round trip, cell formatting."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest

from acadp.reduce.critical_mass import CRITICAL_MASS_COLUMNS
from acadp.reduce.tables import TABLES, latex_escape, render_table, to_latex, to_markdown, write_table
from acadp.registry import RegistryError


def tiny_critical_mass() -> pd.DataFrame:
    rows = [
        ("mnist", 1.0, 1.0, 0.9, math.inf, False, math.inf, math.inf, 0.0, 3, "1 of 5 alphas missing"),
        ("mnist", 8.0, 0.5, 0.9, 0.0734, True, 0.0651, math.inf, 0.9, 3, ""),
        ("mnist", math.inf, math.nan, 0.9, 0.05, True, 0.0412, 0.0588, 1.0, 1, "1 seed: CI has zero width"),
    ]
    names = ["dataset", "epsilon", "clip", "threshold", "alpha_star", "reached", "ci_low", "ci_high",
             "frac_reached", "n_seeds", "note"]  # fmt: skip
    return pd.DataFrame(rows, columns=names)


def test_markdown_exact() -> None:
    expected = (
        "| Dataset | ε | C | S* | α* | 95% CI | Reached (bootstrap) | Seeds | Note |\n"
        "|:---|---:|---:|---:|---:|---:|---:|---:|:---|\n"
        "| mnist | 1 | 1 | 0.9 | not reached | not reached | 0.00 | 3 | 1 of 5 alphas missing |\n"
        "| mnist | 8 | 0.5 | 0.9 | 0.0734 | [0.0651, not reached] | 0.90 | 3 | – |\n"
        "| mnist | ∞ | – | 0.9 | 0.05 | [0.0412, 0.0588] | 1.00 | 1 | 1 seed: CI has zero width |\n"
    )
    frame = tiny_critical_mass()
    frame.loc[1, "note"] = None
    assert render_table("critical_mass", frame).markdown == expected


def test_latex_exact_booktabs() -> None:
    expected = (
        "\\begin{tabular}{lrrrrrrrl}\n"
        "\\toprule\n"
        "Dataset & $\\varepsilon$ & $C$ & $S^*$ & $\\alpha^*$ & 95\\% CI & Reached (bootstrap) & Seeds & Note \\\\\n"
        "\\midrule\n"
        "mnist & 1 & 1 & 0.9 & not reached & not reached & 0.00 & 3 & 1 of 5 alphas missing \\\\\n"
        "mnist & 8 & 0.5 & 0.9 & 0.0734 & [0.0651, not reached] & 0.90 & 3 &  \\\\\n"
        "mnist & $\\infty$ & -- & 0.9 & 0.05 & [0.0412, 0.0588] & 1.00 & 1 & 1 seed: CI has zero width \\\\\n"
        "\\bottomrule\n"
        "\\end{tabular}\n"
    )
    assert render_table("critical_mass", tiny_critical_mass()).latex == expected


def test_csv_keeps_numbers_and_reads_back() -> None:
    frame = tiny_critical_mass()
    back = pd.read_csv(io.StringIO(render_table("critical_mass", frame).csv), keep_default_na=False, na_values=[""])
    assert back["alpha_star"].tolist()[0] == math.inf and back["reached"].tolist() == [False, True, True]
    assert back["epsilon"].tolist()[2] == math.inf and math.isnan(back["clip"].tolist()[2])
    assert back["alpha_star"].tolist()[1] == 0.0734


def test_seed_table_cells_show_missing_and_single_seed() -> None:
    frame = pd.DataFrame(
        {"dataset": ["toy"] * 3, "epsilon": [2.0] * 3, "clip": [1.0] * 3, "alpha": [0.01, 0.02, 0.05],
         "n_trials": [3, 3, 3], "n_seeds": [0, 1, 3], "n_failed": [1, 0, 0], "mean": [math.nan, 0.5, 0.71234],
         "std": [math.nan, math.nan, 0.0123], "ci_low": [math.nan, math.nan, 0.68],
         "ci_high": [math.nan, math.nan, 0.74]}
    )  # fmt: skip
    lines = render_table("success_curves", frame).markdown.splitlines()
    assert lines[2] == "| toy | 2 | 1 | 0.01 | 0/3 | missing | missing |"
    assert lines[3] == "| toy | 2 | 1 | 0.02 | 1/3 | 0.500 | n/a (1 seed) |"
    assert lines[4] == "| toy | 2 | 1 | 0.05 | 3/3 | 0.712 ± 0.012 | [0.680, 0.740] |"
    assert "0.712 $\\pm$ 0.012" in render_table("success_curves", frame).latex


def test_text_is_escaped() -> None:
    assert latex_escape("a_b & 50% {x} #1 $") == r"a\_b \& 50\% \{x\} \#1 \$"
    frame = tiny_critical_mass().assign(dataset="bank|x_y")
    columns = TABLES.get("critical_mass").display_columns(frame)
    assert "bank\\|x_y" in to_markdown(frame, columns)
    assert "bank|x\\_y" in to_latex(frame, columns)


def test_varying_setting_columns_are_shown() -> None:
    frame = tiny_critical_mass().assign(strategy="feature_only")
    columns = TABLES.get("critical_mass").display_columns(frame)
    assert [c.header for c in columns[:3]] == ["Dataset", "strategy", "ε"]


def test_write_table_writes_three_files(tmp_path: Path) -> None:
    paths = write_table("critical_mass", tiny_critical_mass(), tmp_path)
    assert [p.name for p in paths] == ["critical_mass.csv", "critical_mass.md", "critical_mass.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_unknown_table_lists_valid_names() -> None:
    with pytest.raises(RegistryError, match="critical_mass"):
        render_table("critical_mas", tiny_critical_mass())


def test_critical_mass_spec_reads_existing_columns() -> None:
    sources = {name for column in TABLES.get("critical_mass").columns for name in column.sources}
    assert sources <= {*CRITICAL_MASS_COLUMNS, "dataset", "arm", "epsilon", "clip", "search"}  # search: searched sweeps
