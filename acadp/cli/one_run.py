"""``acadp audit-one-run``: a one-run privacy audit (Steinke et al. 2023) of one grid point of a sweep file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console


def audit_one_run(
    spec: Annotated[Path, typer.Argument(help="Sweep file (YAML) whose grid holds the audited point")],
    alpha: Annotated[float, typer.Option(help="Alpha of the audited point (a value of the grid)")],
    epsilon: Annotated[str, typer.Option(help="Epsilon of the audited point; 'inf' = non-private")],
    clip: Annotated[
        str | None,
        typer.Option(help="Clipping norm C or 'none'; default: none for inf if the grid has it, else its first C"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Trial seed of the audited point (default: the grid's first)")
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset of the audited point (default: the sweep's first)")] = (
        None
    ),
    canaries: Annotated[int, typer.Option(help="Number of canaries m, each in the run with probability 1/2")] = 1000,
    k_plus: Annotated[int | None, typer.Option(help="Guesses 'included' on the highest scores (default m // 10)")] = (
        None
    ),
    k_minus: Annotated[int | None, typer.Option(help="Guesses 'excluded' on the lowest scores (default m // 10)")] = (
        None
    ),
    confidence: Annotated[float, typer.Option(help="Probability with which the ε lower bound holds")] = 0.95,
    audit_seed: Annotated[int, typer.Option(help="Seed of the canaries, their inclusion and the run")] = 0,
    smoke: Annotated[bool, typer.Option("--smoke", help="Audit a point of the smoke sweep (its own results)")] = False,
    storage: Annotated[str | None, typer.Option("--storage", help="Results storage root override")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N")] = "cpu",
    threads: Annotated[
        int | None,
        typer.Option(
            help="Torch CPU threads (default: the sweep's resources.cpus, as its jobs use; results are bit-identical "
            "per count)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored result as one JSON object")] = False,
) -> None:
    """Audit one grid point with one training run (Steinke, Nasr & Jagielski 2023): m canaries each trained on with
    probability 1/2, guesses on the k+ highest and k- lowest scores, and an ε lower bound that holds with the given
    confidence for the run's claimed (ε, δ). Stored under the sweep (one_run/<key>/); a stored result is reused."""
    from pydantic import ValidationError

    from acadp.config.describe import describe
    from acadp.config.one_run import OneRunConfig, OneRunSettings
    from acadp.config.options import parse_clip, parse_number
    from acadp.errors import SpecError
    from acadp.store.layout import LAYOUT
    from acadp.sweep.one_run_audits import PointRequest, one_run_problem, resolve_point, run_stored_one_run
    from acadp.sweep.plan import plan_sweep

    plan = plan_sweep(spec, smoke=smoke, storage=storage)
    parsed_epsilon = parse_number(epsilon, option="--epsilon")
    request = PointRequest(
        alpha=alpha, epsilon=parsed_epsilon, clip=parse_clip(clip, epsilon=parsed_epsilon) if clip else None,
        clip_given=clip is not None, seed=seed, dataset=dataset,
    )  # fmt: skip
    arm_recipes = {recipe.name for data in plan.spec.datasets.values() for recipe in data.arm_recipes.values()}
    trial = resolve_point(plan.configs, request, datasets=list(plan.spec.datasets), arm_recipes=arm_recipes)
    try:
        settings = OneRunSettings.model_validate(
            {"canaries": canaries, "k_plus": k_plus, "k_minus": k_minus, "confidence": confidence, "seed": audit_seed}
        )
    except ValidationError as error:
        raise SpecError(describe(error, prefix="one_run")) from None
    config = OneRunConfig(trial=trial, one_run=settings)
    problem = one_run_problem(config)
    if problem is not None:
        raise SpecError(problem)
    import torch  # only once the audited point and the settings are valid

    # the thread count a job of `acadp sweep run` uses, so that a result stored here equals the one the sweep would
    # compute under the same key (floating-point sums, hence trained weights, depend on the thread count)
    torch.set_num_threads(threads if threads is not None else max(1, int(plan.spec.resources.cpus)))
    result, reused = run_stored_one_run(config, store=plan.open_store(), data_dir=plan.data_dir, device=device)
    record = result.plain()
    if as_json:
        print(json.dumps({**record, "reused": reused}, sort_keys=True))
        return
    _print(record, reused=reused, where=f"{plan.location}/{LAYOUT.one_run(result.one_run_key).root}")


def _number(value: Any, spec: str) -> str:
    if value in ("inf", "-inf"):
        return "∞" if value == "inf" else "-∞"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec)


def _print(record: dict[str, Any], *, reused: bool, where: str) -> None:
    regime = record["regime"]
    from rich.table import Table

    table = Table(title=f"{record['label']}: ε lower bound at {record['confidence']:g} confidence", show_header=False)
    rows = [
        ("claimed (ε, δ)", f"({_number(record['epsilon'], 'g')}, {record['delta']:g})"),
        ("ε lower bound", _number(record["epsilon_lower_bound"], ".3f")),
        ("correct / guesses", f"{record['correct']} / {record['guesses']} (k+ {record['k_plus']}, "
                              f"k- {record['k_minus']}; at least {record['minimum_guesses']} needed for ε > 0)"),
        ("canaries", f"{record['canaries']} ({record['canaries_included']} included, "
                     f"{record['canaries_in_collective']} collective members)"),
        ("run", f"{regime['n_train']} training examples, q={regime['sample_rate']:.4g}, "
                f"σ={regime['noise_multiplier']:.4g}, {regime['steps']} steps, "
                f"ε spent {_number(regime['epsilon_spent'], '.4g')}"),
        ("accuracy", f"train {_number(regime['train_accuracy'], '.3f')}, "
                     f"test {_number(regime['test_accuracy'], '.3f')}"),
        ("stored", f"{where} ({'reused' if reused else 'computed in ' + format(record['seconds'], '.1f') + ' s'})"),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)
