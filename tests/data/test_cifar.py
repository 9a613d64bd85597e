"""The CIFAR loaders read the original python-version pickles exactly and refuse pickles that could run code."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from acadp.data import clear_memory_cache, load_dataset
from acadp.data.cifar import CIFAR100_FINE_NAMES
from acadp.data.pickles import load_restricted_pickle
from acadp.errors import DataFormatError, DataMissingError

CIFAR10_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]


def random_rows(n: int, seed: int) -> np.ndarray:
    """(n, 3072) uint8 rows as in the originals: 1024 red, 1024 green, 1024 blue values, each 32x32 row-major."""
    return np.random.default_rng(seed).integers(0, 256, size=(n, 3072), dtype=np.uint8)


def dump(path: Path, obj: object, protocol: int = 2) -> None:
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=protocol)


def write_cifar10(data_dir: Path, *, protocol: int = 2, meta: bool = True) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Five training batches of 2 images and a test batch of 3, as dicts shaped like the originals."""
    folder = data_dir / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train_rows, train_labels = random_rows(10, seed=0), [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    for i in range(5):
        batch = {
            b"batch_label": f"training batch {i + 1} of 5".encode(),
            b"labels": train_labels[2 * i : 2 * i + 2],
            b"data": train_rows[2 * i : 2 * i + 2],
            b"filenames": [f"img_{2 * i}.png".encode(), f"img_{2 * i + 1}.png".encode()],
        }
        dump(folder / f"data_batch_{i + 1}", batch, protocol)
    test_rows = random_rows(3, seed=1)
    dump(folder / "test_batch", {b"batch_label": b"testing batch 1 of 1", b"labels": [0, 8, 9], b"data": test_rows})
    if meta:
        dump(folder / "batches.meta", {b"label_names": CIFAR10_NAMES, b"num_cases_per_batch": 10000, b"num_vis": 3072})
    return train_rows, train_labels, test_rows


def write_cifar100(data_dir: Path, *, meta: bool = True) -> tuple[np.ndarray, list[int]]:
    folder = data_dir / "cifar-100-python"
    folder.mkdir(parents=True)
    rows, fine = random_rows(4, seed=2), [0, 99, 42, 7]
    for name, part in (("train", slice(0, 3)), ("test", slice(3, 4))):
        batch = {
            b"filenames": [b"a.png"] * len(fine[part]),
            b"batch_label": name.encode(),
            b"fine_labels": fine[part],
            b"coarse_labels": [0] * len(fine[part]),
            b"data": rows[part],
        }
        dump(folder / name, batch)
    if meta:
        names = [f"class_{i:02d}".encode() for i in range(100)]
        dump(folder / "meta", {b"fine_label_names": names, b"coarse_label_names": [b"c"] * 20})
    return rows, fine


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_pixels_and_labels_round_trip_exactly(tmp_path: Path, protocol: int) -> None:
    train_rows, train_labels, test_rows = write_cifar10(tmp_path, protocol=protocol)
    data = load_dataset("cifar10", data_dir=tmp_path, download=False)

    assert data.x_train.shape == (10, 3, 32, 32) and data.x_test.shape == (3, 3, 32, 32)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    np.testing.assert_array_equal(data.y_train, train_labels)  # batches 1..5 in order
    np.testing.assert_array_equal(data.y_test, [0, 8, 9])
    # Channel c, row r, column k of image i is byte c * 1024 + r * 32 + k of row i.
    for i, c, r, k in [(0, 0, 0, 0), (3, 1, 5, 7), (9, 2, 31, 31), (4, 2, 0, 31)]:
        assert data.x_train[i, c, r, k] == np.float32(train_rows[i, c * 1024 + r * 32 + k]) / np.float32(255)
    np.testing.assert_array_equal(data.x_test * 255, test_rows.reshape(3, 3, 32, 32).astype(np.float32))
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    assert data.class_names[0] == "airplane" and data.class_names[9] == "truck"
    assert data.channel_mean == (0.4914, 0.4822, 0.4465) and data.channel_std == (0.2470, 0.2435, 0.2616)


def test_cifar100_uses_fine_labels_and_meta_names(tmp_path: Path) -> None:
    rows, fine = write_cifar100(tmp_path)
    data = load_dataset("cifar100", data_dir=tmp_path, download=False)

    assert data.n_classes == 100 and data.x_train.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(data.y_train, fine[:3])
    np.testing.assert_array_equal(data.y_test, fine[3:])
    np.testing.assert_array_equal(data.x_test[0] * 255, rows[3].reshape(3, 32, 32).astype(np.float32))
    assert data.class_names[99] == "class_99"
    assert data.channel_mean == (0.5071, 0.4865, 0.4409) and data.channel_std == (0.2673, 0.2564, 0.2762)


def test_without_meta_files_the_official_names_are_used(tmp_path: Path) -> None:
    write_cifar10(tmp_path / "ten", meta=False)
    write_cifar100(tmp_path / "hundred", meta=False)
    assert load_dataset("cifar10", data_dir=tmp_path / "ten", download=False).class_names == tuple(
        name.decode() for name in CIFAR10_NAMES
    )
    names = load_dataset("cifar100", data_dir=tmp_path / "hundred", download=False).class_names
    assert names == CIFAR100_FINE_NAMES and len(set(names)) == 100 and list(names) == sorted(names)


@pytest.mark.parametrize(
    ("dataset", "folder", "archive", "files"),
    [
        ("cifar10", "cifar-10-batches-py", "cifar-10-python.tar.gz", "data_batch_1, data_batch_2"),
        ("cifar100", "cifar-100-python", "cifar-100-python.tar.gz", "train, test"),
    ],
)
def test_missing_files_name_folder_and_archive(
    tmp_path: Path, dataset: str, folder: str, archive: str, files: str
) -> None:
    with pytest.raises(DataMissingError) as caught:
        load_dataset(dataset, data_dir=tmp_path, download=False)
    message = str(caught.value)
    assert files in message and str(tmp_path / folder) in message
    assert archive in message and "--data-dir" in message


def test_one_missing_batch_is_named(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DataMissingError, match=r"missing data_batch_4 in"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def test_failed_download_is_reported_as_missing_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets

    def offline(**kwargs: object) -> None:
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torchvision.datasets, "CIFAR100", offline)
    with pytest.raises(DataMissingError, match=r"download failed \(OSError: <urlopen error") as caught:
        load_dataset("cifar100", data_dir=tmp_path, download=True)
    assert "cifar-100-python.tar.gz" in str(caught.value)


class CallOnLoad:
    """Pickles as ``function(*args)``: what a malicious pickle would do."""

    def __init__(self, function: object, *args: object) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.function, self.args


@pytest.mark.parametrize("attack", ["os.system", "builtins.eval", "numpy.load"])
def test_pickle_with_a_forbidden_global_is_refused_without_running_it(tmp_path: Path, attack: str) -> None:
    write_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    payload = {
        "os.system": CallOnLoad(os.system, f"touch {marker}"),
        "builtins.eval": CallOnLoad(eval, f"open({str(marker)!r}, 'w')"),
        "numpy.load": CallOnLoad(np.load, str(marker)),
    }[attack]
    dump(tmp_path / "cifar-10-batches-py" / "test_batch", {b"labels": [0], b"data": payload})
    with pytest.raises(DataFormatError, match=r"test_batch: refusing to unpickle the global"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert not marker.exists()


def test_restricted_unpickler_rebuilds_numpy_values(tmp_path: Path) -> None:
    original = {b"data": np.arange(6, dtype=np.uint8).reshape(2, 3), b"n": np.int64(7), b"names": [b"a", "b"]}
    for protocol in (2, 4, 5):
        dump(tmp_path / "x", original, protocol)
        loaded = load_restricted_pickle(tmp_path / "x")
        assert isinstance(loaded, dict)
        np.testing.assert_array_equal(loaded[b"data"], original[b"data"])
        assert loaded[b"n"] == 7 and loaded[b"names"] == [b"a", "b"]


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([1, 2, 3], "expected a pickled dict, found list"),
        ({b"labels": [0, 1]}, "b'data' must be a uint8 array of shape"),
        ({b"labels": [0], b"data": np.zeros((1, 3072), dtype=np.float32)}, "found float32 array"),
        ({b"labels": [0], b"data": np.zeros((1, 1024), dtype=np.uint8)}, r"found uint8 array of shape \(1, 1024\)"),
        ({b"data": np.zeros((1, 3072), dtype=np.uint8)}, "no b'labels' entry"),
        ({b"labels": [0, 1], b"data": np.zeros((1, 3072), dtype=np.uint8)}, "must hold 1 integer labels"),
        ({b"labels": [10], b"data": np.zeros((1, 3072), dtype=np.uint8)}, r"labels must lie in 0\.\.9"),
        ({"labels": [0], "data": np.zeros((1, 3072), dtype=np.uint8)}, "b'data' must be"),  # str keys
    ],
)
def test_malformed_batches_are_format_errors(tmp_path: Path, batch: object, message: str) -> None:
    write_cifar10(tmp_path)
    dump(tmp_path / "cifar-10-batches-py" / "data_batch_2", batch)
    with pytest.raises(DataFormatError, match=f"data_batch_2: .*{message}"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", None])
def test_damaged_pickles_are_format_errors(tmp_path: Path, content: bytes | None) -> None:
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:100] if content is None else content)
    with pytest.raises(DataFormatError, match="data_batch_3: not a readable pickle of numpy data"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def test_a_meta_file_with_the_wrong_class_count_is_a_format_error(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    dump(tmp_path / "cifar-10-batches-py" / "batches.meta", {b"label_names": CIFAR10_NAMES[:9]})
    with pytest.raises(DataFormatError, match=r"batches\.meta: expected a dict whose b'label_names' entry lists 10"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def test_cache_keeps_class_names_and_constants(tmp_path: Path) -> None:
    write_cifar10(tmp_path)
    first = load_dataset("cifar10", data_dir=tmp_path, download=False)
    shutil.rmtree(tmp_path / "cifar-10-batches-py")
    clear_memory_cache()
    second = load_dataset("cifar10", data_dir=tmp_path, download=False)  # from prepared/cifar10-v1.npz
    assert second is not first and second.class_names == first.class_names
    np.testing.assert_array_equal(second.x_train, first.x_train)
    assert second.channel_mean == (0.4914, 0.4822, 0.4465) and second.channel_std == (0.2470, 0.2435, 0.2616)
