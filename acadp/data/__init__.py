"""Dataset registry: ``mnist5k`` (embedded), ``mnist``, ``cifar10``, ``cifar100``, ``bank``, and the datasets with
groups ``mnist5k_spurious`` (embedded) and ``waterbirds`` → prepared arrays.

Importing this package registers every built-in dataset; :func:`load_dataset` looks one up by name. Datasets are
prepared once per data directory into an atomically written cache. May import: ``errors``, ``registry``, ``seeding``
and ``store.atomic``; never a model, a learner, Ray or MLflow.
"""

from acadp.data import bank, cifar, mnist, mnist5k, spurious, waterbirds  # noqa: F401  (importing registers the datasets)
from acadp.data.base import DATASETS, ArrayDataset, DatasetSource, register_dataset
from acadp.data.cache import clear_memory_cache, default_data_dir, load_dataset

__all__ = [
    "DATASETS",
    "ArrayDataset",
    "DatasetSource",
    "clear_memory_cache",
    "default_data_dir",
    "load_dataset",
    "register_dataset",
]
