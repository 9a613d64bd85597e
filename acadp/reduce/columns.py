"""The trials table's columns, derived from the models they come from, never listed by hand.

* Config columns walk :class:`~acadp.config.trial.TrialConfig`: a scalar field is a column of its name; a nested model
  (``training``, ``pretrain``) is flattened with its name as prefix (``training.epochs`` → ``training_epochs``); a
  union of parameter models (``model``, ``signal``) is two columns, its ``name`` and its other parameters as sorted
  JSON (``model_params``). ``n_train``/``n_test`` (the optional data-subset sizes) are named ``n_train_limit``/
  ``n_test_limit``, so that they do not collide with the result's actual sizes. Derived columns come first: the
  trial's ``key`` and ``label``, its ``arm`` name and ``arm_kind``.
* Metric columns walk :class:`~acadp.trial.result.TrialResult`: every number that is not a copy of the config (a
  ``float`` column, NaN unless completed), and every mapping as a JSON object (``""`` when empty or not completed).

Dtypes: ``int64`` for integers that are always set, ``float64`` for floats and optional integers (missing = NaN),
``str`` for text, literals and tuples (a tuple as its items joined by commas, ``""`` when empty), missing text stays
missing (``recipe`` is ``""`` for the dataset's shared recipe, as before).
"""

from __future__ import annotations

import json
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from acadp.config.trial import TrialConfig
from acadp.trial.result import TrialResult

# config fields whose column has another name, and the derived columns that lead the table
RENAMED = {"n_train": "n_train_limit", "n_test": "n_test_limit"}
DERIVED_COLUMNS: dict[str, str] = {"key": "str", "label": "str", "arm": "str", "arm_kind": "str"}
PARAMS_SUFFIX = "_params"


def _strip(annotation: Any) -> tuple[Any, bool]:
    """``annotation`` without ``Annotated`` and ``None``: (the type, whether None is allowed)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) not in (Union, types.UnionType):
        return annotation, False
    members = [_strip(arg)[0] for arg in get_args(annotation) if arg is not type(None)]
    optional = len(members) < len(get_args(annotation))
    if len(members) == 1:
        return members[0], optional
    return Union[tuple(members)], optional  # noqa: UP007  (a union built at run time)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_model_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and all(_is_model(arg) for arg in get_args(annotation))


def _dtype(annotation: Any, *, optional: bool) -> str:
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "float64" if optional else "int64"
    if annotation is float:
        return "float64"
    return "str"  # str, Literal[...], tuples


def _column(prefix: str, name: str) -> str:
    return f"{prefix}_{name}" if prefix else RENAMED.get(name, name)


def _model_columns(model: type[BaseModel], prefix: str = "", *, optional: bool = False) -> dict[str, str]:
    """The columns of ``model``'s fields; every column of an optional nested model may be missing."""
    columns: dict[str, str] = {}
    for name, info in model.model_fields.items():
        annotation, optional_field = _strip(info.annotation)
        column, nullable = _column(prefix, name), optional or optional_field
        if _is_model(annotation):
            columns.update(_model_columns(annotation, column, optional=nullable))
        elif _is_model_union(annotation):
            columns[column] = "str"
            columns[column + PARAMS_SUFFIX] = "str"
        else:
            columns[column] = _dtype(annotation, optional=nullable)
    return columns


def config_columns() -> dict[str, str]:
    """Column name → dtype of every config column, derived columns first, then :class:`TrialConfig` in field order."""
    return {**DERIVED_COLUMNS, **_model_columns(TrialConfig)}


def _cell(value: Any, dtype: str) -> Any:
    if value is None:
        return float("nan") if dtype == "float64" else None
    if isinstance(value, tuple | list):
        return ",".join(str(item) for item in value)
    return value


def _flatten(model: BaseModel | None, model_type: type[BaseModel], prefix: str, out: dict[str, Any]) -> None:
    for name, info in model_type.model_fields.items():
        annotation, _ = _strip(info.annotation)
        column = _column(prefix, name)
        value = None if model is None else getattr(model, name)
        if _is_model(annotation):
            _flatten(value, annotation, column, out)
        elif _is_model_union(annotation):
            out[column] = None if value is None else value.name
            out[column + PARAMS_SUFFIX] = None if value is None else _params_json(value)
        else:
            out[column] = value


def _params_json(params: BaseModel) -> str:
    """A model's or signal's parameters (without the name) as compact, key-sorted JSON."""
    values = params.model_dump(mode="json")
    values.pop("name", None)
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def config_row(config: TrialConfig) -> dict[str, Any]:
    """The config columns of one trial (see :func:`config_columns`)."""
    flat: dict[str, Any] = {}
    _flatten(config, TrialConfig, "", flat)
    flat["recipe"] = config.recipe or ""
    derived = {"key": config.key(), "label": config.label(), "arm": config.arm, "arm_kind": config.arm_kind}
    dtypes = config_columns()
    return {name: _cell({**derived, **flat}[name], dtype) for name, dtype in dtypes.items()}


def _result_columns() -> tuple[dict[str, str], tuple[str, ...]]:
    # the result's copies of config fields (n_train and n_test are the sizes actually used: their config columns
    # are renamed instead)
    config_fields = (set(TrialConfig.model_fields) - set(RENAMED)) | {"arm", "label", "trial_key"}
    numbers: dict[str, str] = {}
    mappings: list[str] = []
    for name, info in TrialResult.model_fields.items():
        annotation, _ = _strip(info.annotation)
        if name in config_fields:
            continue
        if annotation in (int, float):
            numbers[name] = "float64"  # counts too, so that an unfinished trial's are NaN
        elif get_origin(annotation) is dict:
            mappings.append(name)
    return numbers, tuple(mappings)


# final metrics of a completed trial (NaN otherwise), and its mappings as JSON objects ("" otherwise)
METRIC_COLUMNS, JSON_COLUMNS = _result_columns()
