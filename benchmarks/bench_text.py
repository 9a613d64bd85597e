"""CPU and wall seconds of a text sweep's trials, and the sweep's projected time: one full trial per (setting, arm) of
the sweep file, at one alpha and seed, one at a time in this process (one torch thread, as the sweep's trials).

Usage: ``python benchmarks/bench_text.py [sweeps/text_planting.yaml] [--alpha 0.01] [--cores 2] [--overhead 2.5]``

Per setting it prints each arm's trial CPU seconds (process time), wall seconds and clean accuracy, then the sweep's
CPU total (every grid trial costed as its measured arm, plus ``--overhead`` CPU seconds per trial for the sweep's own
work: data preparation, reports, checkpoints) and that total over ``--cores`` cores. The data must be in the data
directory (``acadp data fetch tweets bbc_news minilm-l6``). On a shared machine wall seconds exceed CPU seconds by the
load; the projection is in CPU seconds.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from acadp.config.sweep import load_spec
from acadp.config.trial import TrialConfig
from acadp.trial.run import run_trial


def representative(configs: list[TrialConfig], alpha: float) -> dict[tuple[str, str], TrialConfig]:
    """One config per (setting, arm): the first grid trial at ``alpha`` (or the setting's largest alpha)."""
    chosen: dict[tuple[str, str], TrialConfig] = {}
    for config in sorted(configs, key=lambda c: (abs(c.alpha - alpha), c.seed)):
        chosen.setdefault((setting_of(config), config.arm), config)
    return chosen


def setting_of(config: TrialConfig) -> str:
    signal = config.signal.model_dump(exclude={"name"})
    return f"{config.dataset} {config.model.name} {config.strategy} {signal}"


def measure(config: TrialConfig) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, test accuracy) of one trial run to the end."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = run_trial(config, threads=1, download=False)
    return time.process_time() - cpu, time.perf_counter() - wall, result.test_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", nargs="?", default=str(Path(__file__).parents[1] / "sweeps" / "text_planting.yaml"))
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--overhead", type=float, default=2.5, help="CPU seconds of the sweep's own work per trial")
    args = parser.parse_args()
    configs = load_spec(args.sweep).trial_configs()
    counts = Counter((setting_of(c), c.arm) for c in configs)
    total = 0.0
    for (setting, arm), config in representative(configs, args.alpha).items():
        cpu, wall, accuracy = measure(config)
        n = counts[(setting, arm)]
        total += n * (cpu + args.overhead)
        print(f"{setting:70s} {arm:12s} cpu {cpu:6.1f} s  wall {wall:6.1f} s  accuracy {accuracy:.3f}  × {n} trials")
    minutes = total / 60
    print(f"{len(configs)} trials: {minutes:.0f} CPU minutes; {minutes / args.cores:.0f} min on {args.cores} cores")


if __name__ == "__main__":
    main()
