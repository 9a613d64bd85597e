"""The numerical environment (torch, thread count, CPU instruction set, device) is recorded with every result, and a
sweep refuses to mix results of different ones, in its driver and in its reducer, with one line saying what to do."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from rich.console import Console

from acadp.config.options import TrialOptions, build_trial_config
from acadp.errors import MixedNumericsError
from acadp.store.layout import LAYOUT
from acadp.store.provenance import numerical_environment, refuse_mixed_numerics
from acadp.store.results import ResultsStore
from acadp.sweep.driver import run_sweep
from acadp.sweep.plan import plan_sweep
from acadp.sweep.reducing import reduce_plan
from acadp.trial.run import run_trial

from .helpers import write_sweep

ONE = numerical_environment(threads=1)
TWO = numerical_environment(threads=2)


def test_a_result_records_the_thread_count_it_was_computed_with() -> None:
    config = build_trial_config(
        TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=math.inf, n_train=100, n_test=50, training={"epochs": 1})
    )
    for threads, expected in ((1, ONE), (2, TWO)):
        numerics = run_trial(config, threads=threads).provenance["numerics"]
        assert numerics == expected and f"{threads} thread" in numerics and numerics.endswith(", cpu")


def test_one_environment_passes_and_two_are_refused_with_their_counts() -> None:
    refuse_mixed_numerics({}, where="s", planned=ONE)
    refuse_mixed_numerics({"a": ONE, "b": ONE}, where="s", planned=ONE)
    with pytest.raises(
        MixedNumericsError, match=rf"^s: results from 2 numerical .*2 trials with {re.escape(ONE)}; 1 trial "
    ):
        refuse_mixed_numerics({"a": ONE, "b": ONE, "c": TWO}, where="s")
    with pytest.raises(MixedNumericsError, match=r"this run would compute the rest with .*2 threads.*resources\.cpus"):
        refuse_mixed_numerics({"a": ONE}, where="s", planned=TWO)


def test_the_driver_and_the_reducer_refuse_a_sweep_whose_results_would_mix(tmp_path: Path) -> None:
    grid = {"alpha": [0.0, 0.2], "epsilon": ["inf"], "clip": ["none"], "arms": ["sgd"], "seed": [0]}
    spec = write_sweep(tmp_path / "mixed.yaml", name="mixed", grid=grid)
    plan = plan_sweep(spec, storage=str(tmp_path / "store"))
    store = ResultsStore(plan.location)
    for config, threads in zip(plan.configs, (1, 2), strict=True):  # as if resources.cpus changed between runs
        result = run_trial(config, threads=threads)
        store.write_json(LAYOUT.trial(config.key()).result, result.to_json())
    with pytest.raises(MixedNumericsError, match=r"results from 2 numerical environments"):
        reduce_plan(plan)
    with pytest.raises(MixedNumericsError, match=r"results from 2 numerical environments"):
        run_sweep(plan, console=Console(quiet=True))
    assert not store.exists(LAYOUT.spec) and not store.exists("reduced"), "refused before anything was written"
