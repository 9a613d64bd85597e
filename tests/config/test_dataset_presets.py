"""Text datasets have presets (tests/test_rooms.py checks every dataset has one) of the text modality."""

from __future__ import annotations

from acadp.config.presets import PRESETS, TEXT_DATASETS
from acadp.data import DATASETS


def test_text_datasets_are_the_text_modality() -> None:
    text = {name for name in DATASETS.names() if DATASETS.get(name).modality == "text"}
    assert text == set(TEXT_DATASETS) and {"tweets", "bbc_news", "rotten_tomatoes"} <= text
    assert all(PRESETS.get(name).modality == "text" for name in TEXT_DATASETS)
