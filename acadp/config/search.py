"""The ``alpha: {search: {...}}`` form of a sweep grid: find alpha*(S*) per arm by a search instead of a dense list.

The search itself is :mod:`acadp.reduce.search_core` (pure) driven by :mod:`acadp.sweep.search` (Ray Tune).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from acadp.config.base import FrozenModel

# the ends plus one bisection point: the least a search can use (acadp.reduce.search_core.least_budget)
ALPHAS_PER_STEP = 3


class AlphaSearch(FrozenModel):
    """Per arm: bracket [low, high] (0 < low < high < 1, searched in log alpha), the thresholds S* whose alpha* is
    searched (they share trials), the tolerance (stop when log(a_hi / a_lo) <= tolerance; 0.1 ≈ 10% relative) and the
    budget (trials per arm, every seed of every alpha counted).

    ``design``: ``bisection`` (every seed at each chosen alpha; the bracket of seed means narrows) or
    ``dose_response`` (one seed per probe, seeds in turn, in rounds of one probe per searching threshold, each at
    the alpha* of a logistic fit in log alpha over the earlier rounds' trials, :mod:`acadp.reduce.search_dose`; the
    tolerance bounds the width of alpha*'s bootstrap CI over seeds, in log alpha)."""

    low: float
    high: float
    thresholds: list[float] = Field(default_factory=lambda: [0.5, 0.9], min_length=1)
    tolerance: float = 0.1
    budget: Annotated[int, Field(ge=1)]
    design: Literal["bisection", "dose_response"] = "bisection"

    @field_validator("low", "high")
    @classmethod
    def _a_fraction(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(f"must lie in (0, 1) (the search works in log alpha), got {value:g}")
        return value

    @field_validator("thresholds")
    @classmethod
    def _success_rates(cls, values: list[float]) -> list[float]:
        bad = [v for v in values if not 0 < v <= 1]
        if bad:
            raise ValueError(f"every S* must lie in (0, 1], got {bad}")
        return values

    @field_validator("tolerance")
    @classmethod
    def _positive(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"the bracket width in log alpha must be > 0, got {value:g}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> AlphaSearch:
        if self.low >= self.high:
            raise ValueError(f"low: the bracket needs low < high, got low {self.low:g} >= high {self.high:g}")
        return self

    def least_budget(self, n_seeds: int) -> int:
        """Trials one step needs: the two ends and one point between them, every seed of each (bisection) or one
        seed of each (dose response)."""
        return ALPHAS_PER_STEP * (n_seeds if self.design == "bisection" else 1)

    def step_text(self, n_seeds: int) -> str:
        """How :meth:`least_budget` is counted, e.g. ``3 alphas × 5 seeds = 15``."""
        seeds = n_seeds if self.design == "bisection" else 1
        return f"{ALPHAS_PER_STEP} alphas × {seeds} seed{'s' if seeds != 1 else ''} = {self.least_budget(n_seeds)}"


class AlphaSearchSpec(FrozenModel):
    """``alpha: {search: {...}}`` in a grid section."""

    search: AlphaSearch

    @model_validator(mode="before")
    @classmethod
    def _search_alone(cls, data: Any) -> Any:
        if not isinstance(data, dict) or set(data) != {"search"}:
            raise ValueError("a search and a list of alphas together: give either a list or {search: {...}}")
        return data


def alpha_kind(value: Any) -> str:
    """The discriminator of ``grid.alpha``: a mapping (or a list holding one) is a search, anything else a list."""
    if isinstance(value, dict | AlphaSearchSpec) or (
        isinstance(value, list) and any(isinstance(v, dict) for v in value)
    ):
        return "alpha_search"
    return "alpha_list"
