"""``cifar10`` and ``cifar100``: the CIFAR images (Krizhevsky 2009) from the original "python version" archives.

Layouts (the archives ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` extracted into the data directory):
``<data_dir>/cifar-10-batches-py/{data_batch_1..data_batch_5, test_batch, batches.meta}`` and
``<data_dir>/cifar-100-python/{train, test, meta}``. Each file is a pickled dict with bytes keys: ``b"data"`` is a
uint8 array (n, 3072) holding, per image, the 1024 red, then green, then blue values of a 32x32 image in row-major
order; ``b"labels"`` (CIFAR-10) or ``b"fine_labels"`` (CIFAR-100) is a list of n ints.

Pickles can run arbitrary code when loaded, so they are read with an unpickler that can only rebuild numpy arrays
(:mod:`acadp.data.pickles`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from acadp.data.base import ArrayDataset, DatasetFacts, register_dataset
from acadp.data.pickles import load_restricted_pickle
from acadp.errors import DataFormatError, DataMissingError

IMAGE_SHAPE = (3, 32, 32)  # channels (R, G, B), height, width
ROW_SIZE = 3 * 32 * 32
OFFICIAL_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
CIFAR_LICENCE = "no licence stated; cite Krizhevsky 2009 (the official page)"
# What a failed download can raise: no torchvision, no network (URLError is an OSError), a bad checksum.
_DOWNLOAD_ERRORS = (ImportError, OSError, RuntimeError, ValueError)


@dataclass(frozen=True)
class CifarLayout:
    """Where one CIFAR variant keeps its files, how its dicts are keyed and how images are normalised."""

    name: str
    folder: str
    archive: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: bytes
    meta_file: str
    names_key: bytes
    class_names: tuple[str, ...]  # used when the meta file is absent
    channel_mean: tuple[float, ...]
    channel_std: tuple[float, ...]
    torchvision_class: str

    @property
    def n_classes(self) -> int:
        """Number of (fine) classes."""
        return len(self.class_names)


# The 100 fine label names in the archive's meta file (alphabetical; index = label).
CIFAR100_FINE_NAMES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl", "boy",
    "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock",
    "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish",
    "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange",
    "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine",
    "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk",
    "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
    "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip


CIFAR10 = CifarLayout(
    name="cifar10",
    folder="cifar-10-batches-py",
    archive="cifar-10-python.tar.gz",
    train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
    test_files=("test_batch",),
    label_key=b"labels",
    meta_file="batches.meta",
    names_key=b"label_names",
    class_names=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    # Published per-channel mean/std of the CIFAR-10 training pixels.
    channel_mean=(0.4914, 0.4822, 0.4465),
    channel_std=(0.2470, 0.2435, 0.2616),
    torchvision_class="CIFAR10",
)
CIFAR100 = CifarLayout(
    name="cifar100",
    folder="cifar-100-python",
    archive="cifar-100-python.tar.gz",
    train_files=("train",),
    test_files=("test",),
    label_key=b"fine_labels",
    meta_file="meta",
    names_key=b"fine_label_names",
    class_names=CIFAR100_FINE_NAMES,
    # Published per-channel mean/std of the CIFAR-100 training pixels.
    channel_mean=(0.5071, 0.4865, 0.4409),
    channel_std=(0.2673, 0.2564, 0.2762),
    torchvision_class="CIFAR100",
)


def _expected_files(layout: CifarLayout) -> tuple[str, ...]:
    return tuple(f"{layout.folder}/{name}" for name in (*layout.train_files, *layout.test_files))


@register_dataset(
    "cifar10",
    modality="image",
    description="CIFAR-10, 50000 train / 10000 test 32x32 colour images, 10 classes (python-version batches)",
    expected_files=_expected_files(CIFAR10),
    facts=DatasetFacts(
        n_train=50_000, n_test=10_000, classes=CIFAR10.class_names, origin=OFFICIAL_PAGE, licence=CIFAR_LICENCE
    ),
)
def load_cifar10(data_dir: Path, download: bool) -> ArrayDataset:
    """Read CIFAR-10 from ``data_dir/cifar-10-batches-py``; see :func:`load_cifar`."""
    return load_cifar(CIFAR10, data_dir=data_dir, download=download)


@register_dataset(
    "cifar100",
    modality="image",
    description="CIFAR-100, 50000 train / 10000 test 32x32 colour images, 100 fine classes (python version)",
    expected_files=_expected_files(CIFAR100),
    facts=DatasetFacts(
        n_train=50_000, n_test=10_000, classes=CIFAR100.class_names, origin=OFFICIAL_PAGE, licence=CIFAR_LICENCE
    ),
)
def load_cifar100(data_dir: Path, download: bool) -> ArrayDataset:
    """Read CIFAR-100 (fine labels) from ``data_dir/cifar-100-python``; see :func:`load_cifar`."""
    return load_cifar(CIFAR100, data_dir=data_dir, download=download)


def load_cifar(layout: CifarLayout, *, data_dir: Path, download: bool) -> ArrayDataset:
    """Read one CIFAR variant, downloading it with torchvision first if allowed and missing.

    Returns images float32 (n, 3, 32, 32) in [0, 1] and labels int64 (n,) for the official train/test split.
    Raises :class:`DataMissingError` naming the missing files, :class:`DataFormatError` for a damaged file.
    """
    folder = _locate_folder(layout, data_dir, download)
    x_train, y_train = _read_batches(layout, [folder / name for name in layout.train_files])
    x_test, y_test = _read_batches(layout, [folder / name for name in layout.test_files])
    return ArrayDataset(
        name=layout.name,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        n_classes=layout.n_classes,
        modality="image",
        class_names=_class_names(layout, folder / layout.meta_file),
        channel_mean=layout.channel_mean,
        channel_std=layout.channel_std,
    )


def _locate_folder(layout: CifarLayout, data_dir: Path, download: bool) -> Path:
    folder = data_dir / layout.folder
    names = (*layout.train_files, *layout.test_files)
    missing = [name for name in names if not (folder / name).is_file()]
    failure = ""
    if missing and download:
        failure = _download(layout, data_dir)
        missing = [name for name in names if not (folder / name).is_file()]
    if not missing:
        return folder
    if failure:
        why = f"the download failed ({failure})"
    else:
        why = "the download did not produce them" if download else "downloading is off"
    raise DataMissingError(
        f"dataset {layout.name!r}: missing {', '.join(missing)} in {folder} and {why}. "
        f"Download {layout.archive} (the python version, {OFFICIAL_PAGE}) and extract it into {data_dir} "
        f"(it unpacks to {layout.folder}/), or pass --data-dir pointing to a directory that contains {layout.folder}/."
    )


def _download(layout: CifarLayout, data_dir: Path) -> str:
    """Fetch and extract the archive with torchvision; returns why it failed, or "" on success."""
    try:
        import torchvision.datasets

        dataset_class = getattr(torchvision.datasets, layout.torchvision_class)
        dataset_class(root=str(data_dir), train=True, download=True)  # downloads the whole archive
    except _DOWNLOAD_ERRORS as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def _read_batches(layout: CifarLayout, paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate batch files into images float32 (n, 3, 32, 32) in [0, 1] and labels int64 (n,)."""
    batches = [_read_batch(layout, path) for path in paths]
    n_total = sum(labels.size for _, labels in batches)
    x = np.empty((n_total, *IMAGE_SHAPE), dtype=np.float32)
    start = 0
    for data, labels in batches:
        x[start : start + labels.size] = data.reshape(-1, *IMAGE_SHAPE)
        start += labels.size
    x /= 255.0
    return x, np.concatenate([labels for _, labels in batches])


