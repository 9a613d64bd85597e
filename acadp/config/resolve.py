"""The one configuration path: a dataset preset plus a user's overrides (a sweep file's ``datasets.<name>`` section or
the ``acadp trial``/``acadp lira`` flags) plus a grid point gives a validated :class:`TrialConfig`.

Every limit is the trial schema's own: the override models are derived from :class:`TrainingConfig` field by field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationError, create_model, model_validator

from acadp.config.arms import GridArmKind, grid_arm_kind
from acadp.config.base import FrozenModel
from acadp.config.describe import describe
from acadp.config.presets import PRESETS
from acadp.config.pretrain import PretrainConfig
from acadp.config.trial import (
    DEFAULT_DELTA,
    Accountant,
    Alpha,
    ClipNorm,
    Delta,
    Epsilon,
    EvalEvery,
    ImageSize,
    Objective,
    RecipeName,
    Seed,
    SeqLen,
    Strategy,
    TargetClass,
    TestSize,
    TrainingConfig,
    TrainSize,
    TrialConfig,
)
from acadp.errors import SpecError


def _optional_fields(model: type[FrozenModel]) -> dict[str, Any]:
    """Every field of ``model`` with its type and limits, made optional (None = keep the preset's value)."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        fields[name] = (annotation | None, None)
    return fields


TrainingOverrides = create_model(
    "TrainingOverrides",
    __base__=FrozenModel,
    __doc__="Training fields to change; unset fields keep the preset's (limits are TrainingConfig's own).",
    **_optional_fields(TrainingConfig),
)


class RecipeOverrides(TrainingOverrides):
    """A named, separately tuned non-private recipe: the preset's recipe of that name (or the shared recipe), with
    these fields changed."""

    name: RecipeName


class ArmRecipeOverrides(TrainingOverrides):
    """The named recipe one kind of arm trains with in place of the shared recipe: the shared recipe with these
    fields changed (e.g. DP-SGD tuned on its own, so that a private firm is usable)."""

    name: RecipeName


class VariantOverrides(FrozenModel):
    """One setting of a dataset that a sweep runs beside the others (``datasets.<name>.variants``): the keys given
    replace the dataset section's (a signal or model of the same kind, and the training recipe, field by field)."""

    strategy: Strategy | None = None
    signal: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    target_class: TargetClass | None = None
    seq_len: SeqLen | None = None
    n_train: TrainSize | None = None
    n_test: TestSize | None = None
    # the shared recipe of this setting's arms (e.g. a model of its own needs its own lr)
    training: TrainingOverrides | None = None


class DatasetOverrides(FrozenModel):
    """Per-dataset settings; omitted keys take the dataset preset (see :mod:`acadp.config.presets`)."""

    model: dict[str, Any] | None = None
    signal: dict[str, Any] | None = None
    target_class: TargetClass | None = None
    strategy: Strategy | None = None
    training: TrainingOverrides = TrainingOverrides()
    # named non-private recipes run as extra arms ("SGD [name]") next to the shared recipe's arms
    recipes: list[RecipeOverrides] = Field(default_factory=list)
    # per kind of arm (sgd, clip, dpsgd), a named recipe that kind trains with in place of the shared recipe
    arm_recipes: dict[GridArmKind, ArmRecipeOverrides] = Field(default_factory=dict)
    n_train: TrainSize | None = None
    n_test: TestSize | None = None
    eval_every: EvalEvery = 1
    # Optional non-private pre-training on a public dataset (e.g. cifar100 for cifar10) before every trial's training.
    pretrain: PretrainConfig | None = None
    # side of the square images of a resizing loader (waterbirds); None = the preset's
    image_size: ImageSize | None = None
    # text: the word pieces a model reads per document; None = the preset's
    seq_len: SeqLen | None = None
    # settings run side by side, each with the whole grid (e.g. two strategies, or several tokens); none: one setting
    variants: list[VariantOverrides] = Field(default_factory=list)

    @model_validator(mode="after")
    def _recipes_named_once(self) -> DatasetOverrides:
        names = [recipe.name for recipe in self.recipes] + [recipe.name for recipe in self.arm_recipes.values()]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(
                f"recipes: {', '.join(repr(n) for n in twice)} named twice (recipes and arm_recipes); each recipe "
                "needs one name"
            )
        return self

    def arm_recipe(self, epsilon: float, clip: float | None) -> str | None:
        """The name of the recipe the arm (``epsilon``, ``clip``) trains with in place of the shared one; None when
        it trains with the shared recipe."""
        recipe = self.arm_recipes.get(grid_arm_kind(epsilon, clip))
        return None if recipe is None else recipe.name

    @model_validator(mode="after")
    def _variants_differ(self) -> DatasetOverrides:
        for index, variant in enumerate(self.variants):
            if not variant.model_dump(exclude_none=True):
                raise ValueError(f"variants[{index}]: an empty variant repeats the dataset's own setting; drop it")
        return self

    def settings(self) -> list[DatasetOverrides]:
        """The dataset's settings: itself without variants, else one per variant, each this section with the
        variant's keys applied."""
        if not self.variants:
            return [self]
        settings = []
        for variant in self.variants:
            given: dict[str, Any] = {
                name: getattr(variant, name) for name in variant.model_fields_set if getattr(variant, name) is not None
            }
            for part in ("signal", "model"):
                if part in given:
                    given[part] = _merged_part(getattr(self, part), given[part])
            if "training" in given:
                changes = given["training"].model_dump(exclude_none=True)
                given["training"] = self.training.model_copy(update=changes)
            settings.append(self.model_copy(update={**given, "variants": []}))
        return settings

    def placed_settings(self, within: tuple[str | int, ...]) -> list[Setting]:
        """:meth:`settings`, each with where in the sweep file it comes from: ``within`` (the dataset section's place)
        itself, or ``within`` + ``variants[i]``."""
        if not self.variants:
            return [(self, within)]
        return [(setting, (*within, "variants", index)) for index, setting in enumerate(self.settings())]


# one setting of a dataset: its overrides, and where in the sweep file they come from (for error messages)
Setting = tuple[DatasetOverrides, tuple[str | int, ...]]


class GridPoint(FrozenModel):
    """One point of a grid: the collective's size, the arm and the seed."""

    alpha: Alpha
    epsilon: Epsilon
    clip: ClipNorm | None = None
    seed: Seed = 0
    recipe: RecipeName | None = None
    # the training objective of this point (a sweep's ``grid.objective``); None = the recipe's
    objective: Objective | None = None
    # the collective's strategy at this point (a sweep's ``grid.strategy``); None = the dataset's
    strategy: Strategy | None = None


class Shared(FrozenModel):
    """Settings common to all datasets of a sweep (or of one command)."""

    delta: Delta = DEFAULT_DELTA
    accountant: Accountant = "prv"


def _merged_part(base: dict[str, Any] | None, given: dict[str, Any]) -> dict[str, Any]:
    """A variant's signal or model section over the dataset section's: field by field when of the same kind."""
    if base is None or ("name" in given and given["name"] != base.get("name", given["name"])):
        return dict(given)
    return {**base, **given}


def _part(preset_part: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """A model/signal section: the preset's when the name is unchanged (overridden field by field), else the given."""
    if given is None:
        return preset_part
    if "name" not in given or given["name"] == preset_part["name"]:
        return {**preset_part, **given}
    return dict(given)


def recipe_training(dataset: str, overrides: DatasetOverrides, recipe: str | None) -> dict[str, Any]:
    """The training fields of the shared recipe (``recipe`` None) or of the named recipe, overrides applied."""
    preset = PRESETS.get(dataset)
    shared = {**preset.training.model_dump(), **overrides.training.model_dump(exclude_none=True)}
    if recipe is None:
        return shared
    arm_recipe = next((r for r in overrides.arm_recipes.values() if r.name == recipe), None)
    if arm_recipe is not None:  # the shared recipe, retuned for one kind of arm
        return {**shared, **arm_recipe.model_dump(exclude_none=True, exclude={"name"})}
    given = next((r for r in overrides.recipes if r.name == recipe), None)
    if given is None and recipe not in preset.recipes:
        known = sorted({*preset.recipes, *(r.name for r in overrides.recipes),
                        *(r.name for r in overrides.arm_recipes.values())})  # fmt: skip
        raise SpecError(f"recipe: {recipe!r} is not a recipe of {dataset}; valid recipes: {', '.join(known) or 'none'}")
    base = preset.recipes[recipe].model_dump() if recipe in preset.recipes else {**shared, "sampling": "shuffle"}
    changes = given.model_dump(exclude_none=True, exclude={"name"}) if given is not None else {}
    return {**base, **changes}


def trial_payload(dataset: str, overrides: DatasetOverrides, point: GridPoint, shared: Shared) -> dict[str, Any]:
    """The unvalidated trial config of ``point`` (callers may adjust sizes before validation, e.g. smoke runs). A
    point of the shared recipe whose kind of arm has an arm recipe (``overrides.arm_recipes``) trains with that."""
    preset = PRESETS.get(dataset).model_dump(mode="python")
    recipe = point.recipe
    if recipe is None and point.objective in (None, "erm"):
        recipe = overrides.arm_recipe(point.epsilon, point.clip)
    training = recipe_training(dataset, overrides, recipe)
    if point.objective is not None:
        training["objective"] = point.objective
    return {
        "dataset": dataset,
        **point.model_dump(exclude={"objective", "strategy", "recipe"}),
        "recipe": recipe,
        **shared.model_dump(),
        "target_class": preset["target_class"] if overrides.target_class is None else overrides.target_class,
        "strategy": point.strategy or overrides.strategy or preset["strategy"],
        "signal": _part(preset["signal"], overrides.signal),
        "model": _part(preset["model"], overrides.model),
        "training": training,
        "n_train": overrides.n_train,
        "n_test": overrides.n_test,
        "eval_every": overrides.eval_every,
        "pretrain": None if overrides.pretrain is None else overrides.pretrain.model_dump(mode="python"),
        "image_size": overrides.image_size or preset["image_size"],
        "seq_len": overrides.seq_len or preset["seq_len"],
    }


def validate_trial(payload: dict[str, Any], *, within: tuple[str | int, ...] = ()) -> TrialConfig:
    """``payload`` as a :class:`TrialConfig`; a problem raises one :class:`SpecError` naming every bad field."""
    try:
        config = TrialConfig.model_validate(payload)
    except ValidationError as error:
        raise SpecError(describe(error, within=within)) from None
    return config


def resolve_trial(
    dataset: str, overrides: DatasetOverrides, point: GridPoint, shared: Shared, *, within: tuple[str | int, ...] = ()
) -> TrialConfig:
    """The validated trial config of ``point``: the preset of ``dataset`` with ``overrides`` applied."""
    return validate_trial(trial_payload(dataset, overrides, point, shared), within=within)


def known_dataset(name: str) -> str:
    """``name`` if it has a preset; else a :class:`SpecError` listing the valid datasets."""
    if name not in PRESETS:
        raise SpecError(f"unknown dataset {name!r}; valid datasets: {', '.join(PRESETS.names())}")
    return name
