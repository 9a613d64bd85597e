"""``acadp lira``: a stand-alone LiRA audit of one configuration, shadows in parallel on a local Ray."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console(stderr=True)


def lira(
    dataset: Annotated[str, typer.Option(help="Dataset name")] = "mnist5k",
    alpha: Annotated[float, typer.Option(help="Collective fraction alpha")] = 0.0,
    epsilon: Annotated[str, typer.Option(help="Target epsilon of the audited learner; 'inf' = non-private")] = "inf",
    clip: Annotated[
        str | None, typer.Option(help="Clipping norm C or 'none'; default: 1 with a finite epsilon, none with inf")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the audited point (its collective)")] = 0,
    shadows: Annotated[int, typer.Option(help="Number of shadow models")] = 16,
    pkeep: Annotated[float, typer.Option(help="Fraction of the pool each shadow trains on")] = 0.5,
    pool: Annotated[int | None, typer.Option(help="Audit pool size (default: the whole training set)")] = None,
    queries: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated, e.g. original,mirror (mirror needs flip; shift_up, shift_down, shift_left, "
            "shift_right need shift); default: follow training, the original plus the views of its augmentations"
        ),
    ] = None,
    set_training: Annotated[
        list[str] | None,
        typer.Option("--set", help="A training field of the audited learner KEY=VALUE, e.g. augment=flip,shift"),
    ] = None,
    attacks: Annotated[str | None, typer.Option(help="Comma-separated attack names (default: all four)")] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs of every shadow [preset]")] = None,
    lira_seed: Annotated[int, typer.Option(help="Seed of the keep matrix and the shadows' training")] = 0,
    placebo_alpha: Annotated[
        float | None,
        typer.Option(
            help="At --alpha 0: also report the examples this seed would draw as the collective at this alpha"
        ),
    ] = None,
    concurrent_shadows: Annotated[int, typer.Option(help="Shadows trained at once (Ray actors + this process)")] = 2,
    cpus_per_shadow: Annotated[float, typer.Option(help="CPUs (threads) of each shadow")] = 1.0,
    out_dir: Annotated[Path, typer.Option(help="Where shadows and results are kept (resumable)")] = Path(
        "results/lira"
    ),
    data_dir: Annotated[Path | None, typer.Option(help="Dataset directory")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Audit one configuration with LiRA: AUC and TPR at 0.1% / 1% FPR per attack, leave-one-out convention and
    member subset (mean ± std over targets), and the per-target ε lower bound; the headline row first."""
    from pydantic import ValidationError

    from acadp.config.describe import describe
    from acadp.config.lira import DEFAULT_ATTACKS, AuditConfig, LiraSettings
    from acadp.config.options import TrialOptions, build_trial_config, parse_clip, parse_number, training_settings
    from acadp.errors import SpecError
    from acadp.store.results import ResultsStore

    parsed_epsilon = parse_number(epsilon, option="--epsilon")
    trial = build_trial_config(
        TrialOptions(
            dataset=dataset, alpha=alpha, epsilon=parsed_epsilon, seed=seed, n_train=pool,
            clip=parse_clip(clip, epsilon=parsed_epsilon),
            training=training_settings(set_training or [], epochs=epochs),
        )
    )  # fmt: skip
    try:
        settings = LiraSettings(
            shadows=shadows, pkeep=pkeep, pool=pool, seed=lira_seed, concurrent_shadows=concurrent_shadows,
            cpus_per_shadow=cpus_per_shadow,
            queries=tuple(q.strip() for q in queries.split(",")) if queries else None,
            attacks=tuple(a.strip() for a in attacks.split(",")) if attacks else DEFAULT_ATTACKS,
            placebo_alpha=placebo_alpha,
        )  # fmt: skip
        audit = AuditConfig(trial=trial, lira=settings)
    except ValidationError as error:
        raise SpecError(describe(error, prefix="lira options")) from None
    from acadp.sweep.audit_runner import run_audit  # torch and Ray: only once the options are valid

    if concurrent_shadows > 1:
        _init_local_ray()
    record = run_audit(audit, store=ResultsStore(out_dir), data_dir=data_dir)
    summary = lira_summary(record)
    if as_json:
        print(json.dumps(summary, sort_keys=True))
        return
    _print(summary)


def _init_local_ray() -> None:
    import logging

    import ray

    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)


