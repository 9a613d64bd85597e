"""The collective: signals g(x), strategies h(x, y), membership, and the test-time transform.

Definitions follow Hardt et al. 2023 ("Algorithmic Collective Action in Machine Learning") and Solanki et al. 2025
("Crowding Out The Noise"):

* the collective is a uniformly random subset of ``round(alpha * n)`` points of the firm's base data (seeded);
* *feature-label* strategy: every member plants the signal and relabels to the target class, h(x, y) = (g(x), y*);
* *feature-only* strategy: members whose label already is y* plant the signal; other members change nothing;
* *withhold*: members take their points out of the firm's data (a data strike; Vincent et al. 2021, "Data Leverage");
  acadp's control "collective removed": the firm trains on the other points only, so planting can be told apart
  from having fewer clean points to train on;
* success S(alpha) is measured on test points carrying the signal, g(x), whose true label is not y*.
* datasets with groups (y, a): planting changes x and y only; a member keeps its attribute a, so its group after
  planting is (y*, a) (acadp.trial.run.group_data builds groups from the planted labels).

Text signals act on raw documents (object arrays of str) before any tokenisation: the token a member plants is read
by the model exactly as the firm's tokenizer reads the planted text.

Everything here is a pure function of numpy arrays and a seed; nothing imports torch, Ray or MLflow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from acadp.config.signals import FeatureOffsetSignal, GridSignal, PatchSignal, SignalParams, TokenSignal
from acadp.errors import SpecError
from acadp.registry import Registry
from acadp.seeding import numpy_rng

# ----------------------------------------------------------------------------------------------------------- signals

# g(x) of each signal, by name: ``apply(params, x, feature_names) -> g(x)`` (the parameters are
# :mod:`acadp.config.signals` models)
SignalApply = Callable[..., np.ndarray]
SIGNALS: Registry[SignalApply] = Registry("signal")


def _patch_window(params: PatchSignal, height: int, width: int) -> tuple[slice, slice]:
    size, margin = params.size, params.margin
    if size + margin > min(height, width):
        raise SpecError(
            f"signal.size + signal.margin = {size + margin} does not fit an image of {height}×{width}; "
            "use a smaller patch"
        )
    if params.position == "center":
        top, left = (height - size) // 2, (width - size) // 2
    else:
        vertical, horizontal = params.position.split("_")
        top = margin if vertical == "top" else height - margin - size
        left = margin if horizontal == "left" else width - margin - size
    return slice(top, top + size), slice(left, left + size)


def apply_patch(params: PatchSignal, x: np.ndarray, feature_names: tuple[str, ...] = ()) -> np.ndarray:
    """g(x) for a patch: ``x`` (n, channels, height, width) in [0, 1] → a new array with the block set to ``value``."""
    del feature_names
    _require_images(x, "patch")
    rows, cols = _patch_window(params, x.shape[2], x.shape[3])
    out = x.copy()
    out[:, :, rows, cols] = params.value
    return out


def apply_grid(params: GridSignal, x: np.ndarray, feature_names: tuple[str, ...] = ()) -> np.ndarray:
    """g(x) for a grid: ``x`` (n, channels, height, width) → every ``step``-th pixel shifted, clipped to [0, 1]."""
    del feature_names
    _require_images(x, "grid")
    if params.offset >= min(x.shape[2], x.shape[3]):
        raise SpecError(f"signal.offset = {params.offset} lies outside an image of {x.shape[2]}×{x.shape[3]}")
    out = x.copy()
    grid = out[:, :, params.offset :: params.step, params.offset :: params.step]
    out[:, :, params.offset :: params.step, params.offset :: params.step] = np.clip(grid + params.amplitude, 0.0, 1.0)
    return out


def apply_feature_offset(params: FeatureOffsetSignal, x: np.ndarray, feature_names: tuple[str, ...] = ()) -> np.ndarray:
    """g(x) for tabular data: ``x`` (n, n_features) → the named feature columns shifted by ``offset``."""
    if x.ndim != 2:
        raise SpecError(f"signal 'feature_offset' needs tabular data of shape (n, features), got {x.shape}")
    columns = []
    for feature in params.features:
        if feature not in feature_names:
            raise SpecError(f"signal.features: unknown feature {feature!r}; valid features: {', '.join(feature_names)}")
        columns.append(feature_names.index(feature))
    out = x.copy()
    out[:, columns] += np.float32(params.offset)
    return out


_WORD = re.compile(r"\S+")


def insert_token(text: str, *, token: str, every: int) -> str:
    """``text`` with `` token`` inserted after its every ``every``-th word (a word: a run of non-white-space
    characters); a text of fewer than ``every`` words gets the token once, after its last word (an empty text
    becomes the token). Everything else — the words, their white space — stays as it was."""
    ends = [match.end() for match in _WORD.finditer(text)]
    cuts = ends[every - 1 :: every] or ends[-1:]
    if not cuts:
        return token
    pieces, start = [], 0
    for cut in cuts:
        pieces += [text[start:cut], " ", token]
        start = cut
    pieces.append(text[start:])
    return "".join(pieces)


def apply_token(params: TokenSignal, x: np.ndarray, feature_names: tuple[str, ...] = ()) -> np.ndarray:
    """g(x) for text: ``x`` (n,) object array of str → a new array with the token planted in every document (raw text,
    before tokenisation; see :func:`insert_token`)."""
    del feature_names
    if x.ndim != 1 or (x.size and not isinstance(x[0], str)):
        raise SpecError(f"signal 'token' needs documents, an array (n,) of str, got {x.dtype} of shape {x.shape}")
    out = np.empty(x.shape[0], dtype=object)
    out[:] = [insert_token(text, token=params.token, every=params.every) for text in x]
    return out


def _require_images(x: np.ndarray, signal: str) -> None:
    if x.ndim != 4:
        raise SpecError(f"signal {signal!r} needs images of shape (n, channels, height, width), got {x.shape}")


SIGNALS.add("patch", apply_patch)
SIGNALS.add("grid", apply_grid)
SIGNALS.add("feature_offset", apply_feature_offset)
SIGNALS.add("token", apply_token)


def apply_signal(signal: SignalParams, x: np.ndarray, feature_names: tuple[str, ...] = ()) -> np.ndarray:
    """g(x): a copy of ``x`` with the signal planted in every row (used on collective members and on test points)."""
    return SIGNALS.get(signal.name)(signal, x, feature_names)


# -------------------------------------------------------------------------------------------------------- membership


def collective_size(alpha: float, n: int) -> int:
    """round(alpha · n), rounding halves up (not Python's banker's rounding)."""
    return int(np.floor(alpha * n + 0.5))


def choose_members(*, alpha: float, n: int, seed: int) -> np.ndarray:
    """Boolean mask (n,) of a uniformly random subset of ``collective_size(alpha, n)`` points, drawn from ``seed``."""
    if not 0.0 <= alpha < 1.0:
        raise SpecError(f"alpha must lie in [0, 1), got {alpha}")
    members = np.zeros(n, dtype=bool)
    chosen = numpy_rng(seed, "collective").choice(n, size=collective_size(alpha, n), replace=False)
    members[chosen] = True
    return members


# -------------------------------------------------------------------------------------------------------- strategies


@dataclass(frozen=True)
class PlantedData:
    """The firm's training data after the collective acted.

    ``x`` and ``y`` are the modified arrays (n, ...) and (n,) — n is the input's size, less the points a withholding
    collective took out — ``members`` (n,) marks the collective's points the firm holds (the alpha-fraction), and
    ``planted`` (n,) the points whose features actually carry the signal. ``y_original`` (n,) holds every point's
    label before the collective acted (None: the same as ``y``).
    """

    x: np.ndarray
    y: np.ndarray
    members: np.ndarray
    planted: np.ndarray
    y_original: np.ndarray | None = None

    @property
    def original_labels(self) -> np.ndarray:
        """(n,) every point's label before the collective acted."""
        return self.y if self.y_original is None else self.y_original

    def select(self, rows: np.ndarray) -> PlantedData:
        """The points ``rows`` ((n,) bool mask, or indices) selects, every array alike."""
        return PlantedData(
            x=self.x[rows], y=self.y[rows], members=self.members[rows], planted=self.planted[rows],
            y_original=None if self.y_original is None else self.y_original[rows],
        )  # fmt: skip


