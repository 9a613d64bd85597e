"""Dataset registry: ``mnist5k`` (embedded), ``mnist``, ``cifar10``, ``cifar100``, ``bank``, the datasets with
groups ``mnist5k_spurious`` (embedded), ``waterbirds``, ``adult`` and ``adult_race``, and the text corpora
``tweets``, ``bbc_news`` and ``rotten_tomatoes`` → prepared arrays; model assets (``minilm-l6``) are fetched like the
registry datasets.

Importing this package registers every built-in dataset; :func:`load_dataset` looks one up by name. Datasets are
prepared once per data directory into an atomically written cache. May import: ``errors``, ``registry``, ``seeding``
and ``store.atomic``; never a model, a learner, Ray or MLflow.
"""

# importing registers the datasets and the model assets
from acadp.data import (  # noqa: F401
    adult,
    assets,
    bank,
    bbc_news,
    cifar,
    mnist,
    mnist5k,
    rotten_tomatoes,
    spurious,
    tweets,
    waterbirds,
)
from acadp.data.archive import ARCHIVES
from acadp.data.base import DATASETS, ArrayDataset, DatasetSource, register_dataset
from acadp.data.cache import clear_memory_cache, default_data_dir, load_dataset

__all__ = [
    "ARCHIVES",
    "DATASETS",
    "ArrayDataset",
    "DatasetSource",
    "clear_memory_cache",
    "default_data_dir",
    "load_dataset",
    "register_dataset",
]
