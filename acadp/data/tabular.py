"""Tabular features as models take them: one-hot categories and standardised numbers, fitted on the training split."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np


def encode_columns(
    columns: dict[str, np.ndarray],
    *,
    features: Sequence[str],
    numeric: Collection[str],
    train: np.ndarray,
    test: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """One-hot encode categorical and standardise numeric columns with training-split statistics only.

    ``columns`` maps each name in ``features`` to an array (n,) (float64 for the names in ``numeric``, str objects
    otherwise); ``train``/``test`` are row indices. A numeric column keeps its name and is (x − mean) / std with the
    training mean and population std (a constant column becomes zeros); a categorical column becomes one 0/1 column
    per category seen in training, named ``column=category`` and sorted (a test value never seen in training gets all
    zeros). Returns x_train float32 (n_train, n_features), x_test float32 (n_test, n_features) and the feature names,
    in the order of ``features``.
    """
    train_blocks, test_blocks, names = [], [], []
    for name in features:
        values = columns[name]
        if name in numeric:
            mean = float(values[train].mean())
            std = float(values[train].std())  # population std (ddof=0)
            scale = std if std > 0 else 1.0
            train_blocks.append(((values[train] - mean) / scale)[:, None])
            test_blocks.append(((values[test] - mean) / scale)[:, None])
            names.append(name)
        else:
            categories = np.array(sorted(set(values[train].tolist())), dtype=object)  # (n_categories,)
            train_blocks.append(values[train][:, None] == categories[None, :])
            test_blocks.append(values[test][:, None] == categories[None, :])
            names.extend(f"{name}={category}" for category in categories)
    x_train = np.hstack([block.astype(np.float32) for block in train_blocks])
    x_test = np.hstack([block.astype(np.float32) for block in test_blocks])
    return x_train, x_test, tuple(names)
