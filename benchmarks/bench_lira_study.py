"""What a LiRA study sweep costs before it runs: CPU seconds of one shadow of each audited recipe, of scoring one
audit's variants, and the sweep's total on the given cores.

Usage::

    python benchmarks/bench_lira_study.py [sweeps/lira_collective.yaml] [--cores 2]

For every distinct audited recipe of the sweep (its arm and training, at α = 0) one shadow trains on one thread in
this process, on the pool the sweep's audits use, exactly as an audit's shadow would (data already prepared). Scoring
is one audit's variants on random logits of the audit's shape. The estimate multiplies: every audit's shadows (and
its clean twin's, when the sweep does not audit the twin itself), every grid trial and every one-run audit cost one
such model each (a one-run audit trains one model; a grid trial about as long as a shadow). It leaves out the sweep's
start (Ray, MLflow: seconds) and reducing. CPU seconds, not wall time: on a machine shared with other work the wall
time is longer by the share of the cores the sweep gets.
"""

from __future__ import annotations

import argparse
import resource
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from acadp.config.lira import AuditConfig
from acadp.config.sweep import load_spec
from acadp.lira.audit import AuditViews, score_variants
from acadp.lira.keep import balanced_keep_matrix
from acadp.lira.shadow import prepare_pool, stream_seed, train_shadow
from acadp.runtime import pin_malloc_thresholds


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def recipe_of(audit: AuditConfig) -> tuple[str, str]:
    """(arm, training) of an audit: shadows of one recipe cost alike whatever α and seed."""
    return audit.trial.arm, audit.trial.training.model_dump_json()


def one_shadow(audit: AuditConfig) -> float:
    """CPU seconds of shadow 0 of ``audit``, trained and queried on one thread."""
    pool = prepare_pool(audit)
    n_pool = int(pool.planted.y.shape[0])
    keep = balanced_keep_matrix(
        n_models=audit.lira.shadows, n_examples=n_pool, pkeep=audit.lira.pkeep, seed=stream_seed(audit)
    )
    started = cpu_seconds()
    train_shadow(audit, pool, index=0, keep_row=keep[0], device=torch.device("cpu"))
    return cpu_seconds() - started


def scoring(audit: AuditConfig, n_pool: int) -> float:
    """CPU seconds of scoring every variant of ``audit`` on random logits of its shape (10 classes)."""
    rng = np.random.default_rng(0)
    shape = (audit.lira.shadows, n_pool, len(audit.queries), 10)
    labels = rng.integers(0, 10, n_pool)
    views = AuditViews(
        logits=rng.normal(size=shape), labels=labels, original_labels=labels, planted=np.zeros(n_pool, bool),
        signal=rng.normal(size=shape), clean=rng.normal(size=shape), clean_signal=rng.normal(size=shape),
    )  # fmt: skip
    keep = balanced_keep_matrix(n_models=audit.lira.shadows, n_examples=n_pool, pkeep=audit.lira.pkeep, seed=0)
    started = cpu_seconds()
    score_variants(
        views, keep=keep, collective=np.zeros(n_pool, bool), attacks=audit.lira.attacks,
        variants=audit.lira.variants, delta=audit.trial.delta,
    )  # fmt: skip
    return cpu_seconds() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", nargs="?", type=Path, default=Path("sweeps/lira_collective.yaml"))
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    pin_malloc_thresholds()
    spec = load_spec(args.sweep)
    audits = spec.audit_configs()
    keys = {audit.key() for audit in audits}
    twins = {twin.key(): twin for audit in audits if (twin := audit.clean_twin()) and twin.key() not in keys}
    shadows = Counter(recipe_of(audit) for audit in [*audits, *twins.values()])
    per_shadow: dict[tuple[str, str], float] = {}
    for recipe in shadows:
        example = next(a for a in audits if recipe_of(a) == recipe)
        per_shadow[recipe] = one_shadow(example)
        print(f"{recipe[0]:<28} one shadow: {per_shadow[recipe]:6.1f} CPU s   ({shadows[recipe]} audits)")
    score = scoring(audits[0], n_pool=int(audits[0].trial.n_train or 0))
    print(f"{'scoring one audit':<28} {len(audits[0].lira.variants)} variants: {score:6.1f} CPU s")
    models = {r: shadows[r] * audits[0].lira.shadows for r in shadows}
    for config in [*spec.trial_configs(), *(o.trial for o in spec.one_run_configs())]:
        recipe = (config.arm, config.training.model_dump_json())
        models[recipe] = models.get(recipe, 0) + 1
    total = sum(count * per_shadow.get(recipe, max(per_shadow.values())) for recipe, count in models.items())
    total += score * len(audits)
    print(
        f"{args.sweep}: {sum(models.values())} models, ≈ {total:,.0f} CPU s ≈ {total / args.cores / 3600:.2f} h on "
        f"{args.cores} cores"
    )


if __name__ == "__main__":
    main()
