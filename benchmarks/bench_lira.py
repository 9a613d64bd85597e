"""LiRA figures: wall time of 16 shadows vs one shadow on the same resources, and the quickstart's AUC table.

Usage::

    python benchmarks/bench_lira.py [--pool 4000] [--cpus 2] [--results results]

Both timings include everything an audit pays: preparing the pool, starting workers, training, querying. "One
shadow" is one shadow trained in one process with all ``--cpus`` threads (the best a single model can do with those
resources); "16 shadows" is ``run_audit``'s shadow stage with ``--cpus`` concurrent shadows of one CPU each (this
process and Ray actors). Goal: ≤ 10×.
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
import torch

from acadp.config.lira import AuditConfig, LiraSettings
from acadp.config.options import TrialOptions, build_trial_config
from acadp.lira.keep import balanced_keep_matrix
from acadp.lira.shadow import prepare_pool, train_shadow
from acadp.runtime import pin_malloc_thresholds
from acadp.store.results import ResultsStore
from acadp.sweep.audit_runner import train_shadows


def audit_config(pool: int, shadows: int, cpus: int) -> AuditConfig:
    trial = build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.0, epsilon=math.inf, n_train=pool))
    return AuditConfig(trial=trial, lira=LiraSettings(shadows=shadows, pool=pool, concurrent_shadows=cpus))


def one_shadow(config: AuditConfig, threads: int) -> float:
    start = time.perf_counter()
    torch.set_num_threads(threads)
    pool = prepare_pool(config)
    keep = balanced_keep_matrix(n_models=config.lira.shadows, n_examples=pool.planted.y.shape[0], pkeep=0.5, seed=0)
    train_shadow(config, pool, index=0, keep_row=keep[0], device=torch.device("cpu"))
    return time.perf_counter() - start


def sixteen_shadows(config: AuditConfig, store: ResultsStore) -> float:
    start = time.perf_counter()
    train_shadows(config, store=store, data_dir=None, device="cpu")
    return time.perf_counter() - start


def auc_table(results: Path) -> None:
    table = results / "quickstart" / "reduced" / "lira.md"
    if table.exists():
        print(f"\nquickstart LiRA audits ({table}):\n")
        print(table.read_text())
    else:
        print(f"\n(no {table}: run `acadp sweep run sweeps/quickstart.yaml` first for the quickstart AUC table)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=4000, help="audit pool size (default: mnist5k's training set)")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--results", type=Path, default=Path("results"))
    args = parser.parse_args()
    pin_malloc_thresholds()
    config = audit_config(args.pool, 16, args.cpus)
    single = one_shadow(config, threads=args.cpus)
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="acadp-lira-bench-") as tmp:
        many = sixteen_shadows(config, ResultsStore(tmp))
        logits = np.load(next(Path(tmp).glob("audits/*/shadows/000/logits.npy")))
    print(f"mnist5k, pool {args.pool} (shadows train on {args.pool // 2}), non-private preset, {args.cpus} CPUs")
    print(f"one shadow ({args.cpus} threads, one process): {single:.1f} s")
    print(f"16 shadows ({args.cpus} concurrent, 1 thread each): {many:.1f} s")
    print(f"ratio 16 / 1 = {many / single:.2f} (goal <= 10); logits per shadow {logits.shape}")
    auc_table(args.results)


if __name__ == "__main__":
    main()
