"""Prepared arrays are cached once per data directory, so later trials never re-parse raw files.

The cache file is ``<data_dir>/prepared/<name>-v<version>.npz`` (:func:`cache_path`); it is written atomically
(:func:`acadp.store.atomic.atomic_path`) under a file lock, so concurrent trials on one node prepare a dataset once
and never read a half-written file.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from acadp.data.base import DATASETS, ArrayDataset, DatasetSource
from acadp.environment import DATA_DIR
from acadp.store.atomic import atomic_path

_MEMO: dict[tuple[str, str], ArrayDataset] = {}
_MEMO_LOCK = threading.Lock()


def default_data_dir() -> Path:
    """``$ACADP_DATA_DIR`` if set, else ``~/.cache/acadp/data``."""
    return DATA_DIR.get() or Path.home() / ".cache" / "acadp" / "data"


def cache_path(source: DatasetSource, data_dir: Path, image_size: int | None = None) -> Path:
    """Where the prepared arrays of ``source`` (resized to ``image_size`` for a resizing loader) live."""
    size = "" if source.image_size is None else f"-{image_size or source.image_size}px"
    return data_dir / "prepared" / f"{source.name}-v{source.version}{size}.npz"


def load_dataset(
    name: str, *, data_dir: Path | None = None, download: bool = True, image_size: int | None = None
) -> ArrayDataset:
    """The prepared dataset ``name``: from this process's memory, else the on-disk cache, else the raw files.
    ``image_size`` is the image side of a resizing loader (default: its own); other datasets ignore it.

    Raises :class:`acadp.errors.RegistryError` for an unknown name (listing the valid ones) and
    :class:`acadp.errors.DataMissingError` when raw files are absent and cannot be downloaded.
    """
    source = DATASETS.get(name)
    root = (data_dir or default_data_dir()).expanduser().resolve()
    size = None if source.image_size is None else image_size or source.image_size
    key = (name, f"{root}@{size}")
    with _MEMO_LOCK:
        if key in _MEMO:
            return _MEMO[key]
    dataset = _load_or_prepare(source, root, download, size)
    with _MEMO_LOCK:
        _MEMO[key] = dataset
    return dataset


def _load_or_prepare(source: DatasetSource, root: Path, download: bool, image_size: int | None) -> ArrayDataset:
    path = cache_path(source, root, image_size)
    if path.exists():
        return _read_cache(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():  # prepared by another process while we waited for the lock
            return _read_cache(path)
        dataset = (
            source.load(root, download) if image_size is None else source.load(root, download, image_size=image_size)
        )
        dataset.validate()
        _write_cache(dataset, path)
    return dataset


def _write_cache(dataset: ArrayDataset, path: Path) -> None:
    meta = {
        "name": dataset.name,
        "n_classes": dataset.n_classes,
        "modality": dataset.modality,
        "feature_names": list(dataset.feature_names),
        "class_names": list(dataset.class_names),
        "channel_mean": list(dataset.channel_mean),
        "channel_std": list(dataset.channel_std),
        "attribute_names": list(dataset.attribute_names),
    }
    attributes: dict[str, Any] = {}  # Any: numpy's stub types every keyword like allow_pickle
    if dataset.a_train is not None and dataset.a_test is not None:
        attributes = {"a_train": dataset.a_train, "a_test": dataset.a_test}
    # np.savez appends ".npz" to a file name without it, so it writes to an open handle on the temporary file
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            x_train=dataset.x_train,
            y_train=dataset.y_train,
            x_test=dataset.x_test,
            y_test=dataset.y_test,
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            **attributes,
        )


def _read_cache(path: Path) -> ArrayDataset:
    with np.load(path, allow_pickle=False) as arrays:
        meta = json.loads(arrays["meta"].tobytes().decode())
        grouped = "a_train" in arrays.files
        return ArrayDataset(
            name=meta["name"],
            x_train=arrays["x_train"],
            y_train=arrays["y_train"],
            x_test=arrays["x_test"],
            y_test=arrays["y_test"],
            n_classes=int(meta["n_classes"]),
            modality=meta["modality"],
            feature_names=tuple(meta["feature_names"]),
            class_names=tuple(meta["class_names"]),
            channel_mean=tuple(meta["channel_mean"]),
            channel_std=tuple(meta["channel_std"]),
            a_train=arrays["a_train"] if grouped else None,
            a_test=arrays["a_test"] if grouped else None,
            attribute_names=tuple(meta.get("attribute_names", ())),
        )


def clear_memory_cache() -> None:
    """Forget datasets held in this process (tests use it to exercise the on-disk cache)."""
    with _MEMO_LOCK:
        _MEMO.clear()
