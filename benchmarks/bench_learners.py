"""Step time of DP-SGD per per-sample-gradient mode vs non-private SGD, wall time of the default mnist5k trial, and
training throughput (examples/s) of SGD and DP-SGD on full MNIST with the decomposition study's CNN and recipes.

Usage: ``python benchmarks/bench_learners.py [--threads 1 2] [--rounds 15] [--steps 10] [--skip-trials]
[--full-mnist-rounds 2]``

All variants run interleaved in the same rounds (so machine noise hits them alike); the figure for each is the median
over rounds of the mean step time. Ratios are taken within this one run. The full-MNIST section needs the ``mnist``
dataset (``acadp data fetch mnist``); it is skipped, with that command, when the data is missing.
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from opacus import PrivacyEngine
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.sweep import load_spec
from acadp.data import load_dataset
from acadp.errors import DataMissingError
from acadp.learners.bookkeeping import BookkeepingClipper
from acadp.models import CNNParams, ModelInputs, build_model
from acadp.runtime import pin_malloc_thresholds
from acadp.trial.data import prepare_trial_data
from acadp.trial.run import build_training_run, resolve_device, run_trial

BATCH = 256
SIGMA = 1.0
CLIP = 1.0


def mnist_batch() -> tuple[torch.Tensor, torch.Tensor, ModelInputs]:
    data = load_dataset("mnist5k")
    inputs = ModelInputs(data.input_shape, data.n_classes, data.channel_mean, data.channel_std)
    return torch.from_numpy(data.x_train[:BATCH]), torch.from_numpy(data.y_train[:BATCH]), inputs


def non_private_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    return step


def bookkeeping_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    """The same work as one step of BookkeepingDPShuffleRun: clip, add noise, divide, update."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    clipper = BookkeepingClipper(model, max_grad_norm=CLIP)
    generator = torch.Generator().manual_seed(0)
    params = list(model.parameters())

    def step() -> None:
        grads = clipper.clipped_sum(x, y).grads
        for param in params:
            noise = torch.normal(0.0, SIGMA * CLIP, param.shape, generator=generator)
            param.grad = (grads[param] + noise) / BATCH
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def opacus_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mode: str) -> Callable[[], None]:
    engine = PrivacyEngine(accountant="prv")
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH)
    wrapped = engine.make_private(
        module=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        data_loader=loader,
        criterion=nn.CrossEntropyLoss(),
        noise_multiplier=SIGMA,
        max_grad_norm=CLIP,
        poisson_sampling=False,
        grad_sample_mode=mode,
    )
    private_model, optimizer = wrapped[0], wrapped[1]
    criterion = wrapped[2] if mode == "ghost" else nn.CrossEntropyLoss()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        criterion(private_model(x), y).backward()
        optimizer.step()

    return step


def measure(
    steps: dict[str, Callable[[], None]], *, rounds: int, per_round: int, reference: str
) -> tuple[dict[str, float], dict[str, float]]:
    """Per variant: median over rounds of the mean step time (s), and median over rounds of the ratio to
    ``reference`` timed in the same round (variants interleaved, so a slow moment of a shared machine hits a whole
    round rather than one variant)."""
    for step in steps.values():  # warm-up
        for _ in range(3):
            step()
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(per_round):
                step()
            samples[name].append((time.perf_counter() - start) / per_round)
    times = {name: statistics.median(values) for name, values in samples.items()}
    ratios = {
        name: statistics.median(v / r for v, r in zip(values, samples[reference], strict=True))
        for name, values in samples.items()
    }
    return times, ratios


