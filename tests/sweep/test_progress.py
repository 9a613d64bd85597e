"""The driver's progress line: trial counts of a grid, and of a search whose total is only an upper bound."""

from __future__ import annotations

from acadp.sweep.progress import SweepCounts


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
