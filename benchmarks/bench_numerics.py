"""How chaotic a sweep's points are: each point trained as the sweep trains it (one torch thread), with other torch
thread counts, and from initial weights perturbed by a relative ``--epsilon`` (w ← w·(1 + ε·z), z ~ N(0, 1), a
seeded draw per perturbation), everything else (data, collective, batches, noise) unchanged.

Usage::

    python benchmarks/bench_numerics.py sweeps/fair_vs_private.yaml --point GDRO:0.005:0 --point SGD:0.005:0
    python benchmarks/bench_numerics.py sweeps/quickstart.yaml --point "DP ε=8 C=1:0.05:0" --threads 1 2 4

``--point ARM:ALPHA:SEED`` names a grid point by its arm label (as in the tables: ``SGD``, ``GDRO``, ``DP ε=8 C=1``),
α and seed. One row per run (S, clean accuracy, base rate, seconds), then per point the spread of S over all its runs.
Each run is one trial of the point (minutes on a CPU for the shipped sweeps): keep the list short.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

import acadp.trial.run as trial_run
from acadp.config.trial import TrialConfig
from acadp.sweep.plan import plan_sweep
from acadp.trial.data import prepare_trial_data
from acadp.trial.run import run_trial


def _point(plan_configs: tuple[TrialConfig, ...], text: str) -> TrialConfig:
    arm, alpha, seed = text.rsplit(":", 2)
    for config in plan_configs:
        if config.arm == arm and config.alpha == float(alpha) and config.seed == int(seed):
            return config
    arms = sorted({config.arm for config in plan_configs})
    raise SystemExit(f"--point {text}: no grid point with that arm, alpha and seed (arms: {', '.join(arms)})")


@contextmanager
def _perturbed_initialisation(epsilon: float, seed: int) -> Iterator[None]:
    """Models built meanwhile start from weights multiplied by (1 + ε·z), z a standard normal draw of ``seed``."""
    build = trial_run.build_model

    def perturbed(*args: object, **kwargs: object) -> torch.nn.Module:
        model = build(*args, **kwargs)  # type: ignore[arg-type]
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for param in model.parameters():
                param.mul_(1 + epsilon * torch.randn(param.shape, generator=generator))
        return model

    trial_run.build_model = perturbed  # type: ignore[assignment]
    try:
        yield
    finally:
        trial_run.build_model = build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--point", action="append", required=True, help="ARM:ALPHA:SEED (repeat for more points)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts (first: reference)")
    parser.add_argument("--perturbed", type=int, default=2, help="perturbed initialisations per point (1 thread)")
    parser.add_argument("--epsilon", type=float, default=1e-6, help="relative size of the weight perturbation")
    options = parser.parse_args()
    plan = plan_sweep(options.sweep, storage="unused")
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(f"{'point':<28} {'run':<18} {'S':>7} {'acc':>7} {'base':>7} {'s':>6}")
    for text in options.point:
        config = _point(plan.configs, text)
        data = prepare_trial_data(config)
        runs: list[tuple[str, int, int | None]] = [(f"{n} thread(s)", n, None) for n in options.threads]
        runs += [(f"perturbed #{i} (1 t)", 1, i) for i in range(options.perturbed)]
        successes = []
        for name, threads, perturbation in runs:
            began = time.perf_counter()
            if perturbation is None:
                result = run_trial(config, data=data, threads=threads, device="cpu")
            else:
                with _perturbed_initialisation(options.epsilon, seed=perturbation):
                    result = run_trial(config, data=data, threads=threads, device="cpu")
            successes.append(result.success)
            seconds = time.perf_counter() - began
            print(
                f"{text:<28} {name:<18} {result.success:7.3f} {result.test_accuracy:7.3f} {result.base_rate:7.3f} "
                f"{seconds:6.0f}",
                flush=True,
            )
        print(f"{text:<28} {'spread of S':<18} {max(successes) - min(successes):7.3f}", flush=True)


if __name__ == "__main__":
    main()
