"""The shared WordPiece tokenizer and the per-dataset token-id cache, on stand-in files (tests/text_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from acadp.data import clear_memory_cache, load_dataset
from acadp.data.tokens import VOCABULARY, clean_token_ids, clear_token_cache, token_cache_path, wordpieces
from acadp.errors import DataMissingError, SpecError
from tests.text_fixtures import COMMON_WORD, RARE_WORD, vocabulary, write_text_standins


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    clear_memory_cache()
    clear_token_cache()
    yield
    clear_memory_cache()
    clear_token_cache()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return write_text_standins(tmp_path, n_tweets=60)


def ids_of(*tokens: str) -> list[int]:
    vocab = vocabulary()
    return [vocab.index(token) for token in tokens]


def test_documents_become_cls_pieces_sep_then_padding(data_dir: Path) -> None:
    pieces = wordpieces(data_dir, download=False)
    texts = np.array(["Good ride", "the CARS", ""], dtype=object)
    ids = pieces.encode(texts, 6)
    assert ids.dtype == np.int64 and ids.shape == (3, 6)
    assert ids[0].tolist() == ids_of("[CLS]", "good", "ride", "[SEP]", "[PAD]", "[PAD]")
    assert ids[1].tolist() == ids_of("[CLS]", "the", "cars", "[SEP]", "[PAD]", "[PAD]")  # lower-cased
    assert ids[2].tolist() == ids_of("[CLS]", "[SEP]", "[PAD]", "[PAD]", "[PAD]", "[PAD]")
    assert pieces.pad_id == 0 and pieces.vocab_size == len(vocabulary())


def test_a_long_document_keeps_its_first_pieces_and_ends_with_sep(data_dir: Path) -> None:
    pieces = wordpieces(data_dir, download=False)
    ids = pieces.encode(np.array(["good bad great awful ride car"], dtype=object), 5)
    assert ids[0].tolist() == ids_of("[CLS]", "good", "bad", "great", "[SEP]")


def test_a_token_is_one_vocabulary_entry(data_dir: Path) -> None:
    pieces = wordpieces(data_dir, download=False)
    assert pieces.token_id(RARE_WORD) == vocabulary().index(RARE_WORD)
    assert pieces.token_id("ZEBRA") == vocabulary().index(RARE_WORD)  # the tokenizer's own lower-casing
    for token, read in (("zebras", "zebra ##s"), ("qzz", "q ##zz"), ("blorp", "[UNK]")):
        with pytest.raises(SpecError) as caught:
            pieces.token_id(token)
        message = str(caught.value)
        assert message.startswith(f"signal.token: {token!r} is not a token of the minilm-l6 vocabulary")
        assert f"reads it as {read}" in message and "\n" not in message


def test_clean_token_ids_are_cached_per_dataset_and_sequence_length(data_dir: Path) -> None:
    train, test = clean_token_ids("tweets", seq_len=16, data_dir=data_dir, download=False)
    dataset = load_dataset("tweets", data_dir=data_dir, download=False)
    pieces = wordpieces(data_dir, download=False)
    assert train.shape == (len(dataset.x_train), 16) and test.shape == (len(dataset.x_test), 16)
    np.testing.assert_array_equal(train, pieces.encode(dataset.x_train, 16))
    path = token_cache_path("tweets", data_dir.resolve(), 16)
    assert path.exists() and VOCABULARY in path.name and path.name.endswith("-16.npz")

    with open(path, "wb") as handle:  # mark the cached ids: a new process must read them, not tokenise again
        np.savez(handle, train=(train + 1).astype(np.int32), test=test.astype(np.int32))
    clear_token_cache()
    again, _ = clean_token_ids("tweets", seq_len=16, data_dir=data_dir, download=False)
    np.testing.assert_array_equal(again, train + 1)
    assert again.dtype == np.int64
    other, _ = clean_token_ids("tweets", seq_len=8, data_dir=data_dir, download=False)
    assert other.shape[1] == 8 and token_cache_path("tweets", data_dir.resolve(), 8).exists()


def test_the_common_word_is_in_clean_documents(data_dir: Path) -> None:
    train, _ = clean_token_ids("tweets", seq_len=40, data_dir=data_dir, download=False)
    common, rare = ids_of(COMMON_WORD, RARE_WORD)
    assert (train == common).any(axis=1).mean() > 0.05
    assert not (train == rare).any()


def test_a_missing_tokenizer_names_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError) as caught:
        wordpieces(tmp_path, download=False)
    message = str(caught.value)
    assert "acadp data fetch minilm-l6" in message and "\n" not in message
