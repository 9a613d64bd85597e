"""Settings a sweep file writes that change no trial of its grid: refused, since the file cannot mean them.

A training key of ``datasets.<name>.training`` (or of one of its ``recipes``) that acts only on some kind of arm is
refused when no trial of that recipe is of that kind: ``lr_scaling: normalised`` (lr / C) without a clipped arm,
``gdro_eta``/``gdro_adjustment`` without a Group-DRO arm, ``augment_shift`` without ``shift`` augmentation. Whether a
trial is of the kind is read off the expanded trial configs, the very configs that run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acadp.config.trial import TrialConfig
from acadp.config.yaml_source import KeyPath, YamlSource, dotted
from acadp.errors import SpecError

if TYPE_CHECKING:  # the sweep schema imports this module
    from acadp.config.sweep import SweepSpec


@dataclass(frozen=True)
class _Rule:
    """A training key that matters only to trials for which ``acts_on`` holds."""

    key: str
    written: Callable[[Any], bool]  # whether the user's value asks for the effect
    acts_on: Callable[[TrialConfig], bool]
    reason: str  # why it changes nothing, and what to do


RULES = (
    _Rule(
        "lr_scaling",
        lambda value: value == "normalised",
        lambda config: config.clip is not None,
        "'normalised' steps clipped arms with lr / C, but no arm here clips (a named recipe never does); "
        "remove it, or add a clipping norm to grid.clip",
    ),
    *(
        _Rule(
            key,
            lambda value: value is not None,
            lambda config: config.training.objective == "gdro",
            "Group-DRO's setting, but no arm here trains with objective gdro; remove it, or add gdro to grid.objective",
        )
        for key in ("gdro_eta", "gdro_adjustment")
    ),
    _Rule(
        "augment_shift",
        lambda value: value is not None,
        lambda config: "shift" in config.training.augment,
        "the largest translation of 'shift' augmentation, but no arm here augments with shift; remove it, or add "
        "shift to training.augment",
    ),
)


def _sections(spec: SweepSpec, name: str) -> list[tuple[KeyPath, Any, set[str | None]]]:
    """(key path, overrides, the recipes it reaches) of the dataset's shared training section (which the arm recipes
    start from), of each arm recipe and of each named recipe."""
    overrides = spec.datasets[name]
    arm_recipes = {kind: recipe.name for kind, recipe in overrides.arm_recipes.items()}
    sections: list[tuple[KeyPath, Any, set[str | None]]] = [
        (("datasets", name, "training"), overrides.training, {None, *arm_recipes.values()})
    ]
    for kind, recipe in overrides.arm_recipes.items():
        sections.append((("datasets", name, "arm_recipes", kind), recipe, {recipe.name}))
    for index, named in enumerate(overrides.recipes):
        sections.append((("datasets", name, "recipes", index), named, {named.name}))
    return sections


def settings_without_effect(spec: SweepSpec, configs: Sequence[TrialConfig]) -> list[tuple[KeyPath, str]]:
    """(key path, reason) of every training key the sweep file ``spec`` writes that
    changes none of ``configs`` (its expanded grid), in file order of datasets and recipes."""
    found: list[tuple[KeyPath, str]] = []
    for name in spec.datasets:
        for path, section, recipes in _sections(spec, name):
            trials = [c for c in configs if c.dataset == name and c.recipe in recipes]
            for rule in RULES:
                value = getattr(section, rule.key)
                if rule.written(value) and not any(rule.acts_on(config) for config in trials):
                    found.append(((*path, rule.key), rule.reason))
    return found


def refuse_settings_without_effect(
    spec: SweepSpec, configs: Sequence[TrialConfig], *, source: YamlSource, file: Path
) -> None:
    """Raise one :class:`SpecError` naming each training key that changes no trial of the grid, with its line."""
    problems = []
    for key, reason in settings_without_effect(spec, configs):
        line = source.line_of(key)
        problems.append(f"{'' if line is None else f'line {line}: '}{dotted(key)}: {reason}")
    if problems:
        raise SpecError(f"{file}: " + "; ".join(problems))
