"""The house: each room imports only the rooms below it (docs/design.md), checked on the source, lazy imports
included, so that a shortcut through a function body is caught too; and registries that two rooms keep name the same
things."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "acadp"

# room → the rooms it may import (its own always allowed); a module at the package's top level is its own room
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "registry": {"errors"},
    "seeding": {"errors"},
    "runtime": set(),
    "environment": {"errors"},
    "clock": set(),
    "config": {"errors", "registry"},
    "store": {"errors", "environment"},
    "data": {"errors", "registry", "seeding", "store", "environment"},
    "collective": {"config", "errors", "registry", "seeding"},
    "models": {"config", "errors", "registry"},
    "learners": {"config", "errors", "registry", "seeding"},
    "trial": {
        "config",
        "data",
        "collective",
        "models",
        "learners",
        "store",
        "errors",
        "registry",
        "seeding",
        "runtime",
        "environment",
        "clock",
    },
    "lira": {"config", "collective", "learners", "trial", "data", "models", "store", "errors", "registry", "seeding"},
    "reduce": {"acadp", "config", "store", "lira", "trial", "errors", "registry"},
}


def _imports(path: Path) -> set[str]:
    """The acadp modules ``path`` imports anywhere in its body (``acadp.config.trial`` → ``config``)."""
    rooms: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "acadp":
                rooms.add(parts[1] if len(parts) > 1 else "acadp")
    return rooms


def _room(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_a_room_imports_only_the_rooms_below_it(room: str) -> None:
    files = [path for path in PACKAGE.rglob("*.py") if _room(path) == room]
    wrong = {
        f"{path.relative_to(PACKAGE)} imports acadp.{target}"
        for path in files
        for target in _imports(path) - ALLOWED[room] - {room}
    }
    assert not wrong, sorted(wrong)


def test_the_rule_sees_a_lazy_import(tmp_path: Path) -> None:
    module = tmp_path / "shortcut.py"
    module.write_text("def f():\n    from acadp.sweep.status import collect_records\n    return collect_records\n")
    assert _imports(module) == {"sweep"}


def test_dataset_and_preset_registries_name_the_same_datasets_with_one_modality() -> None:
    from acadp.config.presets import PRESETS
    from acadp.data import DATASETS

    assert PRESETS.names() == DATASETS.names()
    assert {name: PRESETS.get(name).modality for name in PRESETS} == {
        name: DATASETS.get(name).modality for name in DATASETS
    }


def test_signal_models_and_planting_functions_name_the_same_signals() -> None:
    from acadp.collective import SIGNALS
    from acadp.config.signals import signal_names

    assert signal_names() == SIGNALS.names()


def test_attack_names_in_the_settings_are_the_attack_registry() -> None:
    from acadp.config.lira import ATTACK_NAMES
    from acadp.lira.attacks import ATTACKS

    assert sorted(ATTACK_NAMES) == ATTACKS.names()


def test_arm_kinds_of_the_grid_are_the_arm_vocabulary() -> None:
    from acadp.config.arms import GRID_ARM_KINDS, ArmKind, GridArmKind

    assert set(get_args(GridArmKind)) == set(GRID_ARM_KINDS) and set(GRID_ARM_KINDS) < set(get_args(ArmKind))


def test_model_parameters_and_model_builders_name_the_same_models() -> None:
    from acadp.config.models import ModelParams
    from acadp.models import MODELS

    union = get_args(ModelParams)[0]
    assert sorted(model.model_fields["name"].default for model in get_args(union)) == MODELS.names()


def test_every_engine_an_arm_can_ask_for_is_registered() -> None:
    import math

    from acadp.config.arms import arm_problem, engine
    from acadp.config.trial import Objective, Sampling
    from acadp.learners import LEARNERS

    wanted = {
        engine(sampling=sampling, objective=objective)
        for sampling in get_args(Sampling)
        for objective in get_args(Objective)
        for epsilon, clip in ((math.inf, None), (math.inf, 1.0), (8.0, 1.0))
        if arm_problem(epsilon=epsilon, clip=clip, recipe=None, sampling=sampling, objective=objective) is None
    }
    assert wanted <= set(LEARNERS.names()), sorted(wanted - set(LEARNERS.names()))
