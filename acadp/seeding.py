"""Independent random streams derived from one trial seed.

Each consumer of randomness (the collective's membership, model initialisation, batch sampling and DP noise, data
subsampling) draws from its own stream, so changing how one stage uses randomness never shifts another stage's draws.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def derive_seed(seed: int, stream: str) -> int:
    """A 63-bit integer seed for ``stream`` derived from ``seed`` (stable across runs, platforms and versions)."""
    sequence = np.random.SeedSequence([seed, zlib.crc32(stream.encode())])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def numpy_rng(seed: int, stream: str) -> np.random.Generator:
    """A numpy generator for ``stream`` of ``seed``."""
    return np.random.default_rng(derive_seed(seed, stream))


def torch_generator(seed: int, stream: str, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on ``device`` for ``stream`` of ``seed``."""
    import torch  # not at module level: configs and the command line use this module without torch

    generator = torch.Generator(device=device)
    generator.manual_seed(derive_seed(seed, stream))
    return generator
