"""A trial's arrays: the dataset (subsampled to ``n_train``/``n_test``), the collective planted in the training set,
and the signal-carrying test set g(x) that success is measured on; groups where the dataset has them. Text is planted
as raw documents and then read as token ids (:func:`tokenised`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from acadp.collective import PlantedData, apply_signal, choose_members, plant_collective
from acadp.config.signals import TokenSignal
from acadp.config.trial import TrialConfig
from acadp.data import ArrayDataset, load_dataset
from acadp.data.tokens import clean_token_ids, wordpieces
from acadp.errors import SpecError
from acadp.seeding import numpy_rng


@dataclass(frozen=True)
class TextData:
    """What a text trial's arrays are made of: the shared WordPiece vocabulary (``vocab_size`` rows, ``pad_id`` pads
    every document to the sequence length), the planted token's id, and its uniqueness ξ = the fraction of the
    trial's clean training documents that already contain the token (Hardt et al. 2023), counted on what the model
    reads (the first ``seq_len`` word pieces). ``signal_visible`` is the fraction of signal-carrying test documents
    whose planted token survives truncation to ``seq_len``. ``train_rows`` are the rows of the dataset's raw training
    documents the trial trains on, in order (its ``planted`` rows)."""

    vocab_size: int
    pad_id: int
    token_id: int
    xi: float
    signal_visible: float
    train_rows: np.ndarray


@dataclass(frozen=True)
class TrialData:
    """Arrays of one trial. ``x_signal`` holds g(x) of every test point; ``not_target`` marks those whose true label is
    not y* (success is measured on them). Text trials hold token ids (n, seq_len) int64 in ``planted.x``, ``x_test``
    and ``x_signal`` (the signal planted in the raw text, then tokenised) and say how in ``text``."""

    dataset: ArrayDataset
    planted: PlantedData
    x_test: np.ndarray
    y_test: np.ndarray
    x_signal: np.ndarray  # g(x) for every test point, (n_test, ...)
    not_target: np.ndarray  # (n_test,) bool: true label != y*
    data_dir: Path | None = None  # where the dataset was read from; pre-trained weights are cached there too
    groups: GroupData | None = None  # datasets with groups only
    text: TextData | None = None  # text datasets only

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example as the model reads it: the dataset's, or (seq_len,) for text."""
        return tuple(int(d) for d in self.planted.x.shape[1:])


@dataclass(frozen=True)
class GroupData:
    """Groups (y, a) of a dataset with a group attribute, as ids y · n_attributes + a. ``train`` (n_train,) uses the
    *planted* labels — a collective member keeps its attribute a, so its group is (y*, a) — and ``test`` (n_test,)
    the true labels. ``names[g]`` is group g's name, ``<class>/<attribute>``."""

    train: np.ndarray
    test: np.ndarray
    names: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        return len(self.names)


def group_data(
    dataset: ArrayDataset, *, planted_y: np.ndarray, y_test: np.ndarray, train: np.ndarray, test: np.ndarray
) -> GroupData | None:
    """The groups of the trial's training (after planting) and test examples; None for a dataset without groups."""
    if dataset.a_train is None or dataset.a_test is None:
        return None
    k = dataset.n_attributes
    classes = dataset.class_names or tuple(str(c) for c in range(dataset.n_classes))
    names = tuple(f"{classes[c]}/{dataset.attribute_names[a]}" for c in range(dataset.n_classes) for a in range(k))
    return GroupData(train=planted_y * k + dataset.a_train[train], test=y_test * k + dataset.a_test[test], names=names)


def _check_groups(config: TrialConfig, dataset: ArrayDataset, groups: GroupData | None) -> None:
    """Group-DRO needs groups and an attribute that takes at least two values in the training data."""
    if config.training.objective != "gdro":
        return
    if groups is None:
        raise SpecError(f"training.objective: gdro needs a dataset with groups; {config.dataset} has none")
    values = np.unique(groups.train % dataset.n_attributes)
    if values.size < 2:
        raise SpecError(
            f"training.objective: gdro needs a group attribute with two or more values; in {config.dataset}'s "
            f"training data it takes the single value {dataset.attribute_names[int(values[0])]!r}"
        )