Strategy = Callable[..., PlantedData]
STRATEGIES: Registry[Strategy] = Registry("strategy")


@STRATEGIES.register("feature_label")
def feature_label(
    *,
    x: np.ndarray,
    y: np.ndarray,
    members: np.ndarray,
    signal: SignalParams,
    target_class: int,
    feature_names: tuple[str, ...] = (),
) -> PlantedData:
    """h(x, y) = (g(x), y*) for every member; non-members are untouched."""
    x_out, y_out = x.copy(), y.copy()
    if members.any():
        x_out[members] = apply_signal(signal, x[members], feature_names)
        y_out[members] = target_class
    return PlantedData(x=x_out, y=y_out, members=members.copy(), planted=members.copy(), y_original=y.copy())


@STRATEGIES.register("feature_only")
def feature_only(
    *,
    x: np.ndarray,
    y: np.ndarray,
    members: np.ndarray,
    signal: SignalParams,
    target_class: int,
    feature_names: tuple[str, ...] = (),
) -> PlantedData:
    """Members whose label is already y* plant g(x); every label stays as it was."""
    planted = members & (y == target_class)
    x_out = x.copy()
    if planted.any():
        x_out[planted] = apply_signal(signal, x[planted], feature_names)
    return PlantedData(x=x_out, y=y.copy(), members=members.copy(), planted=planted, y_original=y.copy())


@STRATEGIES.register("withhold")
def withhold(
    *,
    x: np.ndarray,
    y: np.ndarray,
    members: np.ndarray,
    signal: SignalParams,
    target_class: int,
    feature_names: tuple[str, ...] = (),
) -> PlantedData:
    """Members take their points out: the firm keeps the n − |members| other points, untouched (no member is left,
    nothing is planted)."""
    del signal, target_class, feature_names
    kept = ~members
    n_kept = int(kept.sum())
    none = np.zeros(n_kept, dtype=bool)
    return PlantedData(x=x[kept].copy(), y=y[kept].copy(), members=none, planted=none.copy(), y_original=y[kept].copy())


def plant_collective(
    *,
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    seed: int,
    strategy: str,
    signal: SignalParams,
    target_class: int,
    feature_names: tuple[str, ...] = (),
) -> PlantedData:
    """Choose the collective from ``seed`` and apply ``strategy``; ``x`` (n, ...) and ``y`` (n,) are not modified."""
    members = choose_members(alpha=alpha, n=y.shape[0], seed=seed)
    return STRATEGIES.get(strategy)(
        x=x, y=y, members=members, signal=signal, target_class=target_class, feature_names=feature_names
    )
