"""Base class of every configuration model: frozen, typed, unknown keys refused."""

from __future__ import annotations

import math
from typing import Any, ClassVar

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
    """An immutable pydantic model that rejects unknown keys (a typo in a sweep file is an error, not a no-op).

    ``KEY_FIELDS`` serves content hashes (:func:`key_data`): the fields that were part of the hash when results were
    first stored under it. A field added later is hashed only while it differs from its default, so adding a setting
    never changes the key of a stored result (never change a default: add a setting instead). None: every field is
    always hashed (a model with no stored results to protect)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    KEY_FIELDS: ClassVar[frozenset[str] | None] = None

    def plain(self) -> Any:
        """The model as strict JSON data (see :func:`jsonable`); validating it again gives an equal model."""
        return jsonable(self.model_dump(mode="python"))


def key_data(model: FrozenModel) -> dict[str, Any]:
    """``model`` as the strict JSON data a content hash is taken of: unset (None) fields left out at every depth, and
    fields outside the model's ``KEY_FIELDS`` left out while they hold their default (the ``name`` of a parameter
    model, which tells the kinds apart, always stays)."""
    data: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        baseline = model.KEY_FIELDS
        if baseline is not None and name not in baseline and name != "name" and value == info.default:
            continue
        data[name] = key_data(value) if isinstance(value, FrozenModel) else jsonable(_plain(value))
    return data


def _plain(value: Any) -> Any:
    """Containers of models as plain data (a model inside a list or dict is dumped whole)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
