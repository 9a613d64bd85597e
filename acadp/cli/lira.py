"""``acadp lira``: a stand-alone LiRA audit of one configuration, shadows in parallel on a local Ray."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from acadp.config.describe import describe
from acadp.config.options import TrialOptions, build_trial_config, parse_clip, parse_number
from acadp.errors import SpecError

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
    queries: Annotated[str, typer.Option(help="Comma-separated: original,mirror")] = "original,mirror",
    attacks: Annotated[str | None, typer.Option(help="Comma-separated attack names (default: all four)")] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs of every shadow [preset]")] = None,
    lira_seed: Annotated[int, typer.Option(help="Seed of the keep matrix and the shadows' training")] = 0,
    concurrent_shadows: Annotated[int, typer.Option(help="Shadows trained at once (Ray actors + this process)")] = 2,
    cpus_per_shadow: Annotated[float, typer.Option(help="CPUs (threads) of each shadow")] = 1.0,
    out_dir: Annotated[Path, typer.Option(help="Where shadows and results are kept (resumable)")] = Path(
        "results/lira"
    ),
    data_dir: Annotated[Path | None, typer.Option(help="Dataset directory")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Audit one configuration with LiRA: AUC and TPR at 0.1% / 1% FPR per attack (mean ± std over targets)."""
    from acadp.lira.settings import DEFAULT_ATTACKS, AuditConfig, LiraSettings
    from acadp.store.results import ResultsStore
    from acadp.sweep.audit_runner import run_audit

    parsed_epsilon = parse_number(epsilon, option="--epsilon")
    trial = build_trial_config(
        TrialOptions(
            dataset=dataset, alpha=alpha, epsilon=parsed_epsilon, seed=seed, n_train=pool,
            clip=parse_clip(clip, epsilon=parsed_epsilon),
            training={"epochs": epochs} if epochs else {},
        )
    )  # fmt: skip
    try:
        settings = LiraSettings(
            shadows=shadows, pkeep=pkeep, pool=pool, seed=lira_seed, concurrent_shadows=concurrent_shadows,
            cpus_per_shadow=cpus_per_shadow, queries=tuple(q.strip() for q in queries.split(",")),
            attacks=tuple(a.strip() for a in attacks.split(",")) if attacks else DEFAULT_ATTACKS,
        )  # fmt: skip
        audit = AuditConfig(trial=trial, lira=settings)
    except ValidationError as error:
        raise SpecError(describe(error, prefix="lira options")) from None
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
    """The ``--json`` object: the audited point, and per attack and subset the metrics (mean ± std over targets)."""
    attacks: dict[str, dict[str, Any]] = {}
    for row in record["rows"]:
        metrics = {k: v for k, v in row.items() if k not in ("attack", "subset")}
        attacks.setdefault(row["attack"], {})[row["subset"]] = metrics
    return {
        "audit_key": record["audit_key"],
        "dataset": record["dataset"],
        "alpha": record["alpha"],
        "epsilon": record["epsilon"],
        "clip": record["clip"],
        "shadows": record["n_shadows"],
        "n_pool": record["n_pool"],
        "n_collective": record["n_collective"],
        "attacks": attacks,
        "seconds": record["seconds"],
    }


def _fmt(mean: float | None, std: float | None, spec: str) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    return f"{mean:{spec}}" + ("" if std is None else f" ± {std:{spec}}")


def _print(summary: dict[str, Any]) -> None:
    title = (
        f"LiRA on {summary['dataset']} α={summary['alpha']} ε={summary['epsilon']} "
        f"({summary['shadows']} shadows, pool {summary['n_pool']}, {summary['n_collective']} in the collective)"
    )
    table = Table("attack", "subset", "AUC", "TPR@0.1%FPR", "TPR@1%FPR", "ε lower bound", title=title)
    for attack, subsets in summary["attacks"].items():
        for subset, m in subsets.items():
            bound = m.get("epsilon_lower_bound")
            table.add_row(
                attack, subset, _fmt(m["auc_mean"], m["auc_std"], ".3f"),
                _fmt(m["tpr_at_0_1_fpr_mean"], m["tpr_at_0_1_fpr_std"], ".4f"),
                _fmt(m["tpr_at_1_fpr_mean"], m["tpr_at_1_fpr_std"], ".4f"), _fmt(bound, None, ".2f"),
            )  # fmt: skip
    Console().print(table)
