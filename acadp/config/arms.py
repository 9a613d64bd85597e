"""The arm vocabulary: one place that says what an (ε, C, objective, recipe) is called, what kind of arm it is and
which training engine runs it.

A firm's learner is an *arm* of one training recipe, set by two independent privacy knobs (Solanki et al. 2025):
noise (``epsilon``; ``inf`` adds none) and clipping (``clip``; None clips nothing). (∞, none) is plain SGD, (∞, C)
clipping only, (ε, C) DP-SGD; a finite ε without clipping has no sensitivity bound and is not an arm. Group-DRO
(``objective: gdro``) runs on the (∞, none) arm. A separately tuned recipe is an explicitly named arm: an extra
non-private one (``SGD [tuned]``), or the recipe one kind of arm trains with in place of the shared one
(``DP ε=8 C=1 [usable]``).

The *engine* is the :data:`acadp.learners.LEARNERS` entry that trains an arm: its sampling scheme (``poisson`` for
every arm of the shared recipe, ``shuffle`` for tuned non-private recipes), with the objective appended when it is
not ERM (``poisson_gdro``). Nothing here imports torch.
"""

from __future__ import annotations

import math
from typing import Literal

# the kinds of arm of a grid's epsilon × clip product (a sweep file's ``grid.arms``), and Group-DRO's
GridArmKind = Literal["sgd", "clip", "dpsgd"]
ArmKind = Literal["sgd", "clip", "dpsgd", "gdro"]
GRID_ARM_KINDS: tuple[GridArmKind, ...] = ("sgd", "clip", "dpsgd")


def is_arm(epsilon: float, clip: float | None) -> bool:
    """True unless ``epsilon`` is finite and ``clip`` is None (DP-SGD needs a clipping norm)."""
    return clip is not None or not math.isfinite(epsilon)


def grid_arm_kind(epsilon: float, clip: float | None) -> GridArmKind:
    """``dpsgd`` (noise), ``clip`` (clipping only) or ``sgd`` (neither)."""
    if math.isfinite(epsilon):
        return "dpsgd"
    return "sgd" if clip is None else "clip"


def arm_kind(*, epsilon: float, clip: float | None, objective: str = "erm") -> ArmKind:
    """The arm's kind: ``gdro`` for Group-DRO, else :func:`grid_arm_kind`."""
    return "gdro" if objective == "gdro" else grid_arm_kind(epsilon, clip)


def arm_label(*, epsilon: float, clip: float | None, recipe: str | None = None, objective: str = "erm") -> str:
    """The arm's name in tables, figures and MLflow: ``SGD``, ``clip C=1``, ``DP ε=8 C=1`` for ERM, and ``GDRO`` for
    Group-DRO; a named recipe follows in brackets (``SGD [tuned]``, ``DP ε=8 C=1 [usable]``)."""
    if objective == "gdro":
        name = "GDRO"
    elif clip is None:
        name = "SGD"
    elif not math.isfinite(epsilon):
        name = f"clip C={clip:g}"
    else:
        name = f"DP ε={epsilon:g} C={clip:g}"
    return name if recipe is None else f"{name} [{recipe}]"


def engine(*, sampling: str, objective: str) -> str:
    """The :data:`acadp.learners.LEARNERS` name of a recipe: its sampling scheme (ERM), or ``<sampling>_<objective>``
    otherwise."""
    return sampling if objective == "erm" else f"{sampling}_{objective}"


def arm_problem(*, epsilon: float, clip: float | None, recipe: str | None, sampling: str, objective: str) -> str | None:
    """Why (ε, C, recipe, sampling, objective) is not an arm, as one line naming the field; None when it is one."""
    private = math.isfinite(epsilon)
    if private and clip is None:
        return (
            "clip: a finite epsilon needs a clipping norm C (noise is calibrated to it); the arms are "
            "(inf, none) SGD, (inf, C) clipping only and (epsilon, C) DP-SGD"
        )
    if sampling == "shuffle" and (private or clip is not None):
        where = f"the recipe {recipe!r}" if recipe is not None else "the recipe"
        return (
            f"training.sampling: {where} samples 'shuffle', which is for non-private arms; clipping and DP use "
            "'poisson' (set training.sampling: poisson in the recipe)"
        )
    if objective == "gdro" and (private or clip is not None):
        return (
            "training.objective: gdro is offered without clipping or noise only (its group weights are computed "
            "from un-noised group losses, outside DP-SGD's accounting); use epsilon inf and clip none"
        )
    if objective == "gdro" and sampling != "poisson":
        return "training.objective: gdro runs on the shared recipe's Poisson sampling ('poisson')"
    return None
