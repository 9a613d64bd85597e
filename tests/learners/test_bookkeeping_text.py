"""The book-keeping engine on the text models' layers — Embedding, Linear and LayerNorm on sequences — computes the
clipped gradient sums Opacus's hooks mode computes (noise 0), for every text model, frozen layers included."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from acadp.learners.bookkeeping import BookkeepingClipper, _sequence_norms
from acadp.models import (
    BagParams,
    ModelInputs,
    PretrainedClassifier,
    TransformerParams,
    build_model,
)

VOCAB, SEQ_LEN, CLASSES, PAD = 40, 7, 3, 0


def token_batch(n: int = 12, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (n, SEQ_LEN) with repeated ids inside documents and trailing padding; labels (n,)."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 6, (n, SEQ_LEN), generator=generator)  # 5 distinct ids: repeats in every row
    ids[:, 0] = 2
    lengths = torch.randint(2, SEQ_LEN + 1, (n,), generator=generator)
    ids[torch.arange(SEQ_LEN) >= lengths[:, None]] = PAD
    return ids, torch.randint(0, CLASSES, (n,), generator=generator)


def opacus_clipped_sum(model: nn.Module, x: torch.Tensor, y: torch.Tensor, clip: float) -> list[torch.Tensor | None]:
    """Σ_i clip(∇_i) per trainable parameter (None for a frozen one) from Opacus's hooks mode, noise multiplier 0."""
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    wrapped = GradSampleModule(copy.deepcopy(model), batch_first=True, loss_reduction="sum")
    trainable = [p for p in wrapped.parameters() if p.requires_grad]
    optimizer = DPOptimizer(
        torch.optim.SGD(trainable, lr=1.0),
        noise_multiplier=0.0,
        max_grad_norm=clip,
        expected_batch_size=len(y),
        loss_reduction="sum",
    )
    F.cross_entropy(wrapped(x), y, reduction="sum").backward()
    optimizer.clip_and_accumulate()
    return [p.summed_grad if p.requires_grad else None for p in wrapped.parameters()]


def text_inputs() -> ModelInputs:
    return ModelInputs((SEQ_LEN,), CLASSES, vocab_size=VOCAB, pad_id=PAD)


def small_bert(*, frozen_embeddings: bool, frozen_layers: int) -> nn.Module:
    """A randomly initialised 2-layer BERT inside the head ``minilm`` uses, frozen as asked."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
        max_position_embeddings=SEQ_LEN, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    encoder = BertModel(config, add_pooling_layer=False)
    frozen = ([encoder.embeddings] if frozen_embeddings else []) + list(encoder.encoder.layer[:frozen_layers])
    for module in frozen:
        module.requires_grad_(False)
    return PretrainedClassifier(encoder, hidden=8, n_classes=CLASSES, pad_id=PAD)


MODELS = {
    "bag": lambda: build_model(BagParams(dim=6), text_inputs(), seed=0),
    "transformer": lambda: build_model(
        TransformerParams(dim=8, layers=2, heads=2, hidden=32), text_inputs(), seed=0
    ),  # 8 → 32 → 8 feed-forward: one linear layer on each side of the ghost / materialise switch
    "bert": lambda: small_bert(frozen_embeddings=False, frozen_layers=0),
    "bert_frozen_embeddings": lambda: small_bert(frozen_embeddings=True, frozen_layers=0),
    "bert_frozen_layer": lambda: small_bert(frozen_embeddings=True, frozen_layers=1),
}


@pytest.mark.parametrize("case", sorted(MODELS))
@pytest.mark.parametrize("clip", [0.01, 1.0, 1e4])
def test_text_models_clip_as_opacus_hooks(case: str, clip: float) -> None:
    model = MODELS[case]()
    ids, labels = token_batch()
    expected = opacus_clipped_sum(model, ids, labels, clip)
    batch = BookkeepingClipper(model, max_grad_norm=clip).clipped_sum(ids, labels)
    assert any(theirs is not None for theirs in expected)
    for param, theirs in zip(model.parameters(), expected, strict=True):
        if theirs is None:
            assert param not in batch.grads  # a frozen parameter gets no gradient
        else:
            torch.testing.assert_close(batch.grads[param], theirs, rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("case", sorted(MODELS))
def test_norms_are_the_norms_of_one_backward_pass_per_example(case: str) -> None:
    model = MODELS[case]()
    ids, labels = token_batch(6, seed=1)
    norms = BookkeepingClipper(model, max_grad_norm=1.0).clipped_sum(ids, labels).norms
    params = [p for p in model.parameters() if p.requires_grad]
    for i in range(6):
        grads = torch.autograd.grad(F.cross_entropy(model(ids[i : i + 1]), labels[i : i + 1]), params)
        torch.testing.assert_close(norms[i], torch.sqrt(sum(g.pow(2).sum() for g in grads)), rtol=1e-4, atol=1e-7)


def test_the_padding_row_of_an_embedding_gets_no_gradient() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(VOCAB, 4, padding_idx=PAD), nn.Flatten(), nn.Linear(4 * SEQ_LEN, CLASSES))
    ids, labels = token_batch(5)
    batch = BookkeepingClipper(model, max_grad_norm=0.5).clipped_sum(ids, labels)
    weight = model[0].weight
    expected = torch.zeros_like(weight)
    for i in range(5):  # Σ_i clip(∇_i) from one backward pass per example (torch leaves the padding row at zero)
        params = list(model.parameters())
        grads = torch.autograd.grad(F.cross_entropy(model(ids[i : i + 1]), labels[i : i + 1], reduction="sum"), params)
        norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
        expected += grads[0] * min(1.0, 0.5 / (float(norm) + 1e-6))
    torch.testing.assert_close(batch.grads[weight], expected, rtol=1e-4, atol=1e-7)
    assert not batch.grads[weight][PAD].any()


@pytest.mark.parametrize(("positions", "width_in", "width_out"), [(3, 16, 16), (12, 4, 4)])
def test_sequence_norms_in_either_form(positions: int, width_in: int, width_out: int) -> None:
    """Both forms of a linear layer's per-example norm on sequences (ghost for the first shape, materialised for
    the second) equal the norm of the per-example gradient Σ_p g_p a_pᵀ."""
    a, g = torch.randn(5, positions, width_in), torch.randn(5, positions, width_out)
    reference = torch.einsum("bpo,bpi->boi", g, a).flatten(1).pow(2).sum(1)
    torch.testing.assert_close(_sequence_norms(a, g), reference, rtol=1e-4, atol=1e-5)
