"""``acadp sweep status``: counts per arm and state with each failure's first line (``--summary``), trials selected by
``--state`` and ``--arm``, an interrupted trial shown with its epochs, and a sweep that never ran refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from acadp.errors import SpecError
from acadp.sweep.plan import SweepPlan, plan_sweep
from acadp.sweep.status_report import Selection, sweep_status

from .stores import complete, fail, interrupt, sweep_file

ACADP = str(Path(sys.executable).with_name("acadp"))


def acadp(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"NO_COLOR": "1", "COLUMNS": "160", "PATH": str(Path(sys.executable).parent)}
    return subprocess.run([ACADP, *args], capture_output=True, text=True, timeout=300, check=False, env=env)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, SweepPlan]:
    """A sweep whose DP arm has one failed and one interrupted trial, everything else completed."""
    folder = tmp_path_factory.mktemp("status")
    spec, storage = sweep_file(folder, name="watched"), folder / "store"
    plan = plan_sweep(spec, storage=str(storage))
    store = plan.open_store()
    private = [config for config in plan.configs if config.arm_kind == "dpsgd"]
    for config in plan.configs:
        if config not in private[:2]:
            complete(store, config)
    fail(store, private[0], "PrivacyInfeasibleError: no noise multiplier reaches epsilon=8\nTraceback (most recent)")
    interrupt(store, private[1], epochs_done=2)
    return spec, storage, plan


def test_the_summary_counts_every_arm_by_state_and_gives_each_failure_its_first_line(sweep: tuple) -> None:
    _, _, plan = sweep
    payload = sweep_status(plan)
    arms = {arm["arm"]: arm for arm in payload["summary"]["arms"]}
    assert list(arms) == ["mnist5k DP ε=8 C=1", "mnist5k SGD", "mnist5k clip C=1"]  # grid order
    assert all(arm["total"] == 6 for arm in arms.values())  # 3 alphas × 2 seeds
    assert arms["mnist5k SGD"]["counts"]["completed"] == 6
    dp = arms["mnist5k DP ε=8 C=1"]["counts"]
    assert (dp["completed"], dp["failed"], dp["interrupted"], dp["pending"]) == (4, 1, 1, 0)
    (failure,) = payload["summary"]["failures"]
    assert failure["error"] == "PrivacyInfeasibleError: no noise multiplier reaches epsilon=8"
    assert payload["counts"] == {
        "completed": 16, "running": 0, "retrying": 0, "pending": 0, "failed": 1, "interrupted": 1,
    }  # fmt: skip


def test_an_interrupted_trial_shows_its_checkpointed_epochs(sweep: tuple) -> None:
    spec, storage, _ = sweep
    done = acadp("sweep", "status", str(spec), "--storage", str(storage), "--state", "interrupted")
    assert done.returncode == 0, done.stderr
    assert "interrupted (epoch 2/3)" in done.stdout
    assert "completed" not in done.stdout.split("\n", 2)[-1]  # the rows below the title: the selected trial only


def test_the_summary_on_the_command_line(sweep: tuple) -> None:
    spec, storage, _ = sweep
    done = acadp("sweep", "status", str(spec), "--storage", str(storage), "--summary")
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") > 3}
    assert {"mnist5k DP ε=8 C=1", "mnist5k SGD", "mnist5k clip C=1"} <= set(rows)
    assert "failed mnist5k DP ε=8 C=1 a=0 seed=0: PrivacyInfeasibleError: no noise multiplier" in done.stdout
    assert "Traceback" not in done.stdout  # only the first line of an error
    assert "LiRA audits: 0/1 completed (0/4 shadows)" in done.stdout


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (Selection(states=("failed",)), {("mnist5k DP ε=8 C=1", "failed")}),
        (Selection(arms=("dp eps=8 c=1",), states=("completed",)), {("mnist5k DP ε=8 C=1", "completed")}),
        (Selection(arms=("mnist5k clip C=1",)), {("mnist5k clip C=1", "completed")}),
        (Selection(arms=("sgd", "clip")), {("mnist5k SGD", "completed"), ("mnist5k clip C=1", "completed")}),
        (Selection(arms=("dpsgd",), states=("failed", "interrupted")),
         {("mnist5k DP ε=8 C=1", "failed"), ("mnist5k DP ε=8 C=1", "interrupted")}),
    ],
)  # fmt: skip
def test_state_and_arm_select_trials(sweep: tuple, selection: Selection, expected: set) -> None:
    payload = sweep_status(sweep[2], selection)
    assert {(trial["arm"], trial["status"]) for trial in payload["trials"]} == expected
    assert sum(arm["total"] for arm in payload["summary"]["arms"]) == len(payload["trials"])
    assert sum(payload["counts"].values()) == 18  # the counts are the sweep's, whatever is selected


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [("--state", "finished", "the states: completed, running"), ("--arm", "DP eps=2", "its arms: mnist5k DP ε=8")],
)
def test_an_unknown_state_or_arm_is_one_line_listing_the_valid_ones(
    sweep: tuple, option: str, value: str, says: str
) -> None:
    spec, storage, _ = sweep
    done = acadp("sweep", "status", str(spec), "--storage", str(storage), option, value, "--json")
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"acadp: error: {option} '{value}'") and says in line


def test_json_carries_the_selection_and_the_summary(sweep: tuple) -> None:
    spec, storage, _ = sweep
    done = acadp("sweep", "status", str(spec), "--storage", str(storage), "--json", "--state", "failed")
    payload = json.loads(done.stdout)
    assert [trial["status"] for trial in payload["trials"]] == ["failed"]
    assert payload["summary"]["failures"][0]["trial_key"] == payload["trials"][0]["trial_key"]


def test_a_sweep_that_never_ran_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    spec, storage = sweep_file(tmp_path, name="fresh"), tmp_path / "store"
    done = acadp("sweep", "status", str(spec), "--storage", str(storage))
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert "no results for sweep 'fresh' yet" in line and "acadp sweep run" in line
    assert not storage.exists()
    with pytest.raises(SpecError, match="no results"):
        sweep_status(plan_sweep(spec, storage=str(storage)))


def test_arm_recipes_in_brackets_are_printed_not_read_as_markup() -> None:
    """An arm recipe's name is written in brackets ('SGD [tuned]'), which rich would take for a style tag."""
    from io import StringIO

    from rich.console import Console

    from acadp.cli.show import print_status

    trial = {
        "dataset": "mnist", "arm": "mnist SGD [tuned]", "alpha": 0.01, "seed": 0, "status": "completed",
        "epochs_done": 3, "epochs": 3, "success": 0.5, "error": None,
    }  # fmt: skip
    audit = {"label": "LiRA mnist SGD [tuned] α=0.01 s0 (16 shadows)", "status": "pending", "shadows_done": 0}
    payload = {
        "sweep": "s", "counts": {"completed": 1}, "trials": [trial], "audits": [{**audit, "shadows": 16}],
        "awaiting_tracking": 0, "search": ["mnist SGD [tuned] S*=0.5: searching: α* in [0.0005, 0.3] · 2/30 trials"],
    }  # fmt: skip
    out = StringIO()
    print_status(payload, summary=False, console=Console(file=out, width=200, no_color=True))
    text = out.getvalue()
    assert "SGD [tuned]" in text.split("\n", 3)[3]  # the table's row
    assert "LiRA mnist SGD [tuned] α=0.01 s0 (16 shadows): pending" in text
    assert "search · mnist SGD [tuned] S*=0.5: searching: α* in [0.0005, 0.3]" in text
