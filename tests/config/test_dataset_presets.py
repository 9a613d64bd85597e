"""Text datasets have presets (tests/test_rooms.py checks every dataset has one) that a trial refuses for now."""

from __future__ import annotations

import pytest

from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.presets import TEXT_DATASETS, TEXT_MODEL
from acadp.data import DATASETS
from acadp.errors import SpecError


def test_text_datasets_are_the_text_modality() -> None:
    text = {name for name in DATASETS.names() if DATASETS.get(name).modality == "text"}
    assert text == set(TEXT_DATASETS) and {"tweets", "bbc_news", "rotten_tomatoes"} <= text


@pytest.mark.skipif(TEXT_MODEL is not None, reason="a text model is registered: text trials are no longer refused")
@pytest.mark.parametrize("name", TEXT_DATASETS)
def test_a_text_trial_is_refused_in_one_line(name: str) -> None:
    with pytest.raises(SpecError) as caught:
        build_trial_config(TrialOptions(dataset=name, alpha=0.1, epsilon=float("inf")))
    message = str(caught.value)
    assert f"dataset {name!r} is text and acadp has no text model" in message and "\n" not in message
    assert f"acadp data fetch {name}" in message
