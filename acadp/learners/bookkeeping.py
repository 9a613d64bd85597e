"""Per-sample gradient clipping in one backward pass ("book-keeping", after Bu et al. 2023, "Differentially Private
Optimization on Large Model at Small Cost").

For every trainable layer the forward pass records the layer's input ``a`` and the backward pass (asked only for the
gradients of layer *outputs*, so autograd never computes the summed weight gradients) gives ``g = dL_i/d out``. From
(a, g) each layer computes

* the squared norm of every example's gradient (for linear layers ``|a_i|² |g_i|²``, on sequences and for
  convolutions the per-example gradient ``g_i · unfold(a_i)ᵀ`` or the "ghost" Gram-matrix form, whichever is cheaper;
  for embeddings the output gradients summed per looked-up row), and
* the clipped sum ``Σ_i c_i ∇_i`` for any per-example factors ``c``, without a second backward pass.

The clipping rule is Opacus's flat clipping: ``c_i = min(1, C / (‖∇_i‖ + 1e-6))``; tests check the clipped sum equals
what Opacus's ``grad_sample_mode="hooks"`` computes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from acadp.errors import UnsupportedLayerError

# Opacus adds this to the norm before dividing (opacus/optimizers/optimizer.py, clip_and_accumulate).
CLIP_EPSILON = 1e-6
# Per-example convolution gradients are materialised when they take at most this many floats (256 MiB); larger
# layers use the ghost norm, which needs (positions × positions) Gram matrices instead.
MATERIALIZE_LIMIT = 64 * 2**20


def _materialize(*, batch: int, positions: int, c_out: int, k: int) -> bool:
    """Materialise per-example conv gradients (one batched GEMM, reused for the clipped sum) unless they do not fit
    in memory and the ghost norm is cheaper."""
    ghost_cheaper = positions * (c_out + k) < c_out * k
    return batch * c_out * k <= MATERIALIZE_LIMIT or not ghost_cheaper


@dataclass
class LayerGradients:
    """One layer's contribution: squared per-example norms (batch,) and a function c (batch,) → Σ_i c_i ∇_i."""

    norms_squared: torch.Tensor
    weighted_sum: Callable[[torch.Tensor], dict[torch.Tensor, torch.Tensor]]


LayerHandler = Callable[[nn.Module, torch.Tensor, torch.Tensor], LayerGradients]
_HANDLERS: dict[type[nn.Module], LayerHandler] = {}


def register_layer(kind: type[nn.Module]) -> Callable[[LayerHandler], LayerHandler]:
    """Decorator registering the per-sample-gradient handler of a layer type (refuses duplicates)."""

    def decorate(handler: LayerHandler) -> LayerHandler:
        if kind in _HANDLERS:
            raise ValueError(f"a book-keeping handler for {kind.__name__} is registered twice")
        _HANDLERS[kind] = handler
        return handler

    return decorate


def supported_layers() -> list[str]:
    """Names of the layer types the book-keeping engine supports."""
    return sorted(kind.__name__ for kind in _HANDLERS)


def _param_sum(parts: dict[torch.Tensor | None, torch.Tensor]) -> dict[torch.Tensor, torch.Tensor]:
    return {param: value for param, value in parts.items() if param is not None and param.requires_grad}


