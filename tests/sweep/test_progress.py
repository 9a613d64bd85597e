"""The driver's progress: trial counts of a grid, and of a search whose total is only an upper bound; on a terminal
the running trials with their latest metrics (bounded height); off a terminal a line per tenth of the trials or
per quiet minute, and each failure at once."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from acadp.config.trial import TrialConfig
from acadp.sweep.jobs import JobRuntime, job_for
from acadp.sweep.progress import MAX_ROWS, LogCadence, SweepCounts, SweepProgress


def test_a_grid_counts_done_running_and_pending_against_its_total() -> None:
    counts = SweepCounts(total=10, already_done=3, concurrency=2, completed=2, failed=1, running={"a", "b"})
    line = counts.line()
    assert line.startswith("trials 5/10 done · 2 running · 2 pending · 1 failed")


def test_a_search_counts_against_its_budget_as_an_upper_bound_and_never_goes_negative() -> None:
    # a resumed search: 30 trials already in the store, 6 run now; the search may stop before its budget of 40
    counts = SweepCounts(total=40, already_done=30, concurrency=2, completed=6, running={"a"}, bounded=True)
    assert counts.line().startswith("trials 36 done of at most 40 (search) · 1 running · ≤ 3 to go · 0 failed")
    # a store a dense grid filled can hold more points inside the bracket than the budget: nothing negative
    crowded = SweepCounts(total=40, already_done=45, concurrency=2, bounded=True)
    assert "trials 45 done of at most 40 (search) · 0 running · ≤ 0 to go" in crowded.line()


def _trial(trial_id: str, job: dict[str, Any]) -> SimpleNamespace:
    """A stand-in for a Tune trial: its id, its config (the job as plain data) and its last result."""
    return SimpleNamespace(trial_id=trial_id, config={"acadp": job}, last_result={})


@pytest.fixture(scope="module")
def jobs() -> list[dict[str, Any]]:
    """Trial jobs of a small grid (3 epochs each) and one LiRA audit job, as the driver sends them."""
    from acadp.config.lira import AuditConfig, LiraSettings

    configs = [
        TrialConfig.model_validate(
            {"dataset": "mnist5k", "alpha": alpha, "epsilon": 8.0, "clip": 1.0, "seed": seed, "target_class": 0,
             "signal": {"name": "patch"}, "model": {"name": "cnn"},
             "training": {"epochs": 2, "batch_size": 64, "lr": 0.1}}
        )
        for alpha in (0.1, 0.2)
        for seed in range(6)
    ]  # fmt: skip
    runtime = JobRuntime(store="unused", invocation="test")
    trials = [job_for(runtime, config).plain() for config in configs]
    audit = AuditConfig(trial=configs[-1], lira=LiraSettings(shadows=4))
    return [*trials, job_for(runtime, audit).plain()]


def _progress(total: int, *, terminal: bool) -> tuple[SweepProgress, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=200, color_system=None)
    return SweepProgress(SweepCounts(total=total, already_done=0, concurrency=2), console), out


def test_the_live_view_shows_running_trials_with_their_latest_epoch_metrics(jobs: list[dict[str, Any]]) -> None:
    progress, _ = _progress(len(jobs), terminal=True)
    first, audit = _trial("a", jobs[0]), _trial("z", jobs[-1])
    progress.on_trial_start(0, [], first)
    progress.on_trial_start(0, [], audit)
    progress.on_trial_result(0, [], first, {"epoch": 2, "train_loss": 0.4321, "test_accuracy": 0.9, "success": 0.75})
    progress.on_trial_result(0, [], audit, {"shadows_done": 3})
    text = _render(progress.view())
    row = next(line for line in text.splitlines() if "a=0.1 seed=0" in line)
    assert "epoch 2/2" in row and "0.432" in row and "0.900" in row and "0.750" in row
    assert "shadows 3/4" in next(line for line in text.splitlines() if line.startswith("LiRA mnist5k"))
    assert text.splitlines()[0].startswith("trials 0/13 done · 2 running")
    progress.on_trial_complete(0, [], first)
    assert not any(line.startswith("mnist5k DP ε=8 C=1 a=0.1 seed=0") for line in _render(progress.view()).splitlines())


def test_the_live_view_is_bounded_in_height(jobs: list[dict[str, Any]]) -> None:
    progress, _ = _progress(len(jobs), terminal=True)
    for index, job in enumerate(jobs):
        progress.on_trial_start(0, [], _trial(str(index), job))
    lines = _render(progress.view()).splitlines()
    assert len(lines) == 1 + 1 + MAX_ROWS + 1  # counts, header, rows, "… and N more"
    assert lines[-1] == f"… and {len(jobs) - MAX_ROWS} more running"


def test_off_a_terminal_a_line_every_tenth_of_the_trials_not_one_per_trial(jobs: list[dict[str, Any]]) -> None:
    total = 40
    progress, out = _progress(total, terminal=False)
    with progress:
        for index in range(total):
            trial = _trial(str(index), jobs[index % (len(jobs) - 1)])
            progress.on_trial_start(0, [], trial)
            progress.on_trial_complete(0, [], trial)
    lines = out.getvalue().splitlines()
    # the first line, then one every 4 completions (10% of 40), the last of them the final count (not printed twice)
    assert len(lines) == 1 + total // 4, lines
    assert lines[1].startswith("trials 4/40 done") and lines[-1].startswith("trials 40/40 done")


def test_off_a_terminal_a_line_after_a_quiet_minute_and_a_failure_at_once(jobs: list[dict[str, Any]]) -> None:
    progress, out = _progress(100, terminal=False)
    trial = _trial("a", jobs[0])
    progress.on_trial_start(0, [], trial)
    progress.on_step_end(0, [])
    assert out.getvalue() == ""  # nothing completed, no time passed
    progress.cadence.last_time -= 61
    progress.on_step_end(0, [])
    assert out.getvalue().startswith("trials 0/100 done · 1 running")
    progress.on_trial_error(0, [], trial)
    assert out.getvalue().splitlines()[-1].startswith("FAILED  mnist5k DP ε=8 C=1 a=0.1 seed=0  [trials 0/100")


def test_log_cadence_counts_completions_or_seconds() -> None:
    cadence = LogCadence(every=3, seconds=60.0, last_time=0.0)
    assert [cadence.due(done=n, now=1.0) for n in range(1, 7)] == [False, False, True, False, False, True]
    assert cadence.due(done=6, now=61.5) and not cadence.due(done=6, now=62.0)
    assert LogCadence.for_total(160).every == 16 and LogCadence.for_total(3).every == 1


def _render(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_a_label_with_an_arm_recipe_in_brackets_is_shown_as_written() -> None:
    from acadp.sweep.progress import RunningJob, running_table

    job = RunningJob(label="mnist SGD [tuned] a=0.1 seed=0", unit="epoch", total=3)
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(running_table([job], now=job.began))
    assert "mnist SGD [tuned] a=0.1 seed=0" in out.getvalue()