def _subsample(n: int, limit: int | None, stream: str) -> np.ndarray:
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(numpy_rng(0, stream).permutation(n)[:limit])


def prepare_trial_data(config: TrialConfig, *, data_dir: Path | None = None, download: bool = True) -> TrialData:
    """Load the dataset, apply ``n_train``/``n_test``, plant the collective and build the signal-carrying test set."""
    dataset = load_dataset(config.dataset, data_dir=data_dir, download=download, image_size=config.image_size)
    if config.target_class >= dataset.n_classes:
        raise SpecError(
            f"target_class {config.target_class} does not exist in {config.dataset} "
            f"({dataset.n_classes} classes: 0..{dataset.n_classes - 1})"
        )
    train = _subsample(dataset.y_train.shape[0], config.n_train, f"{config.dataset}/train")
    test = _subsample(dataset.y_test.shape[0], config.n_test, f"{config.dataset}/test")
    planted = plant_collective(
        x=dataset.x_train[train],
        y=dataset.y_train[train],
        alpha=config.alpha,
        seed=config.seed,
        strategy=config.strategy,
        signal=config.signal,
        target_class=config.target_class,
        feature_names=dataset.feature_names,
    )
    if planted.y.shape[0] != train.shape[0]:  # a withholding collective took its points out: the same draw
        train = train[~choose_members(alpha=config.alpha, n=train.shape[0], seed=config.seed)]
    x_test, y_test = dataset.x_test[test], dataset.y_test[test]
    groups = group_data(dataset, planted_y=planted.y, y_test=y_test, train=train, test=test)
    _check_groups(config, dataset, groups)
    data = TrialData(
        dataset=dataset,
        planted=planted,
        x_test=x_test,
        y_test=y_test,
        x_signal=apply_signal(config.signal, x_test, dataset.feature_names),
        not_target=y_test != config.target_class,
        data_dir=data_dir,
        groups=groups,
    )
    if dataset.modality == "text":
        return tokenised(config, data, train=train, test=test, download=download)
    return data


def tokenised(
    config: TrialConfig, data: TrialData, *, train: np.ndarray, test: np.ndarray, download: bool
) -> TrialData:
    """A text trial's documents as token ids: the clean ones from the dataset's cache (rows ``train`` and ``test``),
    the planted ones — members' documents and every signal-carrying test document — tokenised now, after planting."""
    seq_len, signal = config.seq_len, config.signal
    if seq_len is None or not isinstance(signal, TokenSignal):  # TrialConfig refuses both for text
        raise SpecError(f"{config.dataset}: a text trial needs seq_len and the token signal")
    pieces = wordpieces(data.data_dir, download=download)
    token_id = pieces.token_id(signal.token)
    clean_train, clean_test = clean_token_ids(
        config.dataset, seq_len=seq_len, data_dir=data.data_dir, download=download
    )
    planted = data.planted
    x_train = clean_train[train]
    xi = float(np.mean((x_train == token_id).any(axis=1))) if x_train.shape[0] else float("nan")
    x_train[planted.planted] = pieces.encode(planted.x[planted.planted], seq_len)
    x_signal = pieces.encode(data.x_signal, seq_len)
    visible = float(np.mean((x_signal == token_id).any(axis=1))) if x_signal.shape[0] else float("nan")
    text = TextData(
        vocab_size=pieces.vocab_size,
        pad_id=pieces.pad_id,
        token_id=token_id,
        xi=xi,
        signal_visible=visible,
        train_rows=train,
    )
    return replace(
        data,
        planted=replace(planted, x=x_train),
        x_test=clean_test[test],
        x_signal=x_signal,
        text=text,
    )


def signal_training_ids(config: TrialConfig, data: TrialData) -> np.ndarray:
    """g(x) of every training document of a text trial as token ids (n_train, seq_len): the signal planted in each
    raw document, then tokenised, as members' documents are (a LiRA reading that queries every example with the
    signal)."""
    if data.text is None or config.seq_len is None:
        raise SpecError(f"{config.dataset}: token ids of signal-carrying documents need a text trial")
    raw = data.dataset.x_train[data.text.train_rows]
    return wordpieces(data.data_dir, download=False).encode(apply_signal(config.signal, raw), config.seq_len)
