"""Base class of every configuration model: frozen, typed, unknown keys refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """An immutable pydantic model that rejects unknown keys (a typo in a sweep file is an error, not a no-op)."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="strings")
