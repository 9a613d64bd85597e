"""How figures draw arms and name things: one colour per arm family and one marker per arm, the same colours in every
figure of a sweep, and the words a reader sees (no matplotlib here: plain data the plotting modules share).

Colours are the Okabe–Ito colour-blind-safe palette; every arm also has its own marker, so figures survive grey-scale
printing. SGD, the non-private reference, is black. On an ε axis the DP arms of one clipping norm C are one line (ε is
the axis), named and styled as the family ``DP C=1``; where every arm is its own line (S(α)) the DP arms keep their
family's colour and differ by marker and line style (the largest ε solid).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from acadp.config.lira import ATTACK_LABELS

# Okabe & Ito (2008), "Color Universal Design", ordered for contrast on white (yellow last)
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442")
REFERENCE_COLOR = "#000000"
REFERENCE_MARKER = "o"
# no triangles: an arrowhead means "not reached" in the critical-mass figure
MARKERS: tuple[str, ...] = ("s", "D", "P", "X", "*", "h", "p")
MORE_MARKERS: tuple[str, ...] = ("d", "H", "8", "v", "<", ">")  # for the second and later DP arms of a family
LineStyle = Literal["-", "--", ":", "-."]
LINESTYLES: tuple[LineStyle, ...] = ("-", "--", ":", "-.")
# the DP arms of one family by decreasing ε ("--" is left to the faint base-rate lines)
EPSILON_LINESTYLES: tuple[LineStyle, ...] = ("-", "-.", ":")
REFERENCE_ARM = "SGD"


@dataclass(frozen=True)
class ArmStyle:
    """How one arm (or one DP family on an ε axis) is drawn."""

    color: str
    marker: str

    def kwargs(self) -> dict[str, Any]:
        """The matplotlib keyword arguments of the style."""
        return {"color": self.color, "marker": self.marker}


def style_book(arms: Iterable[str]) -> dict[str, ArmStyle]:
    """Arm name → style, for ``arms`` in the order given (repeats ignored): SGD black with a circle, every other arm
    the next palette colour and the next marker (a colour and a marker repeat only after seven arms, never together
    before 49)."""
    book: dict[str, ArmStyle] = {}
    index = 0
    for arm in dict.fromkeys(arms):
        if arm == REFERENCE_ARM:
            book[arm] = ArmStyle(REFERENCE_COLOR, REFERENCE_MARKER)
            continue
        color = PALETTE[index % len(PALETTE)]
        marker = MARKERS[(index + index // len(PALETTE)) % len(MARKERS)]
        book[arm] = ArmStyle(color, marker)
        index += 1
    return book


def dp_family(clip: float) -> str:
    """The name of the DP arms of clipping norm ``clip`` as one line against ε: ``DP C=1``."""
    return f"DP C={clip:g}"


def epsilon_axis_families(arms: Mapping[str, tuple[float, float]]) -> list[str]:
    """The lines of a figure against ε, in drawing order: the DP families by C, then the non-private arms as given.

    Args:
        arms: arm name → (ε, C) of the arm (C NaN: no clipping), in the table's order.
    """
    clips = sorted({clip for epsilon, clip in arms.values() if math.isfinite(epsilon)})
    others = [arm for arm, (epsilon, _) in arms.items() if not math.isfinite(epsilon)]
    return [dp_family(clip) for clip in clips] + others


def arm_styles(arms: Mapping[str, tuple[float, float]]) -> dict[str, tuple[ArmStyle, LineStyle]]:
    """Arm → (style, line style) where every arm is its own line: the colour of its family on an ε axis (so the same
    colours as :func:`style_book` of :func:`epsilon_axis_families`), a marker no other arm has, and for the DP arms
    of one C a line style by decreasing ε (the largest ε solid, with the family's marker).

    Args:
        arms: arm name → (ε, C) of the arm (C NaN: no clipping), in the table's order.
    """
    families = style_book(epsilon_axis_families(arms))
    spare = iter(m for m in (*MORE_MARKERS, *MARKERS) if m not in {s.marker for s in families.values()})
    by_family: dict[str, list[str]] = {}
    for arm, (epsilon, clip) in sorted(arms.items(), key=lambda item: -item[1][0]):
        by_family.setdefault(dp_family(clip) if math.isfinite(epsilon) else arm, []).append(arm)
    styles: dict[str, tuple[ArmStyle, LineStyle]] = {}
    for family, members in by_family.items():
        color = families[family].color
        for rank, arm in enumerate(members):
            marker = families[family].marker if rank == 0 else next(spare, MARKERS[rank % len(MARKERS)])
            styles[arm] = (ArmStyle(color, marker), EPSILON_LINESTYLES[rank % len(EPSILON_LINESTYLES)])
    return {arm: styles[arm] for arm in arms}


def attack_label(name: str) -> str:
    """A LiRA attack in words: ``online_fixed_variance`` → ``online, fixed variance``."""
    return ATTACK_LABELS.get(name, name.replace("_", " "))


def format_number(value: float) -> str:
    """``∞`` for infinity, else the shortest general format (``0.05``, ``8``)."""
    return "∞" if math.isinf(value) else f"{value:g}"
