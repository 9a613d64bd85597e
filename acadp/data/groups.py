"""Group counts of datasets with groups (y, a), for listings such as ``acadp datasets``."""

from __future__ import annotations

import numpy as np

from acadp.data.base import ArrayDataset

# datasets with groups that ship with acadp (no files to fetch), so their counts can always be listed
EMBEDDED_WITH_GROUPS = ("mnist5k_spurious",)
NOT_EMBEDDED = {"waterbirds": "(y, place); needs the release folder"}


def group_counts(dataset: ArrayDataset, split: str) -> dict[str, int]:
    """Examples per group ``<class>/<attribute>`` of ``split`` (``train`` or ``test``); empty without groups."""
    a = dataset.a_train if split == "train" else dataset.a_test
    y = dataset.y_train if split == "train" else dataset.y_test
    if a is None:
        return {}
    classes = dataset.class_names or tuple(str(c) for c in range(dataset.n_classes))
    ids = y * dataset.n_attributes + a
    counts = np.bincount(ids, minlength=dataset.n_classes * dataset.n_attributes)
    names = [f"{classes[c]}/{name}" for c in range(dataset.n_classes) for name in dataset.attribute_names]
    return {name: int(count) for name, count in zip(names, counts, strict=True)}


def embedded_group_counts(name: str) -> str:
    """``"0-4/plain 1900/250, ..."`` for an embedded dataset with groups, a note for others with groups, else ""."""
    if name in NOT_EMBEDDED:
        return NOT_EMBEDDED[name]
    if name not in EMBEDDED_WITH_GROUPS:
        return ""
    from acadp.data.cache import load_dataset

    dataset = load_dataset(name)
    train, test = group_counts(dataset, "train"), group_counts(dataset, "test")
    return ", ".join(f"{group} {train[group]}/{test[group]}" for group in train)
