"""Text models: shapes, padding that changes nothing, the pretrained encoder's weights and frozen parts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from acadp.models import BagParams, MiniLMParams, ModelInputs, TransformerParams, build_model, count_parameters
from tests.text_fixtures import vocabulary, write_minilm_standin

SEQ_LEN = 12


def inputs(pretrained: Path | None = None) -> ModelInputs:
    return ModelInputs((SEQ_LEN,), 3, vocab_size=len(vocabulary()), pad_id=0, pretrained=pretrained)


@pytest.fixture(scope="module")
def minilm_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_minilm_standin(tmp_path_factory.mktemp("data"))


def models(folder: Path) -> dict[str, torch.nn.Module]:
    return {
        "bag": build_model(BagParams(dim=8), inputs(), seed=0),
        "transformer": build_model(TransformerParams(dim=8, heads=2, hidden=16), inputs(), seed=0),
        "minilm": build_model(MiniLMParams(dropout=0.0), inputs(folder), seed=0),
    }


def documents() -> torch.Tensor:
    ids = torch.randint(5, len(vocabulary()), (4, SEQ_LEN), generator=torch.Generator().manual_seed(0))
    ids[:, 0], ids[0, 5:], ids[1, 9:] = 2, 0, 0  # [CLS] first; padding at the ends
    return ids


def test_text_models_classify_token_ids(minilm_folder: Path) -> None:
    for name, model in models(minilm_folder).items():
        assert model(documents()).shape == (4, 3), name


def test_padding_changes_no_prediction(minilm_folder: Path) -> None:
    """A document's logits do not depend on how much padding follows it (the model reads its length from pad_id)."""
    ids = documents()[:1, :5]  # the first document, unpadded
    for name, model in models(minilm_folder).items():
        with torch.no_grad():  # away from any special initialisation (the bag's classifier starts at zero)
            for param in model.parameters():
                param.normal_(0.0, 0.5)
        if name == "transformer":  # its position table is SEQ_LEN long: compare at full length with more padding
            padded = torch.cat([ids, torch.zeros(1, SEQ_LEN - 5, dtype=torch.long)], 1)
            assert torch.allclose(model(padded), model(documents()[:1]), atol=1e-5)
            continue
        padded = torch.cat([ids, torch.zeros(1, 7, dtype=torch.long)], 1)
        assert torch.allclose(model.eval()(ids), model.eval()(padded), atol=1e-5), name


def test_bag_is_an_embedding_table_and_a_linear_head() -> None:
    model = build_model(BagParams(dim=8), inputs(), seed=0)
    assert count_parameters(model) == len(vocabulary()) * 8 + 8 * 3 + 3


def test_minilm_starts_from_the_pretrained_weights(minilm_folder: Path) -> None:
    from transformers import BertModel

    saved = BertModel.from_pretrained(str(minilm_folder), add_pooling_layer=False)
    model = build_model(MiniLMParams(), inputs(minilm_folder), seed=3)
    for (name, mine), theirs in zip(model.encoder.named_parameters(), saved.parameters(), strict=True):
        assert torch.equal(mine, theirs), name
    again = build_model(MiniLMParams(), inputs(minilm_folder), seed=3)
    assert torch.equal(model.classifier.weight, again.classifier.weight)  # the new head is seeded


@pytest.mark.parametrize(
    ("params", "frozen"),
    [
        (MiniLMParams(), set()),
        (MiniLMParams(freeze_embeddings=True), {"embeddings"}),
        (MiniLMParams(frozen_layers=1), {"embeddings", "encoder.layer.0"}),
        (MiniLMParams(frozen_layers=2), {"embeddings", "encoder.layer.0", "encoder.layer.1"}),
    ],
)
def test_minilm_freezes_the_embeddings_and_lower_layers(minilm_folder: Path, params: MiniLMParams, frozen: set) -> None:
    model = build_model(params, inputs(minilm_folder), seed=0)
    fixed = {part(name) for name, param in model.named_parameters() if not param.requires_grad}
    assert fixed == frozen


def part(name: str) -> str:
    """``encoder.embeddings.…`` → embeddings, ``encoder.encoder.layer.1.…`` → encoder.layer.1, else the name."""
    pieces = name.split(".")
    if pieces[:2] == ["encoder", "embeddings"]:
        return "embeddings"
    if pieces[:3] == ["encoder", "encoder", "layer"]:
        return f"encoder.layer.{pieces[3]}"
    return name


def test_minilm_needs_its_weights_and_text_models_need_token_ids() -> None:
    with pytest.raises(ValueError, match="needs the folder of its pretrained weights"):
        build_model(MiniLMParams(), inputs(), seed=0)
    with pytest.raises(ValueError, match="needs token ids"):
        build_model(BagParams(), ModelInputs((1, 28, 28), 10), seed=0)