def _read_batch(layout: CifarLayout, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file → (uint8 data (n, 3072), int64 labels (n,)), with every field checked."""
    batch = load_restricted_pickle(path)
    if not isinstance(batch, dict):
        raise DataFormatError(f"{path}: expected a pickled dict, found {type(batch).__name__}")
    data = batch.get(b"data")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != ROW_SIZE:
        found = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataFormatError(f"{path}: b'data' must be a uint8 array of shape (n, {ROW_SIZE}), found {found}")
    raw_labels = batch.get(layout.label_key)
    if raw_labels is None:
        raise DataFormatError(f"{path}: no {layout.label_key!r} entry (keys: {sorted(map(repr, batch))})")
    labels = np.asarray(raw_labels)
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise DataFormatError(
            f"{path}: {layout.label_key!r} must hold {data.shape[0]} integer labels, one per image, "
            f"found {labels.dtype} values of shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= layout.n_classes):
        raise DataFormatError(f"{path}: labels must lie in 0..{layout.n_classes - 1}")
    return data, labels.astype(np.int64)


def _class_names(layout: CifarLayout, meta_path: Path) -> tuple[str, ...]:
    """Class names from the meta file if present (checked against the class count), else the known names."""
    if not meta_path.is_file():
        return layout.class_names
    meta = load_restricted_pickle(meta_path)
    names = meta.get(layout.names_key) if isinstance(meta, dict) else None
    if (
        not isinstance(names, list)
        or len(names) != layout.n_classes
        or not all(isinstance(name, bytes | str) for name in names)
    ):
        raise DataFormatError(
            f"{meta_path}: expected a dict whose {layout.names_key!r} entry lists {layout.n_classes} class names"
        )
    return tuple(name.decode("utf-8", errors="replace") if isinstance(name, bytes) else name for name in names)
