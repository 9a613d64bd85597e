"""Prepared arrays are cached once per data directory, so later trials never re-parse raw files.

The cache file is ``<data_dir>/prepared/<name>-v<version>.npz`` (:func:`cache_path`); it is written atomically
(:func:`acadp.store.atomic.atomic_path`) under a file lock, so concurrent trials on one node prepare a dataset once
and never read a half-written file.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
from filelock import FileLock

from acadp.data.base import DATASETS, ArrayDataset, DatasetSource
from acadp.store.atomic import atomic_path

_MEMO: dict[tuple[str, str], ArrayDataset] = {}
_MEMO_LOCK = threading.Lock()


def default_data_dir() -> Path:
    """``$ACADP_DATA_DIR`` if set, else ``~/.cache/acadp/data``."""
    env = os.environ.get("ACADP_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "acadp" / "data"


def cache_path(source: DatasetSource, data_dir: Path) -> Path:
    """Where the prepared arrays of ``source`` live under ``data_dir``."""
    return data_dir / "prepared" / f"{source.name}-v{source.version}.npz"


def load_dataset(name: str, *, data_dir: Path | None = None, download: bool = True) -> ArrayDataset:
    """The prepared dataset ``name``: from this process's memory, else the on-disk cache, else the raw files.

    Raises :class:`acadp.errors.RegistryError` for an unknown name (listing the valid ones) and
    :class:`acadp.errors.DataMissingError` when raw files are absent and cannot be downloaded.
    """
    source = DATASETS.get(name)
    root = (data_dir or default_data_dir()).expanduser().resolve()
    key = (name, str(root))
    with _MEMO_LOCK:
        if key in _MEMO:
            return _MEMO[key]
    dataset = _load_or_prepare(source, root, download)
    with _MEMO_LOCK:
        _MEMO[key] = dataset
    return dataset


def _load_or_prepare(source: DatasetSource, root: Path, download: bool) -> ArrayDataset:
    path = cache_path(source, root)
    if path.exists():
        return _read_cache(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():  # prepared by another process while we waited for the lock
            return _read_cache(path)
        dataset = source.load(root, download)
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
    }
    # np.savez appends ".npz" to a file name without it, so it writes to an open handle on the temporary file
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            x_train=dataset.x_train,
            y_train=dataset.y_train,
            x_test=dataset.x_test,
            y_test=dataset.y_test,
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        )


def _read_cache(path: Path) -> ArrayDataset:
    with np.load(path, allow_pickle=False) as arrays:
        meta = json.loads(arrays["meta"].tobytes().decode())
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
        )


def clear_memory_cache() -> None:
    """Forget datasets held in this process (tests use it to exercise the on-disk cache)."""
    with _MEMO_LOCK:
        _MEMO.clear()
