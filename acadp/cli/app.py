"""The Typer classes every ``acadp`` command and group is built with (help that shows a flag as a flag), and the
options several commands share.

Typer's rich help prints a type after every option, so a flag reads ``--json <bool>`` as if it took a value. A flag
(``--smoke``, ``--json``, ``--reduce/--no-reduce``, ``--help``) gets an empty metavar here, so its row shows no type;
options that take a value keep theirs (``--storage <str>``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Dataset directory (default $ACADP_DATA_DIR or ~/.cache/acadp/data)")
]


def _flags_without_type(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """A command whose help shows flags without a type."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_type(super().get_params(ctx))


class Group(TyperGroup):
    """A command group whose help shows flags without a type."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_type(super().get_params(ctx))


def new_app(**settings: Any) -> typer.Typer:
    """A Typer app (group) built with :class:`Group`; add its commands with ``app.command(cls=Command)``."""
    return typer.Typer(cls=Group, no_args_is_help=True, **settings)
