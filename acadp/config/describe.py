"""Turn pydantic validation errors into one-line messages that name the file and every bad field."""

from __future__ import annotations

from pydantic import ValidationError

_TAGS = {
    "patch", "grid", "feature_offset", "token", "cnn", "resnet18_gn", "mlp", "bag", "transformer", "minilm",
    "alpha_list", "alpha_search",
}  # fmt: skip


def field_path(location: tuple[int | str, ...]) -> str:
    """``("grid", "alpha", 2)`` → ``grid.alpha[2]``; discriminator tags (e.g. ``patch``) are dropped."""
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in _TAGS and parts:
            continue  # the tag pydantic adds inside a discriminated union says nothing the user wrote
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def describe(error: ValidationError, *, prefix: str = "", within: tuple[str | int, ...] = ()) -> str:
    """All errors of ``error`` on one line: ``prefix: field: message; field: message``.

    ``within`` is prepended to every field path (the place in the file the validated data came from). A model-level
    check names its own fields, so its message stands without a path.
    """
    items = []
    for detail in error.errors():
        message = str(detail["msg"]).removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the sweep file reference in the README)"
        location = (*within, *detail["loc"])
        items.append(f"{field_path(location)}: {message}" if location else message)
    body = "; ".join(items)
    return f"{prefix}: {body}" if prefix else body
