"""The settings of a replicated LiRA study: variants, point sets, the strategy axis (the "collective removed"
control), arm recipes (a DP arm tuned on its own) and each audit's clean twin."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from acadp.config.lira import ALL_VARIANTS, DEFAULT_VARIANT, LiraSettings, Variant
from acadp.config.sweep import load_spec
from acadp.errors import SpecError

SWEEP = """
name: study
datasets:
  mnist5k:
    n_train: 100
    training: {epochs: 3, batch_size: 10, lr: 0.05, momentum: 0.9}
    arm_recipes:
      dpsgd: {name: usable, epochs: 2, batch_size: 50, lr: 2.0, momentum: 0.0}
grid:
  alpha: [0.0, 0.01, 0.1]
  epsilon: [8, inf]
  clip: [none, 1.0]
  arms: [sgd, dpsgd]
  seed: [0, 1, 2]
  strategy: [feature_label, withhold]
lira:
  points:
    - {alpha: [0.0, 0.01, 0.1], epsilon: [inf, 8], seed: [0, 1, 2]}
    - {alpha: [0.01, 0.1], epsilon: [inf], seed: [0, 1, 2], strategy: [withhold]}
  shadows: 4
  pool: matched
  variants: all
  smoke:
    points: {alpha: [0.0, 0.1], epsilon: [inf], seed: [0]}
one_run:
  points: {alpha: [0.0, 0.01], epsilon: [inf, 8], seed: [0]}
  canaries: 50
  k_plus: 5
  k_minus: 5
