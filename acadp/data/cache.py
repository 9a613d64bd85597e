"""Prepared arrays are cached once per data directory, so later trials never re-parse raw files.

The cache file is ``<data_dir>/prepared/<name>-v<version>.npz`` (:func:`cache_path`); it is written atomically
(:func:`acadp.store.atomic.atomic_path`) under a file lock, so concurrent trials on one node prepare a dataset once
and never read a half-written file. It is read without pickle: text datasets store each split's documents as one
UTF-8 byte array plus the (n + 1,) offsets of the documents in it (``x_train_utf8``, ``x_train_offsets``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from dataclasses import replace
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
        return _read_cache(path, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():  # prepared by another process while we waited for the lock
            return _read_cache(path, source)
        dataset = (
            source.load(root, download) if image_size is None else source.load(root, download, image_size=image_size)
        )
        dataset.validate()
        dataset = _with_origin(dataset, source)
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
        "source": dataset.source,
        "source_sha256": dataset.source_sha256,
    }
    arrays: dict[str, Any] = {"y_train": dataset.y_train, "y_test": dataset.y_test}  # Any: numpy's stub types
    for split, x in (("train", dataset.x_train), ("test", dataset.x_test)):
        arrays.update(_pack_texts(f"x_{split}", x) if dataset.modality == "text" else {f"x_{split}": x})
    if dataset.a_train is not None and dataset.a_test is not None:
        arrays.update(a_train=dataset.a_train, a_test=dataset.a_test)
    # np.savez appends ".npz" to a file name without it, so it writes to an open handle on the temporary file
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)


def _pack_texts(key: str, texts: np.ndarray) -> dict[str, np.ndarray]:
    """Documents (n,) of str → ``<key>_utf8`` uint8 (total bytes,) and ``<key>_offsets`` int64 (n + 1,)."""
    encoded = [text.encode("utf-8") for text in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(item) for item in encoded], out=offsets[1:])
    return {f"{key}_utf8": np.frombuffer(b"".join(encoded), dtype=np.uint8), f"{key}_offsets": offsets}


def _unpack_texts(utf8: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_pack_texts`: an object array (n,) of str."""
    data = utf8.tobytes()
    texts = np.empty(offsets.size - 1, dtype=object)
    texts[:] = [data[start:end].decode("utf-8") for start, end in itertools.pairwise(offsets.tolist())]
    return texts


def _read_x(arrays: Any, key: str) -> np.ndarray:
    if f"{key}_utf8" in arrays.files:
        return _unpack_texts(arrays[f"{key}_utf8"], arrays[f"{key}_offsets"])
    return arrays[key]


def arrays_sha256(dataset: ArrayDataset) -> str:
    """sha256 over the prepared arrays (x, y of both splits, then the group attributes), each as its dtype, shape
    and bytes; text documents as their UTF-8 bytes, each followed by a zero byte."""
    digest = hashlib.sha256()
    parts = [dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test]
    parts += [a for a in (dataset.a_train, dataset.a_test) if a is not None]
    for array in parts:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        if array.dtype == object:
            for text in array:
                digest.update(str(text).encode("utf-8") + b"\0")
        else:
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _with_origin(dataset: ArrayDataset, source: DatasetSource) -> ArrayDataset:
    """``dataset`` with its source named (the fetch record the loader found; else, for a dataset with a registry
    archive, the folder it was read from; else the registered origin) and ``source_sha256`` set to
    :func:`arrays_sha256` when the loader recorded no archive hash."""
    unfetched = f"files in {source.archive.folder}" if source.archive is not None else source.facts.origin
    named = dataset.source or unfetched or "local files"
    return replace(dataset, source=named, source_sha256=dataset.source_sha256 or arrays_sha256(dataset))


def _read_cache(path: Path, source: DatasetSource) -> ArrayDataset:
    with np.load(path, allow_pickle=False) as arrays:
        meta = json.loads(arrays["meta"].tobytes().decode())
        grouped = "a_train" in arrays.files
        dataset = ArrayDataset(
            name=meta["name"],
            x_train=_read_x(arrays, "x_train"),
            y_train=arrays["y_train"],
            x_test=_read_x(arrays, "x_test"),
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
            source=meta.get("source", ""),
            source_sha256=meta.get("source_sha256", ""),
        )
    if "source" not in meta:  # written before sources were recorded: the hash is recomputed (once per process)
        named = source.source_label if source.embedded else "unrecorded (prepared by an earlier acadp)"
        return replace(dataset, source=named, source_sha256=arrays_sha256(dataset))
    return dataset


def clear_memory_cache() -> None:
    """Forget datasets held in this process (tests use it to exercise the on-disk cache)."""
    with _MEMO_LOCK:
        _MEMO.clear()
