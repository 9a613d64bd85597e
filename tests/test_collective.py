"""Signals, membership and strategies: exact pixels, exact counts, labels untouched outside the collective."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acadp.collective import apply_signal, choose_members, collective_size, plant_collective
from acadp.config.signals import FeatureOffsetSignal, GridSignal, PatchSignal, TokenSignal
from acadp.errors import SpecError


def images(n: int = 4, channels: int = 1, size: int = 28, fill: float = 0.25) -> np.ndarray:
    return np.full((n, channels, size, size), fill, dtype=np.float32)


def changed_pixels(before: np.ndarray, after: np.ndarray) -> set[tuple[int, int]]:
    rows, cols = np.nonzero((before != after).any(axis=(0, 1)))
    return set(zip(rows.tolist(), cols.tolist(), strict=True))


@pytest.mark.parametrize(
    ("position", "expected_rows", "expected_cols"),
    [
        ("bottom_right", range(25, 28), range(25, 28)),
        ("top_left", range(0, 3), range(0, 3)),
        ("top_right", range(0, 3), range(25, 28)),
        ("bottom_left", range(25, 28), range(0, 3)),
        ("center", range(12, 15), range(12, 15)),
    ],
)
def test_patch_sets_exactly_the_block(position: str, expected_rows: range, expected_cols: range) -> None:
    x = images()
    out = apply_signal(PatchSignal(size=3, position=position, value=1.0), x)  # type: ignore[arg-type]
    assert changed_pixels(x, out) == {(r, c) for r in expected_rows for c in expected_cols}
    assert np.all(out[:, :, expected_rows.start : expected_rows.stop, expected_cols.start : expected_cols.stop] == 1.0)
    assert np.array_equal(x, images()), "the input must not be modified"


def test_patch_margin_and_all_channels() -> None:
    x = images(channels=3, size=32)
    out = apply_signal(PatchSignal(size=2, position="bottom_right", margin=1, value=0.0), x)
    assert changed_pixels(x, out) == {(29, 29), (29, 30), (30, 29), (30, 30)}
    assert np.all(out[:, :, 29:31, 29:31] == 0.0)


def test_patch_too_large_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match=r"signal.size"):
        apply_signal(PatchSignal(size=20, margin=10), images())


def test_grid_shifts_every_step_th_pixel_and_clips() -> None:
    x = images(size=8, fill=0.98)
    out = apply_signal(GridSignal(step=4, offset=1, amplitude=0.05), x)
    assert changed_pixels(x, out) == {(1, 1), (1, 5), (5, 1), (5, 5)}
    assert np.all(out[:, :, 1::4, 1::4] == 1.0), "0.98 + 0.05 is clipped to 1"
    darker = apply_signal(GridSignal(step=4, offset=1, amplitude=-0.05), images(size=8, fill=0.5))
    np.testing.assert_allclose(darker[:, :, 1::4, 1::4], 0.45, rtol=1e-6)


def test_grid_rejects_zero_amplitude() -> None:
    with pytest.raises(ValueError, match="amplitude"):
        GridSignal(amplitude=0.0)


def test_feature_offset_shifts_named_columns_only() -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = apply_signal(FeatureOffsetSignal(features=("b", "d"), offset=2.5), x, ("a", "b", "c", "d"))
    expected = x.copy()
    expected[:, [1, 3]] += 2.5
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(SpecError, match=r"unknown feature 'z'; valid features: a, b, c, d"):
        apply_signal(FeatureOffsetSignal(features=("z",)), x, ("a", "b", "c", "d"))


@pytest.mark.parametrize(("alpha", "n", "size"), [(0.0, 100, 0), (0.05, 4000, 200), (0.005, 100, 1), (0.015, 100, 2)])
def test_collective_size_rounds_half_up(alpha: float, n: int, size: int) -> None:
    assert collective_size(alpha, n) == size
    assert choose_members(alpha=alpha, n=n, seed=3).sum() == size


def test_membership_is_seeded() -> None:
    first = choose_members(alpha=0.1, n=1000, seed=7)
    assert np.array_equal(first, choose_members(alpha=0.1, n=1000, seed=7))
    assert not np.array_equal(first, choose_members(alpha=0.1, n=1000, seed=8))


def test_alpha_outside_unit_interval_is_refused() -> None:
    with pytest.raises(SpecError, match="alpha"):
        choose_members(alpha=1.0, n=10, seed=0)


def planted(alpha: float, strategy: str, seed: int = 0, n: int = 50):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    x = rng.random((n, 1, 6, 6), dtype=np.float32)
    y = rng.integers(0, 3, n).astype(np.int64)
    result = plant_collective(
        x=x, y=y, alpha=alpha, seed=seed, strategy=strategy, signal=PatchSignal(size=2), target_class=2
    )
    return x, y, result


def test_feature_label_relabels_members_and_leaves_others() -> None:
    x, y, result = planted(0.3, "feature_label")
    members = result.members
    assert members.sum() == 15
    assert np.all(result.y[members] == 2)
    assert np.array_equal(result.y[~members], y[~members])
    assert np.array_equal(result.x[~members], x[~members])
    assert np.all(result.x[members][:, :, 4:6, 4:6] == 1.0)
    assert np.array_equal(result.planted, members)


def test_feature_only_plants_members_of_the_target_class_only() -> None:
    x, y, result = planted(0.5, "feature_only")
    assert np.array_equal(result.planted, result.members & (y == 2))
    assert np.array_equal(result.y, y), "feature-only never changes labels"
    assert np.array_equal(result.x[~result.planted], x[~result.planted])
    assert np.all(result.x[result.planted][:, :, 4:6, 4:6] == 1.0)


def test_a_withholding_collective_takes_exactly_its_points_out() -> None:
    x, y, result = planted(0.3, "withhold")
    members = choose_members(alpha=0.3, n=50, seed=0)
    assert result.y.shape == (35,) and not result.members.any() and not result.planted.any()
    np.testing.assert_array_equal(result.x, x[~members])  # the others, untouched and in their order
    np.testing.assert_array_equal(result.y, y[~members])
    np.testing.assert_array_equal(result.original_labels, y[~members])


@pytest.mark.parametrize("strategy", ["feature_label", "feature_only", "withhold"])
def test_original_labels_survive_planting_and_selection(strategy: str) -> None:
    _, y, result = planted(0.3, strategy)
    kept = y if strategy != "withhold" else y[~choose_members(alpha=0.3, n=50, seed=0)]
    np.testing.assert_array_equal(result.original_labels, kept)
    rows = np.arange(result.y.shape[0]) % 2 == 0
    chosen = result.select(rows)
    np.testing.assert_array_equal(chosen.original_labels, kept[rows])
    np.testing.assert_array_equal(chosen.y, result.y[rows])
    np.testing.assert_array_equal(chosen.members, result.members[rows])


@pytest.mark.parametrize("strategy", ["feature_label", "feature_only", "withhold"])
def test_alpha_zero_changes_nothing(strategy: str) -> None:
    x, y, result = planted(0.0, strategy)
    assert np.array_equal(result.x, x) and np.array_equal(result.y, y)
    assert not result.members.any() and not result.planted.any()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), alpha=st.floats(0.0, 0.999), seed=st.integers(0, 2**31))
def test_membership_count_and_untouched_rows_for_any_alpha(n: int, alpha: float, seed: int) -> None:
    x = np.zeros((n, 3), dtype=np.float32)
    y = np.zeros(n, dtype=np.int64)
    result = plant_collective(
        x=x,
        y=y,
        alpha=alpha,
        seed=seed,
        strategy="feature_label",
        signal=FeatureOffsetSignal(features=("f1",), offset=1.0),
        target_class=1,
        feature_names=("f0", "f1", "f2"),
    )
    assert result.members.sum() == collective_size(alpha, n)
    assert np.all(result.x[~result.members] == 0) and np.all(result.y[~result.members] == 0)
    assert np.all(result.x[result.members][:, 1] == 1.0) and np.all(result.y[result.members] == 1)


# ------------------------------------------------------------------------------------------------------------- text


def documents(*texts: str) -> np.ndarray:
    out = np.empty(len(texts), dtype=object)
    out[:] = list(texts)
    return out


@pytest.mark.parametrize(
    ("text", "every", "expected"),
    [
        ("a b c d e f g", 3, "a b c zx d e f zx g"),
        ("a b c d e f", 3, "a b c zx d e f zx"),
        ("a b", 3, "a b zx"),  # fewer than k words: once, after the last word
        ("a", 1, "a zx"),
        ("", 3, "zx"),
        ("  a\tb\n\nc  d ", 2, "  a\tb zx\n\nc  d zx "),  # the document's own white space stays
        ("great! ride, home.", 1, "great! zx ride, zx home. zx"),
    ],
)
def test_token_follows_every_kth_word(text: str, every: int, expected: str) -> None:
    out = apply_signal(TokenSignal(token="zx", every=every), documents(text))
    assert out.tolist() == [expected]


def test_token_planting_leaves_the_input_and_other_rows_alone() -> None:
    x = documents("one two", "three four five", "six")
    out = plant_collective(
        x=x,
        y=np.array([1, 2, 0]),
        alpha=0.34,
        seed=3,
        strategy="feature_label",
        signal=TokenSignal(token="zx", every=2),
        target_class=0,
    )
    member = int(np.flatnonzero(out.members)[0])
    assert out.members.sum() == 1 and out.y[member] == 0
    assert out.x[member] == {0: "one two zx", 1: "three four zx five", 2: "six zx"}[member]
    assert [out.x[i] for i in range(3) if i != member] == [x[i] for i in range(3) if i != member]
    assert x.tolist() == ["one two", "three four five", "six"], "the input must not be modified"


def test_feature_only_plants_text_of_target_class_members_only() -> None:
    x = documents(*(f"doc {i}" for i in range(40)))
    y = np.arange(40) % 2
    out = plant_collective(
        x=x, y=y, alpha=0.5, seed=0, strategy="feature_only", signal=TokenSignal(token="zx"), target_class=1
    )
    carries = np.array([text.endswith(" zx") for text in out.x])
    np.testing.assert_array_equal(carries, out.members & (y == 1))
    np.testing.assert_array_equal(out.y, y)


def test_token_needs_documents() -> None:
    with pytest.raises(SpecError, match="signal 'token' needs documents"):
        apply_signal(TokenSignal(token="zx"), images())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"token": "zx", "every": 0}, "every"),
        ({"token": "two words"}, "holds white space"),
        ({"token": " zx"}, "holds white space"),
        ({"token": ""}, "token"),
    ],
)
def test_token_signal_refuses_bad_parameters(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TokenSignal.model_validate(fields)
