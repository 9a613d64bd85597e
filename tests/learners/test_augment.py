"""Training augmentation: flips and shifts change the inputs as specified, come from the run's seed, resume
bit-identically from a saved state, train with every per-example gradient engine, and refuse non-image data."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

from acadp.config.trial import TrainingConfig
from acadp.errors import SpecError
from acadp.learners import LEARNERS, LearnerInputs, PrivacyTarget, TrainingRun
from acadp.learners.augment import Augmenter, translate
from acadp.lira.shadow import shifted
from acadp.models import CNNParams, MLPParams, ModelInputs, build_model


def training(**fields: object) -> TrainingConfig:
    return TrainingConfig.model_validate({"epochs": 2, "batch_size": 16, "lr": 0.5, **fields})


def images(n: int = 8, *, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_translate_moves_each_example_by_its_own_offset_with_zero_fill() -> None:
    x = torch.arange(1, 17, dtype=torch.float32).reshape(1, 1, 4, 4).repeat(3, 1, 1, 1)
    moved = translate(x, torch.tensor([[1, 0], [0, -2], [0, 0]]))
    expected_down = torch.tensor([[0, 0, 0, 0], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], dtype=torch.float32)
    expected_left = torch.tensor([[3, 4, 0, 0], [7, 8, 0, 0], [11, 12, 0, 0], [15, 16, 0, 0]], dtype=torch.float32)
    assert torch.equal(moved[0, 0], expected_down)
    assert torch.equal(moved[1, 0], expected_left)
    assert torch.equal(moved[2], x[2])
    assert translate(x[:0], torch.zeros(0, 2, dtype=torch.long)).shape == (0, 1, 4, 4)


@pytest.mark.parametrize(("rows", "cols"), [(2, 0), (-2, 0), (0, 3), (0, -1), (1, -1)])
def test_the_query_shift_is_the_training_translation_at_a_fixed_offset(rows: int, cols: int) -> None:
    """LiRA's shifted views (numpy, whole pool) and training's per-example translation share one convention."""
    x = images(4)
    offsets = torch.tensor([[rows, cols]]).repeat(4, 1)
    assert np.array_equal(shifted(x.numpy(), rows, cols), translate(x, offsets).numpy())


def test_flips_mirror_some_examples_and_leave_the_others() -> None:
    x = images(64)
    out = Augmenter(training(augment=["flip"]), seed=0)(x)
    flipped = [bool(torch.equal(out[i], x[i].flip(-1))) for i in range(64)]
    kept = [bool(torch.equal(out[i], x[i])) for i in range(64)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 16 < sum(flipped) < 48  # probability ½ each


def test_shifts_translate_every_example_within_the_largest_shift() -> None:
    x = images(32)
    out = Augmenter(training(augment=["shift"], augment_shift=2), seed=0)(x)
    offsets = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    found = []
    for i in range(32):
        matches = [o for o in offsets if torch.equal(out[i], translate(x[i : i + 1], torch.tensor([o]))[0])]
        assert matches, f"example {i} is no translation by at most 2 pixels"
        found.append(matches[0])
    assert len(set(found)) > 5  # offsets are drawn per example
    assert not torch.equal(out, x)


def test_augmentation_comes_from_the_seed() -> None:
    x = images(16)
    config = training(augment=["flip", "shift"])
    first, again, other = Augmenter(config, seed=3), Augmenter(config, seed=3), Augmenter(config, seed=4)
    a = [first(x), first(x)]
    assert torch.equal(a[0], again(x)) and torch.equal(a[1], again(x))
    assert not torch.equal(a[0], a[1])  # a fresh draw each step
    assert not torch.equal(a[0], other(x))


def image_run(
    *, augment: list[str], seed: int = 0, clip: float | None = None, mode: str = "bookkeeping"
) -> TrainingRun:
    x = images(96, seed=1)
    y = (x[:, 0, :, :14].mean(dim=(1, 2)) > x[:, 0, :, 14:].mean(dim=(1, 2))).long()
    model = build_model(CNNParams(), ModelInputs((1, 28, 28), 2), seed=seed)
    privacy = PrivacyTarget(epsilon=8.0, delta=1e-5, accountant="prv") if clip is not None else None
    inputs = LearnerInputs(
        model=model, x=x, y=y, training=training(augment=augment, grad_sample_mode=mode), seed=seed,
        device=torch.device("cpu"), clip=clip, privacy=privacy,
    )  # fmt: skip
    return LEARNERS.get("poisson")(inputs)


def parameters(run: TrainingRun) -> list[torch.Tensor]:
    return [p.detach().clone() for p in run.model.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a, b, strict=True))


def test_augmented_training_is_deterministic_and_differs_from_unaugmented() -> None:
    runs = [image_run(augment=["flip", "shift"]), image_run(augment=["flip", "shift"]), image_run(augment=[])]
    for run in runs:
        run.train_epoch()
    assert same(parameters(runs[0]), parameters(runs[1]))
    assert not same(parameters(runs[0]), parameters(runs[2]))


def test_a_restored_augmented_run_continues_bit_identically() -> None:
    whole = image_run(augment=["flip", "shift"])
    whole.train_epoch()
    buffer = io.BytesIO()
    torch.save(whole.state_dict(), buffer)  # as the trial checkpoint saves it
    state = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    assert "augment_rng" in state
    whole.train_epoch()
    resumed = image_run(augment=["flip", "shift"])
    resumed.load_state_dict(state)
    resumed.train_epoch()
    assert same(parameters(whole), parameters(resumed))
    assert "augment_rng" not in image_run(augment=[]).state_dict()  # checkpoints without augmentation unchanged


@pytest.mark.parametrize("mode", ["bookkeeping", "hooks"])
def test_dp_sgd_trains_on_augmented_batches_with_every_engine(mode: str) -> None:
    plain, augmented = (
        image_run(augment=[], clip=1.0, mode=mode),
        image_run(augment=["flip", "shift"], clip=1.0, mode=mode),
    )
    stats = [plain.train_epoch(), augmented.train_epoch()]
    assert all(math.isfinite(s.train_loss) for s in stats)
    assert not same(parameters(plain), parameters(augmented))
    assert augmented.privacy_report().epsilon_spent <= 8.0


def test_augmenting_rows_of_tabular_data_is_refused() -> None:
    x = torch.randn(20, 6)
    inputs = LearnerInputs(
        model=build_model(MLPParams(hidden=(4,)), ModelInputs((6,), 2), seed=0), x=x, y=(x[:, 0] > 0).long(),
        training=training(augment=["flip"]), seed=0, device=torch.device("cpu"),
    )  # fmt: skip
    with pytest.raises(SpecError, match=r"^training\.augment: \[flip\] augments images") as caught:
        LEARNERS.get("poisson")(inputs)
    assert "\n" not in str(caught.value)
