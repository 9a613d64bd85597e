"""``waterbirds``: WaterBirds (Sagawa et al. 2020) — land/water birds on land/water backgrounds, groups (y, place).

The release's folder (``waterbird_complete95_forest2water2``) is read from ``<data_dir>/waterbirds/`` (or
``<data_dir>/waterbird_complete95_forest2water2/``); nothing is downloaded. It holds ``metadata.csv`` — one header row
with at least the columns ``img_filename`` (path relative to the folder), ``y`` (0 landbird, 1 waterbird), ``split``
(0 train, 1 val, 2 test) and ``place`` (0 land, 1 water) — and the image files it names.

Splits are the file's: split 0 trains, split 2 tests; split 1 (validation) is not used (acadp selects no model on it).
Images are converted to RGB and resized (bilinear) to ``image_size`` × ``image_size`` (the preset's, default
:data:`DEFAULT_IMAGE_SIZE`), as float32 in [0, 1]; the model normalises with ImageNet's channel statistics. The group
attribute is ``place``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from acadp.data.base import ArrayDataset, DatasetFacts, register_dataset
from acadp.errors import DataFormatError, DataMissingError

FOLDERS = ("waterbirds", "waterbird_complete95_forest2water2")  # under the data directory, in lookup order
METADATA = "metadata.csv"
COLUMNS = ("img_filename", "y", "split", "place")
SPLITS = {"0": "train", "1": "val", "2": "test"}
DEFAULT_IMAGE_SIZE = 64
RELEASE_PAGE = "https://github.com/kohpangwei/group_DRO"  # where Sagawa et al. point to the release
CLASS_NAMES = ("landbird", "waterbird")
ATTRIBUTE_NAMES = ("land", "water")
# ImageNet channel statistics (the usual constants for WaterBirds' pre-trained ResNets)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@register_dataset(
    "waterbirds",
    modality="image",
    description="WaterBirds (Sagawa et al. 2020) from its release folder; groups (bird, place); images resized",
    expected_files=(f"{FOLDERS[0]}/{METADATA}", f"{FOLDERS[0]}/<img_filename of every row>"),
    image_size=DEFAULT_IMAGE_SIZE,
    facts=DatasetFacts(
        n_train=4795,
        n_test=5794,
        classes=CLASS_NAMES,
        groups="(bird, place)",
        origin=RELEASE_PAGE,
        licence="see the release (CUB-200-2011 birds on Places backgrounds)",
    ),
)
def load_waterbirds(data_dir: Path, download: bool, *, image_size: int = DEFAULT_IMAGE_SIZE) -> ArrayDataset:
    """Read the release folder under ``data_dir``: x float32 (n, 3, image_size, image_size), y and a (place) int64.

    Raises :class:`DataMissingError` (with the files needed and where) when no folder holds ``metadata.csv``, and
    :class:`DataFormatError` naming the file and line of a malformed row or a missing image.
    """
    del download  # WaterBirds is not downloaded: it is built from CUB and Places, released as one folder
    folder = locate_folder(data_dir)
    rows = read_metadata(folder / METADATA)
    parts = {
        split: [row for row in rows if row[2] == split] for split in ("train", "test")
    }  # (line, img_filename, split, y, place)
    arrays = {split: _split_arrays(folder, chosen, image_size) for split, chosen in parts.items()}
    return ArrayDataset(
        name="waterbirds",
        x_train=arrays["train"][0],
        y_train=arrays["train"][1],
        x_test=arrays["test"][0],
        y_test=arrays["test"][1],
        n_classes=2,
        modality="image",
        class_names=CLASS_NAMES,
        channel_mean=IMAGENET_MEAN,
        channel_std=IMAGENET_STD,
        a_train=arrays["train"][2],
        a_test=arrays["test"][2],
        attribute_names=ATTRIBUTE_NAMES,
    )


def locate_folder(data_dir: Path) -> Path:
    """The first of :data:`FOLDERS` under ``data_dir`` holding ``metadata.csv``."""
    for name in FOLDERS:
        if (data_dir / name / METADATA).is_file():
            return data_dir / name
    raise DataMissingError(
        f"waterbirds: no {METADATA} in {data_dir / FOLDERS[0]} (or {data_dir / FOLDERS[1]}); place the WaterBirds "
        f"release folder there: {METADATA} with columns {', '.join(COLUMNS)} and the image files it names"
    )


Row = tuple[int, str, str, int, int]  # (line number, img_filename, split name, y, place)


def read_metadata(path: Path) -> list[Row]:
    """The rows of ``metadata.csv`` as (line, img_filename, split name, y, place); line 1 is the header."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            records = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise DataFormatError(f"{path}: cannot be read ({error})") from error
    if not records:
        raise DataFormatError(f"{path}: empty; expected a header with columns {', '.join(COLUMNS)}")
    header = [name.strip() for name in records[0]]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise DataFormatError(f"{path}, line 1 (header): missing column(s) {', '.join(missing)}")
    index = {name: header.index(name) for name in COLUMNS}
    rows = [_parse_row(path, line, record, index) for line, record in enumerate(records[1:], start=2) if record]
    if not any(row[2] == "train" for row in rows) or not any(row[2] == "test" for row in rows):
        raise DataFormatError(f"{path}: needs rows of split 0 (train) and split 2 (test)")
    return rows


def _parse_row(path: Path, line: int, record: list[str], index: dict[str, int]) -> Row:
    if len(record) <= max(index.values()):
        raise DataFormatError(f"{path}, line {line}: {len(record)} fields, fewer than the header's columns")
    filename, split = record[index["img_filename"]].strip(), record[index["split"]].strip()
    if split not in SPLITS:
        raise DataFormatError(f"{path}, line {line}: split {split!r} is not 0 (train), 1 (val) or 2 (test)")
    values = []
    for column in ("y", "place"):
        text = record[index[column]].strip()
        if text not in {"0", "1"}:
            raise DataFormatError(f"{path}, line {line}: {column} {text!r} is not 0 or 1")
        values.append(int(text))
    if not filename:
        raise DataFormatError(f"{path}, line {line}: img_filename is empty")
    return line, filename, SPLITS[split], values[0], values[1]


def _split_arrays(folder: Path, rows: list[Row], image_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x (n, 3, s, s) float32, y (n,) and place (n,) int64 of ``rows``, images read and resized."""
    x = np.empty((len(rows), 3, image_size, image_size), dtype=np.float32)
    for i, row in enumerate(rows):
        x[i] = _read_image(folder, row, image_size)
    y = np.array([row[3] for row in rows], dtype=np.int64)
    place = np.array([row[4] for row in rows], dtype=np.int64)
    return x, y, place


def _read_image(folder: Path, row: Row, image_size: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    line, filename = row[0], row[1]
    path = folder / filename
    if not path.is_file():
        raise DataFormatError(f"{folder / METADATA}, line {line}: image {filename} not found at {path}")
    try:
        with Image.open(path) as image:
            resized = image.convert("RGB").resize((image_size, image_size), Image.Resampling.BILINEAR)
    except (OSError, UnidentifiedImageError) as error:
        raise DataFormatError(f"{folder / METADATA}, line {line}: image {filename} cannot be read ({error})") from None
    return np.asarray(resized, dtype=np.float32).transpose(2, 0, 1) / 255.0
