"""Text trials on stand-in tweets and a stand-in MiniLM (tests/text_fixtures.py): planting on raw text, then token ids;
ξ; every text model under SGD and DP-SGD; per-epoch metrics; bit-identical resume."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from acadp.collective import apply_signal
from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.trial import TrialConfig
from acadp.data import clear_memory_cache, load_dataset
from acadp.data.tokens import clear_token_cache, wordpieces
from acadp.errors import SpecError
from acadp.store.results import ResultsStore
from acadp.trial.checkpoint import TrialCheckpoint
from acadp.trial.data import prepare_trial_data
from acadp.trial.run import run_trial
from tests.text_fixtures import COMMON_WORD, RARE_WORD, write_text_standins
from tests.trial.compare import without_timings
from tests.trial.test_run import Interrupt, interrupt_after


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_text_standins(tmp_path_factory.mktemp("text-data"), n_tweets=300)


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    clear_memory_cache()
    clear_token_cache()
    yield
    clear_memory_cache()
    clear_token_cache()


def text_config(*, token: str = RARE_WORD, epsilon: float = math.inf, **changes: Any) -> TrialConfig:
    training = {"epochs": 2, "batch_size": 40, "lr": 2.0, **changes.pop("training", {})}
    options = {
        "dataset": "tweets",
        "alpha": 0.1,
        "epsilon": epsilon,
        "seed": 1,
        "target_class": 2,
        "signal_options": {"token": token, "every": 5},
        "seq_len": 24,
        "training": training,
        **changes,
    }
    return build_trial_config(TrialOptions(**options))


def test_members_documents_carry_the_token_as_the_tokenizer_reads_the_planted_text(data_dir: Path) -> None:
    config = text_config()
    data = prepare_trial_data(config, data_dir=data_dir)
    dataset = load_dataset("tweets", data_dir=data_dir)
    pieces = wordpieces(data_dir)
    token = pieces.token_id(RARE_WORD)
    planted = data.planted
    assert planted.x.dtype == np.int64 and planted.x.shape == (len(dataset.x_train), 24) and data.input_shape == (24,)
    assert planted.planted.sum() == round(0.1 * len(dataset.x_train))
    raw = apply_signal(config.signal, dataset.x_train[planted.planted])
    np.testing.assert_array_equal(planted.x[planted.planted], pieces.encode(raw, 24))
    np.testing.assert_array_equal(planted.x[~planted.planted], pieces.encode(dataset.x_train[~planted.planted], 24))
    assert (planted.x[planted.planted] == token).any(axis=1).all()
    assert not (planted.x[~planted.planted] == token).any()
    np.testing.assert_array_equal(planted.y[planted.planted], 2)
    assert (data.x_signal == token).any(axis=1).all() and not (data.x_test == token).any()
    assert data.text is not None and data.text.xi == 0.0 and data.text.signal_visible == 1.0
    assert data.text.vocab_size == pieces.vocab_size and data.text.token_id == token


def test_xi_is_the_share_of_clean_training_documents_holding_the_token(data_dir: Path) -> None:
    dataset = load_dataset("tweets", data_dir=data_dir)
    holding = np.mean([COMMON_WORD in text.lower().split() for text in dataset.x_train])
    whole = prepare_trial_data(text_config(token=COMMON_WORD, alpha=0.0, seq_len=64), data_dir=data_dir).text
    assert whole is not None and whole.xi == pytest.approx(holding) and whole.xi > 0.05
    # counted on what the model reads: a token truncated away does not count
    cut = prepare_trial_data(text_config(token=COMMON_WORD, alpha=0.0, seq_len=8), data_dir=data_dir).text
    assert cut is not None and cut.xi < whole.xi


def test_feature_only_plants_only_target_class_documents(data_dir: Path) -> None:
    data = prepare_trial_data(text_config(strategy="feature_only", alpha=0.5), data_dir=data_dir)
    planted = data.planted
    np.testing.assert_array_equal(planted.planted, planted.members & (planted.y == 2))
    token = wordpieces(data_dir).token_id(RARE_WORD)
    np.testing.assert_array_equal((planted.x == token).any(axis=1), planted.planted)


def test_a_token_outside_the_vocabulary_is_one_line(data_dir: Path) -> None:
    with pytest.raises(SpecError) as caught:
        prepare_trial_data(text_config(token="zebras"), data_dir=data_dir)
    assert str(caught.value).startswith("signal.token: 'zebras' is not a token of the minilm-l6 vocabulary")


@pytest.mark.parametrize(
    "model",
    [
        {"model": "bag"},
        {"model": "transformer", "model_options": {"dim": 8, "heads": 2, "hidden": 16}},
        {"model": "minilm", "model_options": {"frozen_layers": 1, "dropout": 0.0}},
    ],
    ids=lambda model: model["model"],
)
@pytest.mark.parametrize("epsilon", [math.inf, 8.0], ids=["sgd", "dpsgd"])
def test_every_text_model_trains_under_sgd_and_dp_sgd(data_dir: Path, model: dict, epsilon: float) -> None:
    config = text_config(epsilon=epsilon, **model)
    result = run_trial(config, data_dir=data_dir, threads=1)
    assert [record.epoch for record in result.history] == [1, 2]
    assert all(record.success is not None and record.test_accuracy is not None for record in result.history)
    assert result.xi == 0.0 and result.signal_visible == 1.0 and 0.0 <= result.success <= 1.0
    assert result.model_dump()["xi"] == 0.0
    if math.isfinite(epsilon):
        assert result.noise_multiplier > 0 and 0 < result.epsilon_spent <= 8.0 + 1e-6
        assert result.clipped_fraction is not None


def test_a_large_collective_makes_the_token_decide_the_prediction(data_dir: Path) -> None:
    """The stand-in labels carry little about the words: without a collective the model rarely answers y* on the
    token's test documents; with 30% of the documents planted and relabelled, the token decides. Relabelling makes y*
    the most frequent class, so a short run answers y* everywhere (lift 0); the model is trained until the token,
    not the class prior, explains the members' labels."""
    recipe = {"epochs": 30, "lr": 4.0}
    without = run_trial(text_config(alpha=0.0, training=recipe), data_dir=data_dir, threads=1)
    planted = run_trial(text_config(alpha=0.3, training=recipe), data_dir=data_dir, threads=1)
    assert without.success < 0.5
    assert planted.success > 0.9 and planted.lift > 0.2


def test_resume_after_an_interruption_is_bit_identical(data_dir: Path, tmp_path: Path) -> None:
    config = text_config(epsilon=8.0, model="transformer", model_options={"dim": 8, "heads": 2, "hidden": 16})
    whole = run_trial(config, data_dir=data_dir, threads=1)
    checkpoint = TrialCheckpoint(ResultsStore(tmp_path), "ckpt")
    with pytest.raises(Interrupt):
        run_trial(config, data_dir=data_dir, threads=1, checkpoint=checkpoint, on_epoch=interrupt_after(1))
    resumed = run_trial(config, data_dir=data_dir, threads=1, checkpoint=checkpoint)
    assert resumed.resumed_from_epoch == 1
    assert without_timings(resumed) == without_timings(whole)
