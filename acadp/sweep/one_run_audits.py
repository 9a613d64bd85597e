"""One-run audits of a sweep's grid points: the audited point resolved through the sweep's grid, the audit run and
stored under the sweep (``one_run/<key>/``, :class:`acadp.store.layout.OneRunLayout`; a stored result is reused,
never recomputed), and the stored results read back as rows for the reducer's ``one_run`` table. Torch and pandas
are imported by the functions that train or build a table, so resolving a point stays light."""

from __future__ import annotations

import io
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from acadp.config.one_run import OneRunConfig
from acadp.config.trial import TrialConfig
from acadp.errors import SpecError
from acadp.lira.one_run_checks import canary_problem, one_run_problem
from acadp.lira.one_run_result import OneRunResult
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.status import read_result

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class PointRequest:
    """The grid point asked for; None = the sweep's default (first dataset, first seed; no clipping for ε = inf when
    the grid has that arm, else the grid's first clipping norm at that ε)."""

    alpha: float
    epsilon: float
    clip: float | None = None
    clip_given: bool = False
    seed: int | None = None
    dataset: str | None = None


def _values_text(values: Sequence[Any]) -> str:
    return ", ".join("none" if v is None else format(v, "g") if isinstance(v, float) else str(v) for v in values)


def _pick(configs: list[TrialConfig], *, option: str, name: str, wanted: Any, what: str) -> list[TrialConfig]:
    """The configs whose ``name`` equals ``wanted``; a SpecError naming ``option`` and the grid's values if none."""
    values = sorted({getattr(c, name) for c in configs}, key=lambda v: (v is not None, v if v is not None else 0))
    chosen = [c for c in configs if getattr(c, name) == wanted]
    if not chosen:
        shown = "none" if wanted is None else format(wanted, "g") if isinstance(wanted, float) else str(wanted)
        raise SpecError(f"{option}: {shown} is not in the sweep's grid{what}; its values: {_values_text(values)}")
    return chosen


def resolve_point(
    configs: Sequence[TrialConfig],
    request: PointRequest,
    *,
    datasets: Sequence[str],
    arm_recipes: Collection[str] = (),
) -> TrialConfig:
    """The grid trial ``request`` names among the grid's ``configs``: ERM arms of the shared recipe or of an arm
    recipe (named in ``arm_recipes``), not the extra named recipes; where the grid crosses strategies, its first
    (the collective's own, the one it lists first). Raises a one-line :class:`SpecError` naming the first option
    whose value is not in the grid, with the grid's values."""
    pool = [c for c in configs if (c.recipe is None or c.recipe in arm_recipes) and c.training.objective == "erm"]
    dataset = request.dataset or datasets[0]
    pool = _pick(pool, option="--dataset", name="dataset", wanted=dataset, what="")
    pool = _pick(pool, option="--alpha", name="alpha", wanted=request.alpha, what=f" of {dataset}")
    pool = _pick(pool, option="--epsilon", name="epsilon", wanted=request.epsilon, what=f" at alpha {request.alpha:g}")
    clip = request.clip
    if not request.clip_given:
        clips = [c.clip for c in pool]
        clip = None if not math.isfinite(request.epsilon) and None in clips else next(
            (c for c in clips if c is not None), None
        )  # fmt: skip
    pool = _pick(pool, option="--clip", name="clip", wanted=clip, what=f" at epsilon {request.epsilon:g}")
    seed = request.seed if request.seed is not None else min(c.seed for c in pool)
    pool = _pick(pool, option="--seed", name="seed", wanted=seed, what=" at this point")
    return pool[0]


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def run_stored_one_run(
    config: OneRunConfig, *, store: ResultsStore, data_dir: Path | None = None, device: str = "cpu"
) -> tuple[OneRunResult, bool]:
    """The audit's result and whether it was reused: a valid stored ``result.json`` is returned as it is; otherwise
    the audit runs (refused with a one-line :class:`SpecError`, before anything is written, when its settings or
    the trial's training set cannot give a bound) and its arrays, then ``result.json``, are written."""
    paths = LAYOUT.one_run(config.key())
    stored = read_result(store, paths.result, OneRunResult).value
    if stored is not None:
        return stored, True
    problem = one_run_problem(config)
    if problem is not None:
        raise SpecError(problem)
    import torch  # the audit trains: torch and the learners only from here on

    from acadp.lira.one_run import run_one_run_audit
    from acadp.store.provenance import provenance
    from acadp.trial.data import prepare_trial_data

    data = prepare_trial_data(config.trial, data_dir=data_dir)
    problem = canary_problem(config, n_train=int(data.planted.y.shape[0]))
    if problem is not None:
        raise SpecError(problem)
    outcome = run_one_run_audit(
        config, data, device=torch.device(device), provenance={**provenance(), **data.dataset.provenance()}
    )
    store.write_json(paths.config, config.plain())
    store.write_bytes(paths.canaries, _npy_bytes(outcome.draw.indices))
    store.write_bytes(paths.included, _npy_bytes(outcome.draw.included))
    store.write_bytes(paths.scores, _npy_bytes(outcome.scores))
    store.write_json(paths.result, outcome.result.plain())  # written last: the audit is complete
    return outcome.result, False


# the flat columns of a stored result the reducer's ``one_run`` table reads (regime fields prefixed by nothing)
ONE_RUN_COLUMNS: tuple[str, ...] = (
    "one_run_key", "dataset", "arm", "alpha", "epsilon", "clip", "seed", "canaries", "canaries_included",
    "canaries_in_collective", "k_plus", "k_minus", "guesses", "correct", "minimum_guesses", "confidence", "delta",
    "epsilon_lower_bound", "n_train", "sample_rate", "noise_multiplier", "steps", "epsilon_spent", "train_accuracy",
    "test_accuracy", "seconds",
)  # fmt: skip


def one_run_row(result: OneRunResult) -> dict[str, Any]:
    """``result`` as one flat row of :data:`ONE_RUN_COLUMNS` (clip NaN: no clipping; ``arm`` names the arm's recipe
    when it has its own)."""
    flat = {**result.model_dump(exclude={"config", "regime", "provenance"}), **result.regime.model_dump()}
    flat["arm"] = result.config.trial.arm
    flat["clip"] = math.nan if flat["clip"] is None else flat["clip"]
    return {name: flat[name] for name in ONE_RUN_COLUMNS}


def collect_one_run_rows(store: ResultsStore) -> pd.DataFrame:
    """One row per completed one-run audit stored under the sweep (unreadable or unfinished ones left out)."""
    import pandas as pd

    rows = []
    for key in store.list_dir(LAYOUT.one_runs):
        result = read_result(store, LAYOUT.one_run(key).result, OneRunResult).value
        if result is not None:
            rows.append(one_run_row(result))
    return pd.DataFrame(rows, columns=list(ONE_RUN_COLUMNS))
