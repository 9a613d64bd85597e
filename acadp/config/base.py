"""Base class of every configuration model: frozen, typed, unknown keys refused."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict


def jsonable(value: Any) -> Any:
    """``value`` as strict JSON data: infinite floats become ``"inf"``/``"-inf"``, NaN becomes None, tuples lists."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class FrozenModel(BaseModel):
    """An immutable pydantic model that rejects unknown keys (a typo in a sweep file is an error, not a no-op)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def plain(self) -> Any:
        """The model as strict JSON data (see :func:`jsonable`); validating it again gives an equal model."""
        return jsonable(self.model_dump(mode="python"))