def _sequence_norms(a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Squared norms (batch,) of the per-example weight gradients Σ_p g_p a_pᵀ of a linear layer applied at every
    position p of a sequence: a (batch, positions, in), g (batch, positions, out). Materialised (batch, out, in), or
    in the ghost form Σ_{p,q} (a_p·a_q)(g_p·g_q) when that takes fewer operations (long rows, short sequences)."""
    positions, width_in, width_out = a.shape[1], a.shape[2], g.shape[2]
    if positions * (width_in + width_out) < width_in * width_out:
        return (torch.bmm(a, a.transpose(1, 2)) * torch.bmm(g, g.transpose(1, 2))).sum((1, 2))
    return torch.bmm(g.transpose(1, 2), a).flatten(1).pow(2).sum(1)


@register_layer(nn.Linear)
def _linear(layer: nn.Module, a: torch.Tensor, g: torch.Tensor) -> LayerGradients:
    """a (batch, ..., in), g (batch, ..., out)."""
    assert isinstance(layer, nn.Linear)
    # one position per example, or sequences (any number of position axes, flattened)
    norms = a.pow(2).sum(1) * g.pow(2).sum(1) if a.dim() == 2 else _sequence_norms(a.flatten(1, -2), g.flatten(1, -2))
    bias_grad = g.flatten(1, -2).sum(1) if g.dim() > 2 else g
    if layer.bias is not None:
        norms = norms + bias_grad.pow(2).sum(1)

    def weighted_sum(c: torch.Tensor) -> dict[torch.Tensor, torch.Tensor]:
        gc = g * c.view(-1, *([1] * (g.dim() - 1)))
        weight = gc.reshape(-1, gc.shape[-1]).t() @ a.reshape(-1, a.shape[-1])
        return _param_sum({layer.weight: weight, layer.bias: (bias_grad * c[:, None]).sum(0)})

    return LayerGradients(norms, weighted_sum)


@register_layer(nn.Embedding)
def _embedding(layer: nn.Module, a: torch.Tensor, g: torch.Tensor) -> LayerGradients:
    """a (batch, ...) int64 row indices, g (batch, ..., dim). An example's gradient is the sum of its positions'
    output gradients in the rows they looked up: positions that share a row within an example are summed first (one
    sort of the (example, row) pairs), so no (vocabulary × dim) array per example is ever formed. The padding row
    (``padding_idx``) gets no gradient, as in torch's own backward pass."""
    assert isinstance(layer, nn.Embedding)
    if layer.max_norm is not None or layer.scale_grad_by_freq or layer.sparse:
        raise UnsupportedLayerError(
            f"book-keeping supports Embedding without max_norm, scale_grad_by_freq or sparse gradients; {layer} is "
            "not: use training.grad_sample_mode 'hooks'"
        )
    batch, rows = a.shape[0], layer.num_embeddings
    ids = a.reshape(batch, -1)  # (batch, positions)
    grads = g.reshape(batch, ids.shape[1], -1)  # (batch, positions, dim)
    if layer.padding_idx is not None:
        grads = grads * (ids != layer.padding_idx).unsqueeze(-1).to(grads.dtype)
    owner = torch.arange(batch, device=ids.device).unsqueeze(1).expand_as(ids)
    pairs, slot = torch.unique((owner * rows + ids).flatten(), return_inverse=True)  # one slot per (example, row)
    summed = torch.zeros(pairs.shape[0], grads.shape[2], dtype=grads.dtype, device=grads.device)
    summed.index_add_(0, slot, grads.flatten(0, 1))  # (slots, dim): each example's gradient in each row it used
    example, row = pairs // rows, pairs % rows
    norms = torch.zeros(batch, dtype=grads.dtype, device=grads.device).index_add_(0, example, summed.pow(2).sum(1))

    def weighted_sum(c: torch.Tensor) -> dict[torch.Tensor, torch.Tensor]:
        weight = torch.zeros_like(layer.weight).index_add_(0, row, summed * c[example].unsqueeze(1))
        return _param_sum({layer.weight: weight})

    return LayerGradients(norms, weighted_sum)


def _patches(layer: nn.Conv2d, a: torch.Tensor) -> torch.Tensor:
    """The receptive fields of every output position, transposed: (batch, c_in·kh·kw, positions), rows in the
    weight's flat order — what ``F.unfold`` returns, built from strided views and one copy, several times faster on
    CPU than im2col.
    """
    ph, pw = (int(p) for p in layer.padding)  # numeric padding: checked by the caller
    if layer.dilation != (1, 1):
        return F.unfold(a, layer.kernel_size, dilation=layer.dilation, padding=(ph, pw), stride=layer.stride)
    (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
    padded = F.pad(a, (pw, pw, ph, ph)) if ph or pw else a
    views = padded.unfold(2, kh, sh).unfold(3, kw, sw)  # (batch, c_in, h', w', kh, kw)
    batch, c_in, out_h, out_w = views.shape[:4]
    return views.permute(0, 1, 4, 5, 2, 3).reshape(batch, c_in * kh * kw, out_h * out_w)


@register_layer(nn.Conv2d)
def _conv2d(layer: nn.Module, a: torch.Tensor, g: torch.Tensor) -> LayerGradients:
    """a (batch, c_in, h, w), g (batch, c_out, h', w')."""
    assert isinstance(layer, nn.Conv2d)
    if layer.groups != 1 or layer.padding_mode != "zeros" or isinstance(layer.padding, str):
        raise UnsupportedLayerError(
            "book-keeping supports Conv2d with groups=1, zero padding given as numbers; "
            f"{layer} is not: use training.grad_sample_mode 'hooks'"
        )
    patches = _patches(layer, a).transpose(1, 2)  # (batch, positions, k), a view
    grads = g.flatten(2)  # (batch, c_out, positions)
    _, c_out, positions = grads.shape
    k = patches.shape[2]
    per_example = None
    if _materialize(batch=grads.shape[0], positions=positions, c_out=c_out, k=k):
        per_example = torch.bmm(grads, patches).flatten(1)  # (batch, c_out·k)
        norms = torch.linalg.vector_norm(per_example, dim=1).square()
    else:  # ghost norm: ‖Σ_p g_p a_pᵀ‖² = Σ_{p,q} (g_p·g_q)(a_p·a_q)
        gram_g = torch.bmm(grads.transpose(1, 2), grads)
        gram_a = torch.bmm(patches, patches.transpose(1, 2))
        norms = (gram_g * gram_a).sum((1, 2))
    bias_grad = grads.sum(2)  # (batch, c_out)
    if layer.bias is not None:
        norms = norms + bias_grad.pow(2).sum(1)

    def weighted_sum(c: torch.Tensor) -> dict[torch.Tensor, torch.Tensor]:
        if per_example is not None:
            weight = (c @ per_example).view_as(layer.weight)
        else:
            scaled = grads * c.view(-1, 1, 1)
            weight = torch.einsum("bop,bpk->ok", scaled, patches).reshape_as(layer.weight)
        return _param_sum({layer.weight: weight, layer.bias: c @ bias_grad})

    return LayerGradients(norms, weighted_sum)


@register_layer(nn.GroupNorm)
def _group_norm(layer: nn.Module, a: torch.Tensor, g: torch.Tensor) -> LayerGradients:
    """a, g (batch, channels, ...): per-example affine gradients are per-channel sums over positions."""
    assert isinstance(layer, nn.GroupNorm)
    normalized = F.group_norm(a, layer.num_groups, eps=layer.eps)
    weight_grad = (normalized * g).flatten(2).sum(2)  # (batch, channels)
    bias_grad = g.flatten(2).sum(2)
    norms = torch.zeros(a.shape[0], dtype=a.dtype, device=a.device)
    if layer.affine:
        norms = weight_grad.pow(2).sum(1) + bias_grad.pow(2).sum(1)

    def weighted_sum(c: torch.Tensor) -> dict[torch.Tensor, torch.Tensor]:
        return _param_sum({layer.weight: c @ weight_grad, layer.bias: c @ bias_grad})

    return LayerGradients(norms, weighted_sum)


@register_layer(nn.LayerNorm)
def _layer_norm(layer: nn.Module, a: torch.Tensor, g: torch.Tensor) -> LayerGradients:
    """a, g (batch, ..., *normalized_shape)."""
    assert isinstance(layer, nn.LayerNorm)
    normalized = F.layer_norm(a, layer.normalized_shape, eps=layer.eps)
    dims = a.dim() - len(layer.normalized_shape)
    reduce = tuple(range(1, dims))
    weight_grad = (normalized * g).sum(reduce) if reduce else normalized * g
    bias_grad = g.sum(reduce) if reduce else g
    norms = torch.zeros(a.shape[0], dtype=a.dtype, device=a.device)
    if layer.elementwise_affine:
        norms = weight_grad.flatten(1).pow(2).sum(1) + bias_grad.flatten(1).pow(2).sum(1)

    def weighted_sum(c: torch.Tensor) -> dict[torch.Tensor, torch.Tensor]:
        return _param_sum(
            {layer.weight: torch.tensordot(c, weight_grad, 1), layer.bias: torch.tensordot(c, bias_grad, 1)}
        )

    return LayerGradients(norms, weighted_sum)


@dataclass
class ClippedBatch:
    """Result of one clipped backward pass over a batch."""

    grads: dict[torch.Tensor, torch.Tensor]  # Σ_i c_i ∇_i per parameter (no noise, not divided by batch size)
    norms: torch.Tensor  # (batch,) per-example gradient norms before clipping
    loss_sum: torch.Tensor  # scalar: Σ_i loss_i


class BookkeepingClipper:
    """Computes clipped per-example gradient sums of ``model`` in one forward and one (partial) backward pass."""

    def __init__(self, model: nn.Module, *, max_grad_norm: float) -> None:
        self.model = model
        self.max_grad_norm = max_grad_norm
        self._layers = _trainable_layers(model)
        self._records: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []
        self._versions: list[tuple[int, int]] = []  # (input, output) tensor versions at record time
        self._recording = False
        for layer in self._layers:
            layer.register_forward_hook(self._record)

    def _record(self, layer: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if self._recording:
            self._records.append((layer, inputs[0].detach(), output))
            self._versions.append((inputs[0]._version, output._version))

    def clipped_sum(self, x: torch.Tensor, y: torch.Tensor) -> ClippedBatch:
        """Forward ``x`` (batch, ...) with labels ``y`` (batch,), clip each example's gradient to the norm bound."""
        self._records.clear()
        self._versions.clear()
        self._recording = True
        try:
            losses = F.cross_entropy(self.model(x), y, reduction="none")
        finally:
            self._recording = False
        loss_sum = losses.sum()
        self._check_records()
        outputs = [output for _, _, output in self._records]
        out_grads = torch.autograd.grad(loss_sum, outputs, allow_unused=True)
        layer_grads = [
            _HANDLERS[type(layer)](layer, a, torch.zeros_like(out) if g is None else g)
            for (layer, a, out), g in zip(self._records, out_grads, strict=True)
        ]
        norms = torch.stack([part.norms_squared for part in layer_grads]).sum(0).sqrt()
        factors = (self.max_grad_norm / (norms + CLIP_EPSILON)).clamp(max=1.0)
        grads: dict[torch.Tensor, torch.Tensor] = {}
        for part in layer_grads:
            grads.update(part.weighted_sum(factors))
        self._records.clear()
        return ClippedBatch(grads=grads, norms=norms.detach(), loss_sum=loss_sum.detach())

    def _check_records(self) -> None:
        seen = [layer for layer, _, _ in self._records]
        if len(seen) != len(set(map(id, seen))):
            raise UnsupportedLayerError("book-keeping needs every layer to run once per forward pass (no sharing)")
        for (layer, a, output), versions in zip(self._records, self._versions, strict=True):
            if (a._version, output._version) != versions:
                raise UnsupportedLayerError(
                    f"the output of {layer} was modified in place (e.g. ReLU(inplace=True)); "
                    "use out-of-place activations or training.grad_sample_mode 'hooks'"
                )


def _trainable_layers(model: nn.Module) -> list[nn.Module]:
    layers = []
    for name, module in model.named_modules():
        own = [p for p in module.parameters(recurse=False) if p.requires_grad]
        if not own:
            continue
        if type(module) not in _HANDLERS:
            raise UnsupportedLayerError(
                f"layer {name or type(module).__name__} ({type(module).__name__}) has trainable parameters the "
                f"book-keeping engine cannot clip; supported: {', '.join(supported_layers())}. "
                "Use training.grad_sample_mode 'hooks' (Opacus) for this model"
            )
        layers.append(module)
    return layers
