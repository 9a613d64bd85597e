"""The driver's preflight on a text sweep (stand-in data, tests/text_fixtures.py): a token outside the vocabulary is
one line naming signal.token and nothing is created; a good sweep leaves the clean documents' token ids cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from acadp.data import clear_memory_cache
from acadp.data.tokens import clear_token_cache, token_cache_path
from acadp.errors import SpecError
from acadp.sweep.plan import plan_sweep
from acadp.sweep.preflight import preflight
from tests.text_fixtures import RARE_WORD, write_text_standins

SWEEP = """name: text-preflight
datasets:
  tweets:
    model: {{name: {model}}}
    signal: {{name: token, token: {token}, every: 5}}
    seq_len: 24
    variants: [{{strategy: feature_label}}, {{strategy: feature_only}}]
grid:
  alpha: [0.0, 0.1]
  epsilon: [8, inf]
  seed: [0]
data_dir: {data_dir}
storage: {storage}
"""


def write_sweep(tmp_path: Path, *, token: str, model: str = "bag") -> Path:
    clear_memory_cache()
    clear_token_cache()
    data_dir = write_text_standins(tmp_path / "data", n_tweets=60)
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP.format(token=token, model=model, data_dir=data_dir, storage=tmp_path / "results"))
    return path


@pytest.mark.parametrize("token", ["zebras", "blorp"])
def test_a_token_outside_the_vocabulary_stops_the_sweep_in_one_line(tmp_path: Path, token: str) -> None:
    plan = plan_sweep(write_sweep(tmp_path, token=token))
    with pytest.raises(SpecError) as caught:
        preflight(plan)
    message = str(caught.value)
    assert "\n" not in message and message.count("signal.token") == 1  # once, though two variants use it
    assert f"datasets.tweets: signal.token: {token!r} is not a token of the minilm-l6 vocabulary" in message
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("model", ["bag", "minilm"])
def test_a_text_sweep_passes_and_caches_the_token_ids(tmp_path: Path, model: str) -> None:
    plan = plan_sweep(write_sweep(tmp_path, token=RARE_WORD, model=model))
    checked = preflight(plan)
    assert len(checked.noise.entries) == 1  # one σ: ε = 8 on the stand-in training set
    assert token_cache_path("tweets", (tmp_path / "data").resolve(), 24).is_file()
    assert not (tmp_path / "results").exists()
