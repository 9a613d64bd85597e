"""Model registry: ``cnn`` (tanh CNN for 28×28 digits), ``resnet18_gn`` (ResNet-18 with GroupNorm), ``mlp``; for
text (token ids (batch, seq_len), padded with ``pad_id``): ``bag`` (a bag of embeddings), ``transformer`` (a small
encoder trained from scratch) and ``minilm`` (the pretrained MiniLM-L6 encoder with a classification head).

Every model normalises its input internally (a fixed, non-trainable affine layer), so signals are planted in pixel
space and the collective's transform never depends on normalisation constants. No model uses BatchNorm (which mixes
examples and breaks per-example privacy) or in-place activations (which would overwrite layer outputs the
per-sample-gradient engine reads).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from acadp.config.base import FrozenModel
from acadp.config.models import (
    BagParams,
    CNNParams,
    MiniLMParams,
    MLPParams,
    ModelParams,
    ResNet18GNParams,
    TransformerParams,
)
from acadp.registry import Registry

__all__ = [
    "MODELS",
    "BagParams",
    "CNNParams",
    "MLPParams",
    "MiniLMParams",
    "ModelInputs",
    "ModelParams",
    "ResNet18GNParams",
    "TransformerParams",
    "build_model",
    "count_parameters",
]


@dataclass(frozen=True)
class ModelInputs:
    """What a model builder needs to know about the data: for text, the vocabulary's size and padding id, and the
    folder of pretrained weights of a model that starts from them (its config's ``ASSET``)."""

    input_shape: tuple[int, ...]  # one example: (channels, height, width), (n_features,) or (seq_len,) token ids
    n_classes: int
    channel_mean: tuple[float, ...] = ()
    channel_std: tuple[float, ...] = ()
    vocab_size: int = 0
    pad_id: int = 0
    pretrained: Path | None = None


ModelBuilder = Callable[[FrozenModel, ModelInputs], nn.Module]
MODELS: Registry[ModelBuilder] = Registry("model")


class Normalize(nn.Module):
    """(x - mean) / std per channel with fixed constants (buffers, not parameters)."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _normalizer(inputs: ModelInputs) -> nn.Module:
    if inputs.channel_mean and inputs.channel_std:
        return Normalize(inputs.channel_mean, inputs.channel_std)
    return nn.Identity()


@MODELS.register("cnn")
def build_cnn(params: FrozenModel, inputs: ModelInputs) -> nn.Module:
    """conv(16, 8×8, stride 2) → tanh → maxpool(2, 1) → conv(32, 4×4, stride 2) → tanh → maxpool(2, 1) → fc 32 → fc."""
    if len(inputs.input_shape) != 3:
        raise ValueError(f"model 'cnn' needs image inputs (channels, height, width), got {inputs.input_shape}")
    channels = inputs.input_shape[0]
    features = nn.Sequential(
        nn.Conv2d(channels, 16, kernel_size=8, stride=2, padding=3),
        nn.Tanh(),
        nn.MaxPool2d(2, 1),
        nn.Conv2d(16, 32, kernel_size=4, stride=2),
        nn.Tanh(),
        nn.MaxPool2d(2, 1),
        nn.Flatten(),
    )
    with torch.no_grad():
        flat = features(torch.zeros(1, *inputs.input_shape)).shape[1]
    return nn.Sequential(_normalizer(inputs), features, nn.Linear(flat, 32), nn.Tanh(), nn.Linear(32, inputs.n_classes))


def _out_of_place_basic_block() -> type[nn.Module]:
    """torchvision's ResNet BasicBlock with the residual addition and ReLU done out of place.

    torchvision adds the shortcut with ``out += identity``, which overwrites the GroupNorm output that per-sample
    gradient engines read; the arithmetic is otherwise identical.
    """
    from torchvision.models.resnet import BasicBlock

    class OutOfPlaceBasicBlock(BasicBlock):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return torch.relu(out + identity)

    return OutOfPlaceBasicBlock


@MODELS.register("resnet18_gn")
def build_resnet18_gn(params: FrozenModel, inputs: ModelInputs) -> nn.Module:
    """ResNet-18 (He et al. 2016) with GroupNorm(``groups``) and a CIFAR stem, as used for DP on CIFAR-10."""
    assert isinstance(params, ResNet18GNParams)
    from torchvision.models.resnet import ResNet

    if len(inputs.input_shape) != 3:
        raise ValueError(f"model 'resnet18_gn' needs image inputs, got {inputs.input_shape}")
    groups = params.groups
    net = ResNet(
        _out_of_place_basic_block(),
        [2, 2, 2, 2],
        num_classes=inputs.n_classes,
        norm_layer=lambda width: nn.GroupNorm(min(groups, width), width),
    )
    net.conv1 = nn.Conv2d(inputs.input_shape[0], 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    for module in net.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    return nn.Sequential(_normalizer(inputs), net)


@MODELS.register("mlp")
def build_mlp(params: FrozenModel, inputs: ModelInputs) -> nn.Module:
    """Linear → activation blocks of widths ``hidden`` → linear classifier."""
    assert isinstance(params, MLPParams)
    if len(inputs.input_shape) != 1:
        raise ValueError(f"model 'mlp' needs flat tabular inputs (n_features,), got {inputs.input_shape}")
    activation = {"relu": nn.ReLU, "tanh": nn.Tanh}[params.activation]
    layers: list[nn.Module] = []
    width = inputs.input_shape[0]
    for hidden in params.hidden:
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, inputs.n_classes))
    return nn.Sequential(*layers)


def _text_inputs(name: str, inputs: ModelInputs) -> int:
    """The sequence length of a text model's inputs; ValueError unless they are token ids of a known vocabulary."""
    if len(inputs.input_shape) != 1 or inputs.vocab_size < 1:
        raise ValueError(f"model {name!r} needs token ids (seq_len,) of a vocabulary, got {inputs.input_shape}")
    return inputs.input_shape[0]


def masked_mean(states: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """The mean of ``states`` (batch, seq_len, dim) over the positions ``keep`` (batch, seq_len) marks; (batch, dim)."""
    weights = keep.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class BagOfEmbeddings(nn.Module):
    """Token embeddings averaged over a document's word pieces (padding left out), then a linear classifier.
    Initialised as fastText initialises its input vectors and classifier (Joulin et al. 2017; fastText's
    ``Matrix::uniform(1 / dim)`` and zero output): embeddings uniform in [−1/dim, 1/dim], the classifier at zero."""

    def __init__(self, *, vocab_size: int, dim: int, n_classes: int, pad_id: int) -> None:
        super().__init__()
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, dim)
        self.classifier = nn.Linear(dim, n_classes)
        nn.init.uniform_(self.embedding.weight, -1.0 / dim, 1.0 / dim)
        nn.init.zeros_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.classifier(masked_mean(self.embedding(ids), ids != self.pad_id))


@MODELS.register("bag")
def build_bag(params: FrozenModel, inputs: ModelInputs) -> nn.Module:
    """A bag of embeddings of width ``dim`` over the whole vocabulary (fastText-like, no n-grams)."""
    assert isinstance(params, BagParams)
    _text_inputs("bag", inputs)
    return BagOfEmbeddings(
        vocab_size=inputs.vocab_size, dim=params.dim, n_classes=inputs.n_classes, pad_id=inputs.pad_id
    )


class EncoderBlock(nn.Module):
    """A pre-norm transformer block: x + attention(norm(x)), then x + feed-forward(norm(x)). The query, key, value
    and output projections are separate linear layers (every layer runs once per forward pass, as per-example
    clipping needs)."""

    def __init__(self, params: TransformerParams) -> None:
        super().__init__()
        dim, self.heads = params.dim, params.heads
        self.attention_norm, self.feed_forward_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.query, self.key, self.value, self.output = (nn.Linear(dim, dim) for _ in range(4))
        self.expand, self.contract = nn.Linear(dim, params.hidden), nn.Linear(params.hidden, dim)
        self.dropout = nn.Dropout(params.dropout)

    def _split(self, states: torch.Tensor) -> torch.Tensor:
        batch, length, dim = states.shape  # → (batch, heads, length, dim / heads)
        return states.view(batch, length, self.heads, dim // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        h = self.attention_norm(x)
        mask = keep[:, None, None, :]  # (batch, 1, 1, keys): padded keys get no attention
        attended = F.scaled_dot_product_attention(
            self._split(self.query(h)), self._split(self.key(h)), self._split(self.value(h)), attn_mask=mask
        )
        x = x + self.dropout(self.output(attended.transpose(1, 2).flatten(2)))
        return x + self.dropout(self.contract(F.gelu(self.expand(self.feed_forward_norm(x)))))


class TextTransformer(nn.Module):
    """Token and learned position embeddings, encoder blocks, a final norm, the mean over the document's word pieces
    (padding left out) and a linear classifier."""

    def __init__(
        self, params: TransformerParams, *, vocab_size: int, seq_len: int, n_classes: int, pad_id: int
    ) -> None:
        super().__init__()
        self.pad_id = pad_id
        self.token_embedding = nn.Embedding(vocab_size, params.dim)
        self.position_embedding = nn.Embedding(seq_len, params.dim)
        self.blocks = nn.ModuleList(EncoderBlock(params) for _ in range(params.layers))
        self.norm = nn.LayerNorm(params.dim)
        self.classifier = nn.Linear(params.dim, n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        keep = ids != self.pad_id
        positions = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)  # one row per example
        x = self.token_embedding(ids) + self.position_embedding(positions)
        for block in self.blocks:
            x = block(x, keep)
        return self.classifier(masked_mean(self.norm(x), keep))


@MODELS.register("transformer")
def build_transformer(params: FrozenModel, inputs: ModelInputs) -> nn.Module:
    """A ``layers``-block transformer encoder of width ``dim`` with ``seq_len`` learned positions."""
    assert isinstance(params, TransformerParams)
    seq_len = _text_inputs("transformer", inputs)
    return TextTransformer(
        params, vocab_size=inputs.vocab_size, seq_len=seq_len, n_classes=inputs.n_classes, pad_id=inputs.pad_id
    )


class PretrainedClassifier(nn.Module):
    """A pretrained BERT-style encoder (``transformers``' ``BertModel``), the mean of its last layer's outputs over the
    document's word pieces (its sentence pooling), and a linear classifier. Position and segment ids are passed as one
    row per example, so that every embedding layer's input is per example."""

    def __init__(self, encoder: nn.Module, *, hidden: int, n_classes: int, pad_id: int) -> None:
        super().__init__()
        self.pad_id = pad_id
        self.encoder = encoder
        self.classifier = nn.Linear(hidden, n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        keep = ids != self.pad_id
        positions = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
        states = self.encoder(
            input_ids=ids, attention_mask=keep.long(), token_type_ids=torch.zeros_like(ids), position_ids=positions
        ).last_hidden_state
        return self.classifier(masked_mean(states, keep))


@MODELS.register("minilm")
def build_minilm(params: FrozenModel, inputs: ModelInputs) -> nn.Module:
    """MiniLM-L6 from ``inputs.pretrained`` (its weights, read with ``transformers``; no pooler) with a new head;
    embeddings and the first ``frozen_layers`` layers frozen as asked."""
    assert isinstance(params, MiniLMParams)
    _text_inputs("minilm", inputs)
    if inputs.pretrained is None:
        raise ValueError(f"model 'minilm' needs the folder of its pretrained weights (model asset {params.ASSET})")
    from transformers import BertModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # the checkpoint's pooler is left out on purpose (add_pooling_layer=False): transformers would report its weights
    # as "UNEXPECTED" keys on every trial, so its warnings are silenced for this load only (errors still raise)
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        encoder = BertModel.from_pretrained(
            str(inputs.pretrained),
            local_files_only=True,
            use_safetensors=True,
            add_pooling_layer=False,
            hidden_dropout_prob=params.dropout,
            attention_probs_dropout_prob=params.dropout,
        )
    finally:
        transformers_logging.set_verbosity(verbosity)
    frozen: list[nn.Module] = [encoder.embeddings] if params.embeddings_frozen else []
    frozen += list(encoder.encoder.layer[: params.frozen_layers])
    for module in frozen:
        module.requires_grad_(False)
    hidden = int(encoder.config.hidden_size)
    return PretrainedClassifier(encoder.train(), hidden=hidden, n_classes=inputs.n_classes, pad_id=inputs.pad_id)


def build_model(params: FrozenModel, inputs: ModelInputs, *, seed: int) -> nn.Module:
    """Build the registered model ``params.name``, weights initialised from ``seed`` (global RNG untouched)."""
    builder = MODELS.get(str(getattr(params, "name", "")))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = builder(params, inputs)
    return model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