def lira_summary(record: dict[str, Any]) -> dict[str, Any]:
    """The ``--json`` object: the audited point, the shadows' regime (:class:`acadp.lira.results.ShadowRegime`; None
    for audits stored before it was recorded), the headline row, and per attack, convention and subset the metrics
    (``attacks[attack][convention][subset]``)."""
    from acadp.lira.results import is_headline

    attacks: dict[str, dict[str, dict[str, Any]]] = {}
    for row in record["rows"]:
        metrics = {k: v for k, v in row.items() if k not in ("attack", "convention", "subset")}
        attacks.setdefault(row["attack"], {}).setdefault(row["convention"], {})[row["subset"]] = metrics
    return {
        "audit_key": record["audit_key"],
        "dataset": record["dataset"],
        "alpha": record["alpha"],
        "epsilon": record["epsilon"],
        "clip": record["clip"],
        "shadows": record["n_shadows"],
        "n_pool": record["n_pool"],
        "n_collective": record["n_collective"],
        "confidence": record["audit"]["lira"]["confidence"],
        "shadow_regime": record.get("shadow_regime"),
        "headline": next((row for row in record["rows"] if is_headline(row)), None),
        "attacks": attacks,
        "seconds": record["seconds"],
    }


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fmt(mean: float | None, std: float | None, spec: str) -> str:
    if _missing(mean):
        return "n/a"
    return f"{mean:{spec}}" + ("" if _missing(std) else f" ± {std:{spec}}")


def _tpr(m: dict[str, Any], prefix: str, target_fpr: float) -> str:
    """Mean ± std over the targets where the TPR is defined, or why it is undefined (acadp.lira.metrics)."""
    from acadp.lira.results import min_non_members

    defined, total = m[f"n_targets_{prefix}"], m["n_targets"]
    if not defined:
        return f"undefined (< {min_non_members(target_fpr)} non-members)"
    cell = _fmt(m[f"{prefix}_mean"], m[f"{prefix}_std"], ".4f")
    return cell if defined == total else f"{cell} ({defined} of {total} targets)"


def _cells(m: dict[str, Any]) -> list[str]:
    """One table row's metric cells."""
    ci = "n/a" if _missing(m["auc_ci_low"]) else f"[{m['auc_ci_low']:.3f}, {m['auc_ci_high']:.3f}]"
    return [
        f"{m['n_members_min']} / {m['n_non_members_min']}", _fmt(m["auc_mean"], m["auc_std"], ".3f"), ci,
        _tpr(m, "tpr_at_0_1_fpr", 0.001), _tpr(m, "tpr_at_1_fpr", 0.01),
        f"{_fmt(m['epsilon_lower_bound'], None, '.2f')} ({m['epsilon_n_targets']} targets)",
    ]  # fmt: skip


def regime_line(regime: dict[str, Any] | None) -> str:
    """One line stating the regime the shadows trained in (means over shadows; ε also the largest)."""
    from acadp.lira.results import json_number

    if regime is None:
        return "shadows' regime: not recorded (audit saved before it was)"
    r = {name: json_number(value) for name, value in regime.items()}
    return (
        f"shadows' regime (mean of {r['n_shadows']}): {r['n_train_mean']:.1f} training examples, "
        f"q={r['sample_rate_mean']:.4g}, σ={r['noise_multiplier_mean']:.4g}, {r['steps_mean']:.1f} steps, "
        f"ε spent {r['epsilon_spent_mean']:.4g} (max {r['epsilon_spent_max']:.4g}), "
        f"train accuracy {r['train_accuracy_mean']:.3f}, test accuracy {r['test_accuracy_mean']:.3f}"
    )


def _print(summary: dict[str, Any]) -> None:
    title = (
        f"LiRA on {summary['dataset']} α={summary['alpha']} ε={summary['epsilon']} "
        f"({summary['shadows']} shadows, pool {summary['n_pool']}, {summary['n_collective']} in the collective); "
        f"first row = headline; ε lower bound at {summary['confidence']:g} confidence, one member and one non-member "
        f"decision per judged target"
    )
    from rich.table import Table

    table = Table(
        "attack", "convention", "subset", "members / non-members (min)", "AUC", "AUC 95% CI", "TPR@0.1%FPR",
        "TPR@1%FPR", "ε lower bound", title=title,
    )  # fmt: skip
    for attack, conventions in summary["attacks"].items():
        for convention, subsets in conventions.items():
            for subset, m in subsets.items():
                table.add_row(attack, convention, subset, *_cells(m))
    out = Console()
    out.print(table)
    out.print(regime_line(summary.get("shadow_regime")), soft_wrap=True)
