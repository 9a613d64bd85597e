"""Training augmentation of image batches (``training.augment``), applied to a batch's inputs before the forward pass.

* ``flip``: each example is mirrored along its width axis with probability ½;
* ``shift``: each example is translated by an integer offset (dy, dx), each uniform in [-s, s] (s =
  ``training.augment_shift``), with zero fill — the reference LiRA code's "mirror and shift" training augmentation
  (Carlini et al. 2022), whose views LiRA then queries (:mod:`acadp.config.lira`).

The draws come per example per step from the run's own ``augment`` stream (a CPU generator derived from the run's
seed and saved in its checkpoint), so training is deterministic and resumes bit-identically, and augmenting never
shifts the batches or the noise another stream draws. Every per-example gradient engine sees the augmented batch as
ordinary inputs: the augmented example is the one whose gradient is clipped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from acadp.config.trial import TrainingConfig
from acadp.errors import SpecError
from acadp.seeding import torch_generator

AUGMENT_STREAM = "augment"


def translate(x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """``x`` (b, channels, height, width) with example i moved by ``offsets[i]`` = (dy, dx) pixels (b, 2) int64:
    ``out[i, :, r, c] = x[i, :, r − dy, c − dx]``, zero where that falls outside the image (dy > 0 moves down, dx > 0
    moves right)."""
    batch, _, height, width = x.shape
    if batch == 0:
        return x
    reach = int(offsets.abs().max())
    if reach == 0:
        return x
    padded = F.pad(x, (reach, reach, reach, reach)).permute(0, 2, 3, 1)  # (b, h + 2·reach, w + 2·reach, channels)
    rows = torch.arange(height, device=x.device) + reach - offsets[:, :1]  # (b, h)
    cols = torch.arange(width, device=x.device) + reach - offsets[:, 1:]  # (b, w)
    index = torch.arange(batch, device=x.device)[:, None, None]
    moved = padded[index, rows[:, :, None], cols[:, None, :]]  # (b, h, w, channels)
    return moved.permute(0, 3, 1, 2).contiguous()


class Augmenter:
    """Random flips and shifts of image batches, drawn from a generator of the run's seed."""

    def __init__(self, training: TrainingConfig, *, seed: int) -> None:
        self.flip = "flip" in training.augment
        self.shift = training.augment_shift if "shift" in training.augment else 0
        self.generator = torch_generator(seed, AUGMENT_STREAM)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """A freshly augmented copy of the batch ``x`` (b, channels, height, width); one draw per example."""
        batch = x.shape[0]
        if self.flip:
            flipped = torch.rand(batch, generator=self.generator) < 0.5  # (b,)
            x = torch.where(flipped.to(x.device)[:, None, None, None], x.flip(-1), x)
        if self.shift:
            offsets = torch.randint(-self.shift, self.shift + 1, (batch, 2), generator=self.generator)
            x = translate(x, offsets.to(x.device))
        return x

    def get_state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state)


def make_augmenter(training: TrainingConfig, *, x: torch.Tensor, seed: int) -> Augmenter | None:
    """The augmenter of a run training on ``x`` (n, ...), or None without ``training.augment``. Refuses data that are
    not images (n, channels, height, width)."""
    if not training.augment:
        return None
    if x.ndim != 4:
        raise SpecError(
            f"training.augment: [{', '.join(training.augment)}] augments images (n, channels, height, width), but "
            f"the training inputs have shape {tuple(x.shape)}; use none"
        )
    return Augmenter(training, seed=seed)
