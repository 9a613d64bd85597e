"""``mnist``: the full 60k/10k MNIST digits, read from the IDX files in torchvision's on-disk layout.

Layout: ``<data_dir>/MNIST/raw/{train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
t10k-labels-idx1-ubyte}``, each file also accepted gzipped (``.gz``). The IDX format (LeCun et al., "THE MNIST
DATABASE of handwritten digits") is a big-endian header — a magic number whose low byte is the number of dimensions,
then one uint32 per dimension — followed by the uint8 values in row-major order. We parse it ourselves so a damaged
file is reported by name instead of failing somewhere inside a third-party reader.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from acadp.data.base import ArrayDataset, register_dataset
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
# What a failed download can raise: no torchvision (ImportError), no network (URLError is an OSError), torchvision's
# "Error downloading ..." or checksum failures (RuntimeError).
_DOWNLOAD_ERRORS = (ImportError, OSError, RuntimeError, ValueError)


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


@register_dataset(
    "mnist",
    modality="image",
    description="MNIST, 60000 train / 10000 test digits (IDX files in <data_dir>/MNIST/raw, torchvision layout)",
    expected_files=tuple(str(RAW_SUBDIR / name) for name in FILE_NAMES),
)
def load_mnist(data_dir: Path, download: bool) -> ArrayDataset:
    """Read MNIST from ``data_dir/MNIST/raw``, downloading it with torchvision first if allowed and missing.

    Returns images float32 (n, 1, 28, 28) in [0, 1] and labels int64 (n,) for the 60000/10000 official split.
    Raises :class:`DataMissingError` listing the missing files, :class:`DataFormatError` for a damaged file.
    """
    paths = _locate_files(data_dir, download)
    x_train, y_train = _read_split(paths, "train")
    x_test, y_test = _read_split(paths, "t10k")
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
    )


def _locate_files(data_dir: Path, download: bool) -> dict[str, Path]:
    """Map each IDX file name to its path, downloading first when files are missing and ``download`` is set."""
    raw_dir = data_dir / RAW_SUBDIR
    found = {name: find_file(raw_dir, name) for name in FILE_NAMES}
    missing = [name for name, path in found.items() if path is None]
    failure = ""
    if missing and download:
        failure = _download(data_dir)
        found = {name: find_file(raw_dir, name) for name in FILE_NAMES}
        missing = [name for name, path in found.items() if path is None]
    if missing:
        raise DataMissingError(_missing_message(raw_dir, missing, download=download, failure=failure))
    return {name: path for name, path in found.items() if path is not None}


def _download(data_dir: Path) -> str:
    """Fetch both splits with torchvision into ``data_dir/MNIST/raw``; returns why it failed, or "" on success."""
    try:
        from torchvision.datasets import MNIST

        for train in (True, False):
            MNIST(root=str(data_dir), train=train, download=True)
    except _DOWNLOAD_ERRORS as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def _missing_message(raw_dir: Path, missing: list[str], *, download: bool, failure: str) -> str:
    if failure:
        why = f"the download failed ({failure})"
    elif download:
        why = "the download did not produce them"
    else:
        why = "downloading is off"
    return (
        f"dataset 'mnist': missing {', '.join(missing)} in {raw_dir} and {why}. "
        f"Put the four MNIST IDX files ({', '.join(FILE_NAMES)}; each may be gzipped as .gz) into {raw_dir}, "
        "or pass --data-dir pointing to a directory that contains MNIST/raw/ with them."
    )


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