def step_times(rounds: int, per_round: int) -> None:
    x, y, inputs = mnist_batch()
    base = build_model(CNNParams(), inputs, seed=0)
    variants: dict[str, Callable[[], None]] = {
        "non-private SGD": non_private_step(copy.deepcopy(base), x, y),
        "DP bookkeeping": bookkeeping_step(copy.deepcopy(base), x, y),
    }
    for mode in ("hooks", "functorch", "ew", "ghost"):
        variants[f"DP opacus {mode}"] = opacus_step(copy.deepcopy(base), x, y, mode)
    times, ratios = measure(variants, rounds=rounds, per_round=per_round, reference="non-private SGD")
    print(f"MNIST CNN, batch {BATCH}, {torch.get_num_threads()} threads, median of {rounds} rounds × {per_round} steps")
    print(f"{'variant':<22}{'ms/step':>10}{'× non-private':>16}")
    for name, seconds in times.items():
        print(f"{name:<22}{seconds * 1e3:>10.2f}{ratios[name]:>16.2f}")
    print(f"chosen mode: bookkeeping, DP/non-private = {ratios['DP bookkeeping']:.2f} (goal <= 1.3)")


def trial_times() -> None:
    print("\nmnist5k trial at the preset defaults (alpha 0.05, seed 0), wall time including sigma search and eval:")
    for epsilon in (math.inf, 8.0, 1.0):
        config = build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.05, epsilon=epsilon, seed=0))
        start = time.perf_counter()
        result = run_trial(config)
        wall = time.perf_counter() - start
        print(
            f"  epsilon={epsilon:<4g} {config.training.epochs} epochs, batch {config.training.batch_size}: "
            f"{wall:6.1f} s  (accuracy {result.test_accuracy:.3f}, success {result.success:.3f})"
        )


DECOMPOSITION = Path(__file__).resolve().parents[1] / "sweeps" / "mnist_decomposition.yaml"
THROUGHPUT_ARMS = ("SGD [tuned]", "SGD", "clip C=1", "DP ε=2 C=1")


def full_mnist_throughput(rounds: int) -> None:
    """One training epoch per arm and round (arms interleaved), at α = 0.01 and seed 0 of the decomposition sweep:
    examples/s = examples drawn in the epoch / its wall time (no evaluation, no σ search). Median over rounds."""
    configs = {config.arm: config for config in load_spec(DECOMPOSITION).trial_configs() if config.seed == 0}
    configs = {arm: configs[arm].model_copy(update={"alpha": 0.01}) for arm in THROUGHPUT_ARMS}
    try:
        data = {arm: prepare_trial_data(config, download=False) for arm, config in configs.items()}
    except DataMissingError as error:
        print(f"\nfull MNIST throughput skipped: {error}")
        return
    device = resolve_device("cpu")
    runs = {arm: build_training_run(config, data[arm], device) for arm, config in configs.items()}
    samples: dict[str, list[float]] = {arm: [] for arm in runs}
    for _ in range(rounds):
        for arm, run in runs.items():
            start = time.perf_counter()
            stats = run.train_epoch()
            samples[arm].append(stats.examples / (time.perf_counter() - start))
    n_train = len(next(iter(data.values())).planted.y)
    print(
        f"\nfull MNIST ({n_train} training digits), decomposition CNN, {torch.get_num_threads()} threads, "
        f"one epoch per arm and round, median of {rounds} rounds:"
    )
    print(f"{'arm':<14}{'recipe':<34}{'examples/s':>12}{'× SGD':>8}")
    reference = statistics.median(samples["SGD"])
    for arm, values in samples.items():
        training = configs[arm].training
        recipe = f"{training.sampling} b{training.batch_size} lr {training.lr:g}"
        rate = statistics.median(values)
        print(f"{arm:<14}{recipe:<34}{rate:>12,.0f}{rate / reference:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--skip-trials", action="store_true")
    parser.add_argument("--full-mnist-rounds", type=int, default=2, help="0 skips the full-MNIST throughput")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    pin_malloc_thresholds()  # as every trial does (see acadp.runtime)
    for threads in args.threads:
        torch.set_num_threads(threads)
        step_times(args.rounds, args.steps)
        print()
    torch.set_num_threads(max(args.threads))
    if not args.skip_trials:
        trial_times()
    if args.full_mnist_rounds > 0:
        full_mnist_throughput(args.full_mnist_rounds)


if __name__ == "__main__":
    main()
