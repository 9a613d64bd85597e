"""What ``acadp datasets`` lists: each dataset's facts, source and whether it is on this machine, then the model
assets — without loading anything (no torch, no parsing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from acadp.data.archive import ARCHIVES, ArchiveSource
from acadp.data.base import DATASETS, DatasetSource


def is_cached(source: DatasetSource, data_dir: Path) -> bool:
    """Whether ``source`` can be loaded from ``data_dir`` without a download: embedded in a package, prepared there
    already, its registry archive's outputs fetched there, or (other datasets) its expected files present."""
    if source.embedded:
        return True
    if any((data_dir / "prepared").glob(f"{source.name}-v{source.version}*.npz")):
        return True
    if source.archive is not None:
        return source.archive.present(data_dir)
    files = [name for name in source.expected_files if "<" not in name]  # "<...>" marks a placeholder
    return bool(files) and all((data_dir / name).exists() for name in files)


def dataset_row(source: DatasetSource, data_dir: Path) -> dict[str, Any]:
    """One dataset as ``acadp datasets --json`` prints it."""
    facts = source.facts
    return {
        "name": source.name,
        "kind": "dataset",
        "modality": source.modality,
        "n_train": facts.n_train,
        "n_test": facts.n_test,
        "classes": list(facts.classes),
        "groups": facts.groups or None,
        "source": source.source_label,
        "sha256": source.archive.sha256 if source.archive is not None else None,
        "licence": source.licence,
        "cached": is_cached(source, data_dir),
        "description": source.description,
    }


def asset_row(name: str, archive: ArchiveSource, data_dir: Path) -> dict[str, Any]:
    """A model asset (e.g. ``minilm-l6``) in the same shape: no sizes, classes or groups."""
    return {
        "name": name,
        "kind": "model asset",
        "modality": None,
        "n_train": None,
        "n_test": None,
        "classes": [],
        "groups": None,
        "source": archive.label,
        "sha256": archive.sha256,
        "licence": archive.licence,
        "cached": archive.present(data_dir),
        "description": f"pretrained model files in <data_dir>/{archive.folder}",
    }


def dataset_rows(data_dir: Path) -> list[dict[str, Any]]:
    """Every registered dataset by name, then every model asset (a fetchable name that is not a dataset)."""
    rows = [dataset_row(DATASETS.get(name), data_dir) for name in DATASETS.names()]
    assets = [name for name in ARCHIVES.names() if name not in DATASETS]
    return rows + [asset_row(name, ARCHIVES.get(name), data_dir) for name in assets]
