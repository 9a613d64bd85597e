"""The reducer stage: trial records (and LiRA audit rows) in, the sweep's ``reduced/`` folder out.

Files written into ``out_dir`` (every one atomically: a reader never sees half a file; ``dashboard.html`` last; their
names come from :class:`acadp.store.layout.ReducedLayout`)::

    trials.parquet                      one row per grid point (acadp.reduce.collect)
    success_curves.{csv,md,tex}         S(alpha), base rate, lift, collapse flag per (setting, arm, alpha) over seeds
    critical_mass.{csv,md,tex}          alpha*(S*) with bootstrap CIs per (setting, arm, metric, S*)
    accuracy.{csv,md,tex}               test accuracy and collapse flag per (setting, arm, alpha) over seeds
    seed_alpha_star.{csv,md,tex}        alpha*(S*) of every seed and how it was read (acadp.reduce.seed_alpha)
    contrasts.{csv,md,tex}              paired contrasts of alpha*: t-intervals, p, Holm p (acadp.reduce.contrasts)
    verdict.{csv,md,tex}                "alpha* rises as epsilon falls" per (setting, S*, C), from the contrasts
                                        (acadp.reduce.verdict)
    lira.{csv,md,tex}                   LiRA audit metrics (only when audit rows are given)
    one_run.{csv,md,tex}                one-run audits' ε lower bounds (only when one-run rows are given)
    lira_claim.{csv,md,tex}             the headline attack's AUC [95% CI over audited seeds] per arm, strategy,
                                        variant, convention, α and subset (acadp.reduce.lira_claim)
    lira_summary.{csv,md,tex}           per variant and control across α: all, the collective, the rest, placebo,
                                        Δ vs α = 0
    lira_regime.{csv,md,tex}            per audit, the regime of its grid trial and of its shadows (q, σ, steps, ...)
    token_critical_mass.{csv,md,tex}    token sweeps: alpha*(S*) per strategy, token and xi (acadp.reduce.text)
    epoch_curves.{csv,md,tex}           token sweeps: S and accuracy after every epoch over seeds (not on the dashboard)
    figures/<figure>_<setting>.{png,svg,txt}   the image, and its title and caption (the intervals drawn) as text
                                        (contrasts_<setting>: the forest plot of the contrasts; token sweeps:
                                        success_by_epoch_<setting>, critical_mass_vs_xi_<setting>)
    dashboard.html                      the self-contained dashboard

A "setting" is a dataset plus any other config value that varies across the sweep (see
:func:`acadp.reduce.curves.setting_keys`); each setting gets its own figures.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.figure import Figure

from acadp.config.contrasts import Contrast
from acadp.reduce.captions import (
    accuracy_caption,
    critical_mass_caption,
    lira_auc_caption,
    roc_caption,
    success_caption,
)
from acadp.reduce.collect import trials_frame, with_arm_columns, write_trials_parquet
from acadp.reduce.contrast_tables import contrast_notes
from acadp.reduce.contrasts import contrast_table
from acadp.reduce.critical_mass import Interpolation, critical_mass_table
from acadp.reduce.curves import COLLAPSE_MARGIN, accuracy_by_epsilon, seed_summary, setting_keys, success_curves
from acadp.reduce.dashboard import DashboardTable, render_dashboard
from acadp.reduce.dose_response import LogisticFit, fit_logistic
from acadp.reduce.lira_claim import NOTE as LIRA_CLAIM_NOTE
from acadp.reduce.lira_claim import lira_claim_table, lira_summary_table
from acadp.reduce.lira_tables import lira_table, split_regime
from acadp.reduce.one_run_table import NOTE as ONE_RUN_NOTE
from acadp.reduce.one_run_table import one_run_table
from acadp.reduce.plots import FigureFile, figure_file
from acadp.reduce.plots import plot_success_curves as plot_success
from acadp.reduce.plots_contrasts import contrasts_caption, plot_contrasts
from acadp.reduce.plots_lira import RocCurves, plot_lira_auc, plot_roc
from acadp.reduce.plots_privacy import plot_accuracy, plot_critical_mass
from acadp.reduce.search_table import SearchBounds, with_search_column
from acadp.reduce.seed_alpha import seed_alpha_table
from acadp.reduce.tables import write_table
from acadp.reduce.text import TEXT_NOTES, epochs_frame, text_figures, text_tables
from acadp.reduce.verdict import verdict_table
from acadp.store.atomic import write_atomic
from acadp.store.layout import REDUCED

if TYPE_CHECKING:
    from acadp.trial.record import TrialRecord

_COLLAPSE_NOTE = (
    f"'Collapsed' = seed-mean accuracy more than {COLLAPSE_MARGIN:g} below the arm's α = 0 accuracy, or seed-mean "
    "base rate ≥ the smallest S*."
)


def table_notes(*, n_boot: int, interpolation: str, thresholds: Sequence[float]) -> dict[str, str]:
    """Table name → its method note (dashboard, under the title; Markdown and LaTeX, after the table)."""
    return {
        "success_curves": "Seed mean ± sample std of S(α), of the base rate Pr[f(x) = y*] (clean non-target test "
        "points, no signal) and of the lift S − base rate; 95% CI = Student-t interval over seeds (n/a with one "
        "seed). " + _COLLAPSE_NOTE,
        "critical_mass": (
            "α* = where a logistic fit in log α over every trial at α > 0 reaches S* (dose response; no extrapolation "
            "beyond the α values run, the bootstrap refits on each resample's trials)"
            if interpolation == "logistic"
            else f"α* = first crossing of S* on the seed-mean curve, interpolated {_interpolation_text(interpolation)}"
        )
        + "; metric 'success_all' = the same on the success over all test points (the papers' definition), 'lift' "
        "= the same on S − base rate. 95% CI = percentile "
        f"bootstrap over seeds ({n_boot} resamples of the seeds with replacement, 2.5th and 97.5th percentiles); "
        "'Reached' = fraction of resamples that reached S*.",
        "accuracy": "Test accuracy: seed mean ± sample std; 95% CI = Student-t interval over seeds. " + _COLLAPSE_NOTE,
        "worst_group": "Lowest per-group (label, attribute) clean test accuracy: seed mean ± sample std; 95% CI = "
        "Student-t interval over seeds.",
        "verdict": "From the paired contrasts of α* on S along SGD → DP (largest ε) → … → DP (smallest ε) at one C: "
        "yes when every step is yes (Δα* > 0, p_Holm < 0.05), no when any step is no, undetermined otherwise (a "
        "side not reached or collapsed, all Δ tied, or p_Holm ≥ 0.05); not meaningful with fewer than 5 seeds or "
        f"from a --smoke run; S* = {', '.join(f'{t:g}' for t in thresholds)}.",
        "lira": "LiRA audits (Carlini et al. 2022); per audited point the headline row comes first: online attack "
        "with fixed variance, balanced convention, all examples. Conventions (which shadows the Gaussians are fitted "
        "on, acadp.lira.conventions): reference = as the published LiRA code (the first k−1 IN and M−k−1 OUT shadows "
        "in model order), balanced = the same counts with the dropped shadow drawn at random. Mean ± std over target "
        "models; AUC 95% CI = Student-t interval over targets. A TPR at FPR f is undefined for a target with fewer "
        "than 1/f non-members in the subset; its mean is over the targets where it is defined (k of n). ε lower "
        "bound: Clopper–Pearson at the audit's confidence on one member and one non-member decision per judged "
        "(odd-indexed) target, threshold chosen on the even-indexed targets (acadp.lira.target_bound). Placebo "
        "(α = 0 only): the examples the seed would have drawn as the collective at lira.placebo_alpha.",
        "one_run": ONE_RUN_NOTE,
        "lira_claim": LIRA_CLAIM_NOTE,
        "lira_summary": LIRA_CLAIM_NOTE,
        "lira_regime": "What each audited point's models trained on: its grid trial (from the trial's result; train "
        "accuracy not recorded) and its shadows (mean over shadows). With lira.pool: matched, each shadow trains on as "
        "many examples as the grid trial, so q, σ, steps and ε spent agree up to the keep matrix's per-shadow sizes.",
    }


def _interpolation_text(interpolation: str) -> str:
    return {
        "log": "in log α (linearly from α = 0)",
        "linear": "linearly in α",
        "auto": "in log α when the positive α grid is log-spaced, else linearly (column 'Interpolation')",
    }.get(interpolation, interpolation)


@dataclass(frozen=True)
class ReduceOutputs:
    """What :func:`reduce_sweep` wrote: every path (in writing order; log them as artifacts) and the tables."""

    out_dir: Path
    paths: tuple[Path, ...]
    dashboard: Path
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)


def reduce_sweep(
    *,
    records: Sequence[TrialRecord],
    lira_rows: pd.DataFrame | None,
    roc_curves: RocCurves | None,
    out_dir: Path,
    sweep_name: str,
    thresholds: Sequence[float] = (0.5, 0.9),
    n_boot: int = 1000,
    interpolation: Interpolation = "auto",
    lift: bool = False,
    provenance: Mapping[str, str] | None = None,
    search: SearchBounds | None = None,
    one_run_rows: pd.DataFrame | None = None,
    contrasts: Sequence[Contrast] | None = None,
    smoke: bool = False,
) -> ReduceOutputs:
    """Reduce a sweep's records into ``out_dir`` (see the module docstring for the files).

    Args:
        records: one record per grid point, any status (a partial sweep is reduced as it stands).
        lira_rows: LiRA audit rows (schema :data:`acadp.reduce.lira_tables.LIRA_COLUMNS`) or None.
        roc_curves: (audit label, attack) → (fpr, tpr) arrays for the ROC figure, or None.
        out_dir: the sweep's ``reduced/`` folder (created if needed).
        sweep_name: shown in the dashboard.
        thresholds: the success levels S* for the critical mass.
        n_boot: bootstrap resamples per (setting, arm) group.
        interpolation: how α* is interpolated (:mod:`acadp.reduce.critical_mass`).
        lift: also report α* on lift.
        provenance: key → value pairs shown in the dashboard's footer.
        search: the alpha search of a searched sweep (adds the critical-mass table's ``search`` column).
        one_run_rows: one row per stored one-run audit (:func:`acadp.sweep.one_run_audits.collect_one_run_rows`)
            or None.
        contrasts: the sweep file's ``reduce.contrasts`` (None: the defaults of :mod:`acadp.reduce.contrasts`).
        smoke: the records are a ``--smoke`` run's (every verdict is "not meaningful").
    """
    return reduce_frame(
        trials=trials_frame(records),
        epochs=epochs_frame(records),
        lira_rows=lira_rows,
        roc_curves=roc_curves,
        out_dir=out_dir,
        sweep_name=sweep_name,
        thresholds=thresholds,
        n_boot=n_boot,
        interpolation=interpolation,
        lift=lift,
        provenance=provenance,
        search=search,
        one_run_rows=one_run_rows,
        contrasts=contrasts,
        smoke=smoke,
    )


def dataset_sources(trials: pd.DataFrame) -> dict[str, str]:
    """``data <dataset>`` → ``<source>, sha256 <hash>`` from the completed trials' provenance, for the dashboard; a
    dataset whose trials read different data lists every source it saw (joined by " | ")."""
    seen: dict[str, dict[str, None]] = {}
    if "provenance" not in trials.columns:
        return {}
    for dataset, text in zip(trials["dataset"], trials["provenance"], strict=True):
        record = json.loads(text) if isinstance(text, str) and text else {}
        if "dataset_source" in record:
            entry = f"{record['dataset_source']}, sha256 {record.get('dataset_sha256', '')}"
            seen.setdefault(f"data {dataset}", {})[entry] = None
    return {key: " | ".join(entries) for key, entries in sorted(seen.items())}


def compute_tables(
    trials: pd.DataFrame,
    *,
    lira_rows: pd.DataFrame | None,
    thresholds: Sequence[float],
    n_boot: int,
    interpolation: Interpolation = "auto",
    lift: bool = False,
    search: SearchBounds | None = None,
    one_run_rows: pd.DataFrame | None = None,
    contrasts: Sequence[Contrast] | None = None,
    smoke: bool = False,
    epochs: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The reducer's tables by :data:`acadp.reduce.tables.TABLES` name (``lira`` and ``one_run`` only when rows are
    given); a searched sweep (``search``) gets a ``search`` column in the critical-mass table. ``contrasts`` and
    ``smoke`` as :func:`reduce_sweep`."""
    critical_mass = critical_mass_table(
        trials, thresholds=thresholds, n_boot=n_boot, interpolation=interpolation, lift=lift
    )
    if search is not None:
        critical_mass = with_search_column(critical_mass, trials, search)
    tables = {
        "success_curves": success_curves(trials, thresholds=thresholds),
        "critical_mass": critical_mass,
        "accuracy": accuracy_by_epsilon(trials, thresholds=thresholds),
    }
    seed_alpha = seed_alpha_table(trials, thresholds=thresholds, interpolation=interpolation, lift=lift)
    paired = contrast_table(seed_alpha, contrasts=contrasts, smoke=smoke)
    tables |= {"verdict": verdict_table(paired), "contrasts": paired, "seed_alpha_star": seed_alpha}
    if "worst_group_accuracy" in trials.columns and trials["worst_group_accuracy"].notna().any():
        tables["worst_group"] = seed_summary(trials, "worst_group_accuracy")  # datasets with groups only
    if lira_rows is not None and not lira_rows.empty:
        lira_rows, regime = split_regime(lira_rows)
        tables["lira"] = lira_table(lira_rows)
        claim = lira_claim_table(tables["lira"])
        if not claim.empty:
            tables["lira_claim"] = claim
            tables["lira_summary"] = lira_summary_table(tables["lira"], claim)
        if regime is not None:
            tables["lira_regime"] = regime
    if one_run_rows is not None and not one_run_rows.empty:
        tables["one_run"] = one_run_table(one_run_rows)
    tables |= text_tables(trials, critical_mass, epochs)  # token sweeps only (acadp.reduce.text)
    return tables


def reduce_frame(
    *,
    trials: pd.DataFrame,
    lira_rows: pd.DataFrame | None,
    roc_curves: RocCurves | None,
    out_dir: Path,
    sweep_name: str,
    thresholds: Sequence[float] = (0.5, 0.9),
    n_boot: int = 1000,
    interpolation: Interpolation = "auto",
    lift: bool = False,
    provenance: Mapping[str, str] | None = None,
    generated_at: datetime | None = None,
    search: SearchBounds | None = None,
    one_run_rows: pd.DataFrame | None = None,
    contrasts: Sequence[Contrast] | None = None,
    smoke: bool = False,
    epochs: pd.DataFrame | None = None,
) -> ReduceOutputs:
    """:func:`reduce_sweep` from an already collected trials table (:func:`acadp.reduce.collect.trials_frame`) and,
    for token sweeps, the epoch histories (:func:`acadp.reduce.text.epochs_frame`; None: no per-epoch outputs)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_trials_parquet(trials, out_dir / REDUCED.trials)]
    tables = compute_tables(
        trials, lira_rows=lira_rows, thresholds=thresholds, n_boot=n_boot, interpolation=interpolation, lift=lift,
        search=search, one_run_rows=one_run_rows, contrasts=contrasts, smoke=smoke, epochs=epochs,
    )  # fmt: skip
    notes = table_notes(n_boot=n_boot, interpolation=interpolation, thresholds=thresholds) | TEXT_NOTES
    notes |= contrast_notes(tables.get("contrasts"))
    for name, frame in tables.items():
        written.extend(write_table(name, frame, out_dir, note=notes.get(name, "")))
    figures = sweep_figures(trials, tables, roc_curves, interpolation=interpolation)
    for figure in figures:
        written.append(write_atomic(out_dir / REDUCED.figure(figure.name, "png"), figure.png))
        written.append(write_atomic(out_dir / REDUCED.figure(figure.name, "svg"), figure.svg))
        written.append(write_atomic(out_dir / REDUCED.figure(figure.name, "txt"), figure.text()))
    html = render_dashboard(
        sweep_name=sweep_name,
        trials=trials,
        figures=figures,
        tables=[
            DashboardTable(name, frame, notes.get(name, ""))
            for name, frame in tables.items()
            if name not in FILE_ONLY_TABLES
        ],
        provenance={**(provenance or {}), **dataset_sources(trials)},
        generated_at=generated_at,
        verdicts=tables["verdict"],
    )
    dashboard = write_atomic(out_dir / REDUCED.dashboard, html)
    written.append(dashboard)
    return ReduceOutputs(out_dir=out_dir, paths=tuple(written), dashboard=dashboard, tables=tables)


# longest file-name part a setting's label becomes: file systems refuse names over 255 bytes, and a setting that
# differs in many columns (a variant with its own model and recipe) has a long label
SLUG_LENGTH = 100


def file_slug(text: str) -> str:
    """``text`` as a file-name part: runs of other characters than letters, digits, ``.``, ``_`` and ``-`` become
    ``-``; a part longer than :data:`SLUG_LENGTH` keeps its start and ends with a hash of the whole text (so two
    settings never share a name)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "all"
    if len(slug) <= SLUG_LENGTH:
        return slug
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{slug[: SLUG_LENGTH - 11].rstrip('-')}-{digest}"


def _settings(frame: pd.DataFrame, keys: list[str]) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """``frame`` split by the setting keys: (key → value, rows) per setting, in sorted order."""
    if frame.empty:
        return []
    return [
        (dict(zip(keys, values if isinstance(values, tuple) else (values,), strict=True)), rows)
        for values, rows in frame.groupby(keys, dropna=False, sort=True)
    ]


# tables written as files but left off the dashboard (one row per seed: too long to read on a page)
FILE_ONLY_TABLES: frozenset[str] = frozenset({"seed_alpha_star", "epoch_curves"})
# figure stem → (table it is drawn from, plotting function, title prefix, caption of the rows drawn)
FIGURES: dict[str, tuple[str, Callable[..., Figure], str, Callable[[pd.DataFrame], str]]] = {
    "critical_mass": ("critical_mass", plot_critical_mass, "Critical mass α* vs ε", critical_mass_caption),
    "success_curves": ("success_curves", plot_success, "Success S(α) vs collective size", success_caption),
    "accuracy": ("accuracy", plot_accuracy, "Test accuracy vs ε", accuracy_caption),
}


def _fits(trials: pd.DataFrame, setting: Mapping[str, Any]) -> dict[str, LogisticFit]:
    """Arm → the logistic fit of S on log alpha over the setting's completed trials at alpha > 0 (the curve a
    dose-response sweep's alpha* is read off); arms with nothing to fit are left out."""
    frame = with_arm_columns(trials)
    mask = (frame["status"] == "completed") & frame["success"].notna() & (frame["alpha"] > 0)
    for key, value in setting.items():
        mask &= frame[key].isna() if pd.isna(value) else frame[key] == value
    fits = {}
    for arm, rows in frame[mask].groupby("arm", sort=False):
        fit = fit_logistic(rows["alpha"].to_numpy(float), rows["success"].to_numpy(float))
        if fit is not None:
            fits[str(arm)] = fit
    return fits


def _contrast_figures(contrasts: pd.DataFrame | None, keys: list[str]) -> list[FigureFile]:
    """The forest plot of each setting's contrasts (settings whose contrasts have no paired seed are left out)."""
    figures = []
    for setting, rows in _settings(contrasts if contrasts is not None else pd.DataFrame(), keys):
        if not (rows["n_seeds"] > 0).any():
            continue
        label = ", ".join(f"{value}" if key == "dataset" else f"{key}={value}" for key, value in setting.items())
        title = f"Paired contrasts Δα* — {label}"
        figure = plot_contrasts(rows, title=title)
        figures.append(
            figure_file(figure, name=f"contrasts_{file_slug(label)}", title=title, caption=contrasts_caption(rows))
        )
    return figures


def sweep_figures(
    trials: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    roc_curves: RocCurves | None,
    *,
    interpolation: Interpolation = "auto",
) -> list[FigureFile]:
    """All figures of a sweep: per setting alpha* vs epsilon (the headline figure), S(alpha) and accuracy vs
    epsilon; then the LiRA figures. Every figure carries a caption that states its intervals
    (:mod:`acadp.reduce.captions`).

    With ``interpolation`` logistic (a dose-response search) S(alpha) shows the mean at each alpha run as a point
    (one trial at most alphas) and each arm's fitted curve as its line. Nothing is drawn for a sweep without a
    completed trial (the dashboard says so).
    """
    figures: list[FigureFile] = []
    keys = setting_keys(trials)
    has_results = bool((tables["success_curves"]["n_seeds"] > 0).any()) if len(tables["success_curves"]) else False
    for stem, (table_name, plot, prefix, caption) in FIGURES.items() if has_results else ():
        for setting, rows in _settings(tables[table_name], keys):
            label = ", ".join(f"{value}" if key == "dataset" else f"{key}={value}" for key, value in setting.items())
            title = f"{prefix} — {label}"
            fitted = stem == "success_curves" and interpolation == "logistic"
            figure = plot(rows, title=title, fits=_fits(trials, setting)) if fitted else plot(rows, title=title)
            text = success_caption(rows, fitted=True) if fitted else caption(rows)
            figures.append(figure_file(figure, name=f"{stem}_{file_slug(label)}", title=title, caption=text))
    figures += _contrast_figures(tables.get("contrasts"), keys) if has_results else []
    figures += text_figures(dict(tables), trials, file_slug) if has_results else []  # token sweeps only
    lira = tables.get("lira")
    if "lira_summary" in tables:
        title = "LiRA AUC by collective size and member subset (headline attack and convention, over audited seeds)"
        figure = plot_lira_auc(tables["lira_summary"], title=title)
        text = lira_auc_caption(tables["lira_summary"])
        figures.append(figure_file(figure, name="lira_auc", title=title, caption=text))
    if roc_curves:
        figure = plot_roc(roc_curves)
        figures.append(
            figure_file(figure, name="lira_roc", title="LiRA ROC curves (log-log)", caption=roc_caption(lira))
        )
    return figures
