"""``acadp sweep plan``: what a sweep file will run, what the store already holds, and a wall-time estimate from stored
timings of the same recipe (this sweep's or a sibling's under the same storage), or from a probe when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from acadp.store.results import ResultsStore
from acadp.sweep.plan import plan_sweep
from acadp.sweep.preview import RAY_START_SECONDS, preview

from .stores import complete, interrupt, run_search, sweep_file

ACADP = str(Path(sys.executable).with_name("acadp"))


def plan_json(spec: Path, storage: Path, *extra: str) -> dict:
    done = subprocess.run(
        [ACADP, "sweep", "plan", str(spec), "--storage", str(storage), "--json", *extra],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_sweep_that_never_ran_is_planned_without_creating_anything(tmp_path: Path) -> None:
    spec, storage = sweep_file(tmp_path, name="fresh"), tmp_path / "store"
    outline = plan_json(spec, storage)
    assert outline["trials"] == 18 and outline["completed"] == 0  # 3 alphas × 3 arms × 2 seeds
    assert [(arm["label"], arm["trials"], arm["kind"]) for arm in outline["arms"]] == [
        ("mnist5k DP ε=8 C=1", 6, "dpsgd"), ("mnist5k SGD", 6, "sgd"), ("mnist5k clip C=1", 6, "clip"),
    ]  # fmt: skip
    assert (outline["audits"], outline["shadows"], outline["one_runs"]) == (1, 4, 0)
    assert outline["estimate"]["missing"] == [arm["label"] for arm in outline["arms"]]
    assert outline["estimate"]["wall_seconds"] == 0
    assert not storage.exists()


def test_the_estimate_comes_from_the_stored_trials_of_each_arm(tmp_path: Path) -> None:
    spec, storage = sweep_file(tmp_path, name="half"), tmp_path / "store"
    plan = plan_sweep(spec, storage=str(storage))
    store = plan.open_store()
    seconds = {"sgd": 10.0, "clip": 20.0, "dpsgd": 40.0}
    sgd = [c for c in plan.configs if c.arm_kind == "sgd"]
    for config in plan.configs:
        if config.alpha == 0.0 or config.arm_kind == "sgd":  # SGD complete, the others at alpha 0 only
            complete(store, config, seconds=seconds[config.arm_kind])
    interrupt(store, next(c for c in plan.configs if c.arm_kind == "clip" and c.alpha > 0), epochs_done=1)
    outline = preview(plan)
    arms = {arm.kind: arm for arm in outline.arms}
    assert (arms["sgd"].completed, arms["sgd"].to_run, arms["sgd"].seconds) == (len(sgd), 0, 10.0)
    assert (arms["clip"].completed, arms["clip"].to_run, arms["clip"].started) == (2, 4, 1)
    assert arms["dpsgd"].seconds == 40.0 and arms["dpsgd"].timing == "2 stored"
    trials = 4 * 20.0 + 4 * 40.0
    audits = 4 * 0.5 * 10.0  # 4 shadows of the SGD arm at pkeep 0.5
    assert outline.estimate["trial_seconds"] == trials and outline.estimate["audit_seconds"] == audits
    slots = os.cpu_count() or 1  # one CPU per trial
    assert outline.estimate["wall_seconds"] == pytest.approx((trials + audits) / slots + RAY_START_SECONDS)
    assert outline.estimate["missing"] == []


def test_a_sibling_sweep_of_the_same_recipe_lends_its_timings(tmp_path: Path) -> None:
    storage = tmp_path / "store"
    done = plan_sweep(sweep_file(tmp_path, name="done"), storage=str(storage))
    for config in done.configs:
        if config.arm_kind == "sgd":
            complete(done.open_store(), config, seconds=7.0)
    other = sweep_file(tmp_path, name="other")  # the same recipe under another name: no results of its own
    outline = plan_json(other, storage)
    arms = {arm["kind"]: arm for arm in outline["arms"]}
    assert arms["sgd"]["seconds"] == 7.0 and arms["sgd"]["completed"] == 0 and arms["sgd"]["timing"] == "6 stored"
    assert arms["clip"]["seconds"] is None and outline["estimate"]["missing"] == [
        arms["dpsgd"]["label"], arms["clip"]["label"],
    ]  # fmt: skip
    # a single trial saved by `acadp trial` under the storage root (results/trials/<key>/) lends its time too
    complete(ResultsStore(storage), next(c for c in done.configs if c.arm_kind == "clip"), seconds=11.0)
    assert {arm["kind"]: arm["seconds"] for arm in plan_json(other, storage)["arms"]}["clip"] == 11.0
    # another recipe (more epochs) is not the same arm: its trials lend nothing
    longer = sweep_file(tmp_path, name="longer", datasets={"mnist5k": {"n_train": 300, "training": {"epochs": 4}}})
    assert all(arm["seconds"] is None for arm in plan_json(longer, storage)["arms"])


def test_a_search_is_planned_as_at_most_its_budget(tmp_path: Path) -> None:
    spec, storage = sweep_file(tmp_path, name="searched", search=True), tmp_path / "store"
    assert plan_json(spec, storage)["trials"] == 14  # 2 arms × budget 7
    plan = plan_sweep(spec, storage=str(storage))
    run_search(plan)
    outline = plan_json(spec, storage)
    assert outline["searched"] and outline["estimate"]["bounded"]
    assert all(arm["completed"] <= arm["trials"] == 7 for arm in outline["arms"])
    assert outline["completed"] == len(list((storage / "searched" / "trials").iterdir()))


def test_the_text_states_where_the_estimate_comes_from(tmp_path: Path) -> None:
    spec, storage = sweep_file(tmp_path, name="text"), tmp_path / "store"
    plan = plan_sweep(spec, storage=str(storage))
    complete(plan.open_store(), plan.configs[0], seconds=30.0)
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run(
        [ACADP, "sweep", "plan", str(spec), "--storage", str(storage)], capture_output=True, text=True, env=env,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 stored" in done.stdout and "estimate: ≈" in done.stdout
    assert "mean time of stored trials of the same recipe and arm" in done.stdout
    assert "not counted (no timing): mnist5k SGD, mnist5k clip C=1 — `--probe` times them" in done.stdout


def test_a_probe_times_an_arm_without_stored_timings(tmp_path: Path) -> None:
    spec = sweep_file(
        tmp_path, name="probed", grid={"alpha": [0.1], "epsilon": ["inf"], "clip": ["none"], "seed": [0]}, lira=None
    )
    outline = preview(plan_sweep(spec, storage=str(tmp_path / "store")), probe=True)
    (arm,) = outline.arms
    assert arm.seconds is not None and arm.seconds > 0 and arm.timing == "probe: 1 epoch × 3"
    assert outline.estimate["wall_seconds"] == pytest.approx(arm.seconds / outline.slots + RAY_START_SECONDS)
    assert not (tmp_path / "store").exists()  # the probe trains in memory: the store is untouched
