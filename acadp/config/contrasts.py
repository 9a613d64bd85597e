"""Paired contrasts of a sweep file: ``reduce.contrasts`` names pairs of arms by their labels.

A contrast ``{a: "DP ε=2 C=1", b: "clip C=1", name: "noise at ε=2, C=1"}`` asks whether alpha*(a) > alpha*(b), seed by
seed (arms that share a seed share its collective draw, initialisation and batches). Arms are named as everywhere
else (:func:`acadp.config.arms.arm_label`: ``SGD``, ``clip C=1``, ``DP ε=2 C=1``, ``SGD [tuned]``, ``GDRO``). A sweep
file's contrasts are checked against the arms its grid and recipes define when the file is loaded
(:func:`contrast_problem`). The statistics and the defaults used when the key is absent are
:mod:`acadp.reduce.contrasts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import Field, model_validator

from acadp.config.base import FrozenModel

ArmLabel = Annotated[str, Field(min_length=1)]


class Contrast(FrozenModel):
    """One paired contrast: delta alpha* = alpha*(``a``) − alpha*(``b``) per seed; ``name`` labels it in tables."""

    a: ArmLabel
    b: ArmLabel
    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None

    @model_validator(mode="after")
    def _two_arms(self) -> Contrast:
        if self.a == self.b:
            raise ValueError(f"a and b name the same arm {self.a!r}; a contrast compares two arms")
        return self

    @property
    def label(self) -> str:
        """The contrast's name, or ``"<a> vs <b>"`` when none is given."""
        return self.name or f"{self.a} vs {self.b}"


def contrast_problem(contrasts: Sequence[Contrast], arm_labels: Sequence[str]) -> str | None:
    """Why ``contrasts`` do not fit a sweep whose arms are ``arm_labels``, as one line naming the field (the first
    problem found); None when they fit."""
    valid = ", ".join(repr(label) for label in arm_labels)
    seen: dict[tuple[str, str], int] = {}
    names: dict[str, int] = {}
    for index, contrast in enumerate(contrasts):
        for side in ("a", "b"):
            label = getattr(contrast, side)
            if label not in arm_labels:
                where = f"reduce.contrasts[{index}].{side}"
                return f"{where}: {label!r} is not an arm of this sweep; valid arm labels: {valid}"
        pair = (contrast.a, contrast.b)
        if pair in seen:
            return f"reduce.contrasts[{index}]: the same pair of arms as reduce.contrasts[{seen[pair]}]; list each once"
        if contrast.label in names:
            return (
                f"reduce.contrasts[{index}].name: {contrast.label!r} already names reduce.contrasts"
                f"[{names[contrast.label]}]; give each contrast its own name"
            )
        seen[pair], names[contrast.label] = index, index
    return None
