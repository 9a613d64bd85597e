"""Regenerate the tables of a ``docs/findings.md`` section from its shipped sweep's reduced outputs and report every
difference from the document.

Usage::

    acadp sweep run sweeps/fair_vs_private.yaml                   # the section's sweep (its reduced/ is read)
    python benchmarks/check_findings.py fair-firm                 # diff the document against the regenerated tables
    python benchmarks/check_findings.py fair-firm --write         # replace the document's tables with them

A regenerated table sits in the document between ``<!-- table SECTION/NAME -->`` and ``<!-- end table -->``. The
script prints a unified diff per table that differs and exits 1 when any does (0 when the document is what the sweep
produces). Prose is not checked: re-read it against the regenerated numbers. Sections: ``fair-firm``.
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from acadp.reduce.collect import read_trials_parquet
from acadp.reduce.curves import seed_summary

ROOT = Path(__file__).resolve().parents[1]
FINDINGS = ROOT / "docs" / "findings.md"
MARKED = re.compile(r"(<!-- table (?P<name>[\w/-]+) -->\n)(?P<body>.*?)(<!-- end table -->)", re.DOTALL)

# the fair firm's arms, in the document's order and words
FAIR_ARMS = {"SGD": "ERM (SGD)", "GDRO": "Group-DRO", "DP ε=8 C=1": "DP-SGD ε = 8, C = 1"}


def _alpha(row: pd.Series | None) -> str:
    """α* with its CI: ``0.0051 [0.0028, 0.0119]``, ``not reached``, or ``–`` without a row."""
    if row is None:
        return "–"
    star = float(row["alpha_star"])
    if not math.isfinite(star):
        return "not reached"
    if star == 0:
        return "0 (reached without a collective)"
    low, high = float(row["ci_low"]), float(row["ci_high"])
    interval = f" [{low:.4f}, {high:.4f}]" if math.isfinite(low) and math.isfinite(high) else ""
    return f"{star:.4f}{interval}"


def _critical(table: pd.DataFrame, arm: str, metric: str, threshold: float) -> pd.Series | None:
    rows = table[(table["arm"] == arm) & (table["metric"] == metric) & (table["threshold"] == threshold)]
    return None if rows.empty else rows.iloc[0]


def _at(summary: pd.DataFrame, arm: str, alpha: float) -> pd.Series:
    return summary[(summary["arm"] == arm) & (summary["alpha"] == alpha)].iloc[0]


def fair_firm(reduced: Path) -> dict[str, str]:
    """The "Fair firm" tables from ``results/fair-vs-private/reduced``: α* per learner, and S / base rate / lift per
    α for ERM and Group-DRO (seed means)."""
    critical = pd.read_csv(reduced / "critical_mass.csv")
    trials = read_trials_parquet(reduced / "trials.parquet")
    summaries = {metric: seed_summary(trials, metric) for metric in ("success", "base_rate", "lift")}
    summaries |= {metric: seed_summary(trials, metric) for metric in ("test_accuracy", "worst_group_accuracy")}
    lines = [
        "| Learner | α\\*(S\\* = 0.5) on S [95% CI] | α\\*(0.9) on S | α\\*(0.5) on lift = S − base rate "
        "| clean acc. at α = 0 | worst-group acc. at α = 0 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for arm, label in FAIR_ARMS.items():
        accuracy, worst = _at(summaries["test_accuracy"], arm, 0.0), _at(summaries["worst_group_accuracy"], arm, 0.0)
        lines.append(
            f"| {label} | {_alpha(_critical(critical, arm, 'success', 0.5))} "
            f"| {_alpha(_critical(critical, arm, 'success', 0.9))} | {_alpha(_critical(critical, arm, 'lift', 0.5))} "
            f"| {accuracy['mean']:.3f} ± {accuracy['std']:.3f} | {worst['mean']:.3f} ± {worst['std']:.3f} |"
        )
    curves = ["| α | ERM: S / base rate / lift | Group-DRO: S / base rate / lift |", "|---:|---|---|"]
    for alpha in sorted(summaries["success"]["alpha"].unique()):
        cells = [
            " / ".join(
                f"{_at(summaries[metric], arm, alpha)['mean']:.3f}" for metric in ("success", "base_rate", "lift")
            )
            for arm in ("SGD", "GDRO")
        ]
        curves.append(f"| {alpha:g} | {cells[0]} | {cells[1]} |")
    return {"fair-firm/critical-mass": "\n".join(lines) + "\n", "fair-firm/success": "\n".join(curves) + "\n"}


SECTIONS: dict[str, tuple[str, Callable[[Path], dict[str, str]]]] = {
    "fair-firm": ("fair-vs-private", fair_firm),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("section", choices=sorted(SECTIONS))
    parser.add_argument("--results", type=Path, default=ROOT / "results", help="the sweeps' storage (default results)")
    parser.add_argument("--write", action="store_true", help="replace the document's tables with the regenerated")
    options = parser.parse_args()
    sweep, regenerate = SECTIONS[options.section]
    reduced = options.results / sweep / "reduced"
    if not (reduced / "trials.parquet").exists():
        print(f"{reduced}: no reduced outputs; run the section's sweep first", file=sys.stderr)
        return 2
    tables = regenerate(reduced)
    document = FINDINGS.read_text()
    found = {match["name"]: match for match in MARKED.finditer(document)}
    missing = sorted(set(tables) - set(found))
    if missing:
        print(f"{FINDINGS}: no marked table {', '.join(missing)}", file=sys.stderr)
        return 2
    differ = [name for name, text in tables.items() if found[name]["body"] != text]
    for name in differ:
        diff = difflib.unified_diff(
            found[name]["body"].splitlines(keepends=True), tables[name].splitlines(keepends=True),
            fromfile=f"docs/findings.md ({name})", tofile=f"{reduced} ({name})",
        )  # fmt: skip
        sys.stdout.writelines(diff)
    if options.write and differ:
        FINDINGS.write_text(MARKED.sub(lambda m: m.group(1) + tables.get(m["name"], m["body"]) + m.group(4), document))
        print(f"rewrote {len(differ)} table(s) of {FINDINGS.relative_to(ROOT)}")
    print(f"{options.section}: {len(tables) - len(differ)} of {len(tables)} tables as the sweep produces them")
    return 1 if differ and not options.write else 0


if __name__ == "__main__":
    sys.exit(main())