"""


def _spec(tmp_path: Path, text: str = SWEEP):  # type: ignore[no-untyped-def]
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return load_spec(path)


def test_all_variants_are_the_eight_readings_the_default_first_and_each_listed_once() -> None:
    settings = LiraSettings(variants="all")  # type: ignore[arg-type]
    assert settings.variants == ALL_VARIANTS and len(ALL_VARIANTS) == 8 and ALL_VARIANTS[0] == DEFAULT_VARIANT
    assert DEFAULT_VARIANT.name == "trained/collective/as_trained"
    assert len({variant.name for variant in ALL_VARIANTS}) == 8
    with pytest.raises(ValueError, match="listed twice"):
        LiraSettings(variants=(Variant(label="original"), Variant(label="original")))
    assert not LiraSettings().signal_view  # the audit as it was: no logits on g(x)
    assert LiraSettings(variants=(Variant(shadows="clean"),)).signal_view  # clean models asked about planted inputs
    assert not LiraSettings(variants=(Variant(label="original"),)).signal_view  # scoring only


def test_the_grid_runs_each_strategy_at_alpha_above_zero_and_only_the_first_at_zero(tmp_path: Path) -> None:
    configs = _spec(tmp_path).trial_configs()
    withheld = [c for c in configs if c.strategy == "withhold"]
    assert {c.alpha for c in withheld} == {0.01, 0.1}  # at α = 0 there is nothing to withhold: one firm
    assert len(configs) == 2 * 3 * (1 + 2 * 2)  # arms × seeds × (α = 0 + two α × two strategies)


def test_a_private_arm_trains_with_its_arm_recipe_and_says_so(tmp_path: Path) -> None:
    configs = _spec(tmp_path).trial_configs()
    dp = {c.training for c in configs if c.private}
    sgd = {c.training for c in configs if not c.private}
    assert len(dp) == len(sgd) == 1
    (dp_training,) = dp
    assert (dp_training.batch_size, dp_training.lr, dp_training.epochs) == (50, 2.0, 2)
    assert {c.arm for c in configs} == {"SGD", "DP ε=8 C=1 [usable]"}
    assert {c.recipe for c in configs} == {None, "usable"}


def test_audits_are_the_union_of_the_point_sets_alpha_zero_first_each_with_its_clean_twin(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    audits = spec.audit_configs()
    # (SGD + DP) × 3 α × 3 seeds, and the withheld SGD collective at two α × 3 seeds
    assert len(audits) == 2 * 3 * 3 + 2 * 3
    assert all(audit.trial.alpha == 0.0 for audit in audits[:6])
    by_key = {audit.key(): audit for audit in audits}
    for audit in audits:
        twin = audit.clean_twin()
        if audit.trial.alpha == 0.0 or audit.trial.strategy == "withhold":
            assert twin is None
            continue
        assert twin is not None and twin.key() in by_key  # the very α = 0 audit of the sweep: its shadows are read
        assert by_key[twin.key()].trial.seed == audit.trial.seed and twin.trial.private == audit.trial.private
    assert all(audit.lira.signal_view for audit in audits)
    grid = {config.key() for config in spec.trial_configs()}
    assert all(audit.grid_trial_key in grid for audit in audits)
    assert {one_run.trial.key() for one_run in spec.one_run_configs()} <= grid  # the DP one-run: its arm recipe


def test_the_smoke_run_audits_its_own_points(tmp_path: Path) -> None:
    audits = _spec(tmp_path).audit_configs(smoke=True)
    assert [(a.trial.alpha, a.trial.private, a.trial.seed) for a in audits] == [(0.0, False, 0), (0.1, False, 0)]
    assert audits[1].clean_twin() is not None and audits[1].clean_twin().key() == audits[0].key()  # type: ignore[union-attr]


def test_variants_only_change_scoring_unless_they_need_logits_on_the_signal(tmp_path: Path) -> None:
    default = _spec(tmp_path, SWEEP.replace("variants: all", "variants: [{}]")).audit_configs()
    labels = _spec(tmp_path, SWEEP.replace("variants: all", "variants: [{}, {label: original}]")).audit_configs()
    signal = _spec(tmp_path, SWEEP.replace("variants: all", "variants: [{queries: signal}]")).audit_configs()
    assert [a.key() for a in default] == [a.key() for a in labels]  # the same shadows, scored twice
    assert default[0].lira.scoring() != labels[0].lira.scoring()  # a stored result is scored again
    assert not {a.key() for a in default} & {a.key() for a in signal}  # shadows queried on g(x) too: other files


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("strategy: [withhold]}", "strategy: [feature_only]}"), "lira.points.strategy"),
        (("variants: all", "variants: [{label: planted}]"), "label"),
        (("variants: all", "variants: [{}, {}]"), "listed twice"),
        (("dpsgd: {name: usable,", "dpsgd: {name: usable, sampling: shuffle,"), "training.sampling"),
        (("    arm_recipes:\n", "    recipes: [{name: usable}]\n    arm_recipes:\n"), "named twice"),
    ],
    ids=["strategy-not-in-grid", "unknown-label", "variant-twice", "shuffled-dp-recipe", "recipe-named-twice"],
)
def test_impossible_study_settings_are_refused_in_one_line(tmp_path: Path, change: tuple[str, str], field: str) -> None:
    text = SWEEP.replace(*change)
    assert text != SWEEP
    with pytest.raises(SpecError) as error:
        _spec(tmp_path, text)
    assert "\n" not in str(error.value) and field in str(error.value)


def test_a_dp_arm_without_an_arm_recipe_keeps_the_shared_recipe_and_its_key(tmp_path: Path) -> None:
    plain = SWEEP.replace(
        "    arm_recipes:\n      dpsgd: {name: usable, epochs: 2, batch_size: 50, lr: 2.0, momentum: 0.0}\n", ""
    )
    configs = _spec(tmp_path, plain).trial_configs()
    assert {c.arm for c in configs} == {"SGD", "DP ε=8 C=1"} and len({c.training for c in configs}) == 1
    assert all(not math.isnan(c.alpha) for c in configs)


def test_a_one_run_audit_on_the_command_line_finds_the_arm_recipes_point_and_the_first_strategy(
    tmp_path: Path,
) -> None:
    from acadp.sweep.one_run_audits import PointRequest, resolve_point

    spec = _spec(tmp_path)
    configs = spec.trial_configs()
    arm_recipes = {"usable"}
    dp = resolve_point(configs, PointRequest(alpha=0.1, epsilon=8.0), datasets=["mnist5k"], arm_recipes=arm_recipes)
    assert dp.arm == "DP ε=8 C=1 [usable]" and dp.strategy == "feature_label"
    with pytest.raises(SpecError, match="--epsilon: 8 is not in the sweep's grid"):
        resolve_point(configs, PointRequest(alpha=0.1, epsilon=8.0), datasets=["mnist5k"])  # not told the recipe
