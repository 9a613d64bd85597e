"""What ``acadp sweep status`` reports for a plan: every grid point, LiRA audit and one-run audit as the store has
them, a searched sweep's brackets, counts per arm and state with the failures' first lines, and the trials a
``--state``/``--arm`` selection keeps. Reads JSON files only (nothing here trains, tracks or fits more than the
search's cached state needs)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from acadp.errors import SpecError
from acadp.store.layout import LAYOUT
from acadp.sweep.plan import SweepPlan, require_existing
from acadp.sweep.status import (
    SHOWN_STATES,
    audit_state,
    collect_records,
    one_run_state,
    status_payload,
    untracked_audits,
    untracked_trials,
)


@dataclass(frozen=True)
class Selection:
    """The trials ``sweep status`` shows: those in one of ``states`` and of one of ``arms`` (empty: all)."""

    states: tuple[str, ...] = ()
    arms: tuple[str, ...] = ()


def sweep_status(plan: SweepPlan, selection: Selection = Selection()) -> dict[str, Any]:
    """The ``sweep status --json`` object of ``plan``: ``counts`` (every trial), ``trials`` (the selected ones),
    ``summary`` (:func:`summarise` of the selected ones), ``audits``, ``one_runs``, tracking and, for a searched
    sweep, ``search`` (a line per arm and threshold). Raises :class:`SpecError` when the sweep never ran, or when
    ``selection`` names a state or an arm the sweep does not have."""
    store = plan.open_store()
    require_existing(plan, store)
    payload = status_payload(collect_records(store, plan.configs))
    payload["trials"] = select(payload["trials"], selection)
    payload["summary"] = summarise(payload["trials"])
    untracked = {c.key() for c in untracked_trials(store, plan.configs)}
    audits = plan.spec.audit_configs(smoke=plan.smoke)
    untracked |= {a.key() for a in untracked_audits(store, audits)}
    for trial in payload["trials"]:
        trial["awaiting_tracking"] = trial["trial_key"] in untracked
    payload["audits"] = [
        {"label": a.label(), "audit_key": a.key(), "status": state, "shadows_done": done, "shadows": a.lira.shadows,
         "awaiting_tracking": a.key() in untracked}
        for a in audits
        for state, done in [audit_state(store, a)]
    ]  # fmt: skip
    payload["one_runs"] = [one_run_state(store, config) for config in plan.spec.one_run_configs(smoke=plan.smoke)]
    payload["awaiting_tracking"] = len(untracked)
    payload["parent_run_untracked"] = store.exists(LAYOUT.untracked)
    payload["sweep"] = plan.name
    payload["location"] = plan.location
    payload["sync_command"] = plan.command("sweep sync")
    search = None if plan.smoke else plan.spec.grid.search
    if search is not None:  # per arm and threshold: the current bracket and the trials used
        from acadp.sweep.search import search_lines

        payload["search"] = search_lines(store, search, plan.spec.trial_configs(smoke=False))
    return payload


def _normalised(text: str) -> str:
    """An arm's name as typed on a command line: case, spaces and ``ε`` (written ``eps``) do not matter."""
    return "".join(text.lower().replace("ε", "eps").split())


def _arm_names(trial: dict[str, Any]) -> set[str]:
    """The names ``--arm`` accepts for a trial's arm: ``mnist5k DP ε=8 C=1``, ``DP ε=8 C=1`` and its kind."""
    full = trial["arm"]
    return {_normalised(full), _normalised(full.removeprefix(f"{trial['dataset']} ")), trial["arm_kind"]}


def select(trials: Sequence[dict[str, Any]], selection: Selection) -> list[dict[str, Any]]:
    """The entries of ``trials`` (``status_payload``'s) that ``selection`` keeps, in their order. A state or an arm
    that is no state, or no arm of these trials, is a :class:`SpecError` listing the valid ones."""
    unknown_states = [state for state in selection.states if state not in SHOWN_STATES]
    if unknown_states:
        raise SpecError(f"--state {unknown_states[0]!r}: not a state; the states: {', '.join(SHOWN_STATES)}")
    names = set().union(*(_arm_names(trial) for trial in trials)) if trials else set()
    unknown_arms = [arm for arm in selection.arms if _normalised(arm) not in names]
    if unknown_arms:
        arms = sorted({trial["arm"] for trial in trials})
        kinds = sorted({trial["arm_kind"] for trial in trials})
        raise SpecError(
            f"--arm {unknown_arms[0]!r}: no arm of this sweep is called that; its arms: {', '.join(arms)} "
            f"(with or without the dataset; case, spaces and 'eps' for 'ε' do not matter) or a kind: "
            f"{', '.join(kinds)}"
        )
    wanted_arms = {_normalised(arm) for arm in selection.arms}
    return [
        trial
        for trial in trials
        if (not selection.states or trial["status"] in selection.states)
        and (not wanted_arms or wanted_arms & _arm_names(trial))
    ]


def first_line(text: str | None) -> str:
    """The first non-empty line of an error message (a traceback's summary stays in ``error.json``)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


def summarise(trials: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts per arm and state (``arms``: one entry per arm in grid order, every shown state counted) and the
    failed trials with the first line of their error (``failures``)."""
    by_arm: dict[str, Counter[str]] = {}
    for trial in trials:
        by_arm.setdefault(trial["arm"], Counter())[trial["status"]] += 1
    arms = [
        {"arm": arm, "counts": {state: counts.get(state, 0) for state in SHOWN_STATES}, "total": sum(counts.values())}
        for arm, counts in by_arm.items()
    ]
    failures = [
        {"label": trial["label"], "trial_key": trial["trial_key"], "error": first_line(trial.get("error"))}
        for trial in trials
        if trial["status"] == "failed"
    ]
    return {"arms": arms, "failures": failures}
