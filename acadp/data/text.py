"""What the text datasets share: documents as an object array of str, and the fixed split of a corpus without one.

A text dataset's ``x`` is a numpy object array (n,) of Python ``str`` — the raw document, as the source holds it
(tokenisation belongs to the model). Labels are int64 indices into the dataset's ``class_names``.

:func:`duplicate_aware_split` is the split of every corpus that ships without one: seeded, stratified by label, and
identical documents always land on the same side (several corpora hold exact duplicates; a duplicate on both sides
would be a test document the model trained on, which matters to membership inference above all).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from acadp.data.base import ArrayDataset

TEST_FRACTION = 0.2  # the share of each class held out by the text datasets' own splits


def documents(texts: Sequence[str]) -> np.ndarray:
    """``texts`` as the object array (n,) of str that text datasets hold."""
    array = np.empty(len(texts), dtype=object)
    array[:] = list(texts)
    return array


def duplicate_aware_split(
    texts: Sequence[str], labels: np.ndarray, *, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted index arrays (train, test): a seeded split, stratified by label, that keeps identical texts together.

    Identical texts form one unit, labelled by its first document. Per label c, round(test_fraction · n_c) units are
    drawn without replacement (n_c: the units labelled c) and all their documents go to the test split.
    """
    first_index: dict[str, int] = {}
    unit = np.array([first_index.setdefault(text, i) for i, text in enumerate(texts)], dtype=np.int64)  # (n,)
    heads = np.unique(unit)  # one document per unit: its first
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = heads[labels[heads] == label]
        chosen.append(rng.choice(members, size=round(test_fraction * members.size), replace=False))
    in_test = np.isin(unit, np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64))
    return np.flatnonzero(~in_test), np.flatnonzero(in_test)


def text_dataset(
    name: str,
    *,
    texts: Sequence[str],
    labels: np.ndarray,
    class_names: tuple[str, ...],
    seed: int,
    source: tuple[str, str] | None,
) -> ArrayDataset:
    """A text dataset split by :func:`duplicate_aware_split` (``seed``); ``source`` is (label, archive sha256) as a
    fetch recorded it, or None for files placed by hand."""
    train, test = duplicate_aware_split(texts, labels, test_fraction=TEST_FRACTION, seed=seed)
    x = documents(texts)
    return ArrayDataset(
        name=name,
        x_train=x[train],
        y_train=labels[train].astype(np.int64),
        x_test=x[test],
        y_test=labels[test].astype(np.int64),
        n_classes=len(class_names),
        modality="text",
        class_names=class_names,
        source=source[0] if source else "",
        source_sha256=source[1] if source else "",
    )
