"""The ``acadp`` command line. Errors meant for the user print as one line (no traceback) and exit with status 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from acadp.cli.app import Command, DataDirOption, new_app

app = new_app(
    name="acadp",
    help="Sweeps on Ray for algorithmic collective action under differential privacy.",
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        import acadp

        print(f"acadp {acadp.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the installed version and exit"),
    ] = False,
) -> None:
    """Sweeps on Ray for algorithmic collective action under differential privacy."""


def datasets(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list: facts, source, sha256, licence, cached")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """List the registered datasets and model assets: sizes, source, whether they are in the data directory (and the
    group counts of the embedded datasets with groups); --json adds classes, archive sha256, licence, description."""
    from rich.table import Table

    from acadp.data import default_data_dir
    from acadp.data.groups import embedded_group_counts
    from acadp.data.listing import dataset_rows

    rows = dataset_rows((data_dir or default_data_dir()).expanduser())
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    table = Table("name", "modality", "train / test", "source", "cached", "groups (train / test)")
    for row in rows:
        sizes = "-" if row["n_train"] is None else f"{row['n_train']} / {row['n_test']}"
        groups = embedded_group_counts(row["name"]) or row["groups"] or ""
        kind = row["modality"] or row["kind"]
        table.add_row(row["name"], kind, sizes, row["source"], "yes" if row["cached"] else "no", groups)
    Console().print(table)


def reduce(
    spec: Annotated[Path, typer.Argument(help="Sweep file (YAML)")],
    smoke: Annotated[bool, typer.Option("--smoke", help="Reduce the smoke sweep")] = False,
    storage: Annotated[str | None, typer.Option("--storage", help="Results storage root override")] = None,
) -> None:
    """Tables, figures and the dashboard from whatever the sweep has finished so far (into <sweep>/reduced/)."""
    from acadp.sweep.plan import plan_sweep
    from acadp.sweep.reducing import print_reduction, reduce_plan

    print_reduction(reduce_plan(plan_sweep(spec, smoke=smoke, storage=storage)), Console())


def ui(
    spec: Annotated[Path | None, typer.Argument(help="Sweep file whose MLflow store to browse")] = None,
    smoke: Annotated[bool, typer.Option("--smoke", help="Browse the smoke sweep's store")] = False,
    storage: Annotated[str | None, typer.Option("--storage", help="Results storage root override")] = None,
    host: Annotated[str, typer.Option(help="Interface to bind; 127.0.0.1 keeps it private to this machine")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port of the UI")] = 5000,
    backend_store_uri: Annotated[str | None, typer.Option(help="MLflow store (default: the sweep's)")] = None,
) -> None:
    """Serve the MLflow UI for a results store on 127.0.0.1 (Ctrl-C stops it)."""
    from acadp.sweep.ui import serve_ui

    raise typer.Exit(serve_ui(spec=spec, smoke=smoke, storage=storage, host=host, port=port, uri=backend_store_uri))


def _register_subcommands() -> None:
    from acadp.cli.data import data_app
    from acadp.cli.lira import lira
    from acadp.cli.one_run import audit_one_run
    from acadp.cli.sweep import sweep_app
    from acadp.cli.trial import trial

    commands: tuple[Callable[..., None], ...] = (trial, datasets, reduce, ui, lira)
    for command in commands:
        app.command(cls=Command)(command)
    app.command(cls=Command, name="audit-one-run")(audit_one_run)
    app.add_typer(sweep_app, name="sweep")
    app.add_typer(data_app, name="data")


_register_subcommands()


def _print_error(message: str) -> None:
    """Print one ``acadp: error: ...`` line on stderr."""
    console.print(f"[bold red]acadp: error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def _usage_error_line(message: str, *, command_path: str, subcommand: bool) -> str:
    """A usage error on one line: the (sub)command, what is wrong, and where its usage is explained."""
    where = f"{command_path}: " if subcommand else ""
    return f"{where}{' '.join(message.split())} (see `{command_path} --help`)"


def _user_error(error: Exception) -> str | None:
    """The one line for an error the user can act on (an :class:`AcadpError` or an invalid configuration), or None
    for anything else (a bug: its traceback is shown). Pydantic is looked for only once loaded: light commands never
    import it, and then no validation error can have been raised."""
    from acadp.errors import AcadpError

    if isinstance(error, AcadpError):
        return str(error)
    pydantic_core = sys.modules.get("pydantic_core")
    if pydantic_core is not None and isinstance(error, pydantic_core.ValidationError):
        from acadp.config.describe import describe

        return describe(error)
    return None


def main() -> None:
    """Entry point of the ``acadp`` console script; every error the user can act on prints one line on stderr.

    Exit status: 2 for a usage error, an :class:`AcadpError` or an invalid configuration; 1 when aborted; 130 after
    Ctrl-C in a command; otherwise the command's own.
    """
    import logging

    # Typer >= 0.26 raises the exceptions of its vendored click; it has no public name for them yet
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

    from acadp.environment import MLFLOW_LOGGING_LEVEL

    MLFLOW_LOGGING_LEVEL.set_default()
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        status = app(standalone_mode=False)  # a command's return value, or the code of its typer.Exit
    except NoArgsIsHelpError as error:  # Typer printed the help while making the error
        sys.exit(error.exit_code)
    except UsageError as error:
        context = error.ctx
        path = context.command_path if context is not None else "acadp"
        subcommand = context is not None and context.parent is not None
        _print_error(_usage_error_line(error.format_message(), command_path=path, subcommand=subcommand))
        sys.exit(2)
    except ClickException as error:
        _print_error(error.format_message())
        sys.exit(error.exit_code)
    except typer.Abort:
        _print_error("aborted")
        sys.exit(1)
    except Exception as error:
        message = _user_error(error)
        if message is None:
            raise
        _print_error(message)
        sys.exit(2)
    sys.exit(status if isinstance(status, int) else 0)
