"""Light commands stay light: each runs in a fresh interpreter, and what it imported is checked afterwards.

No light command imports torch, Ray, Opacus or MLflow (issue 27); each is also held to the heavy libraries it is
allowed (:data:`ALLOWED`), so a new module-level import anywhere on its path fails here before it slows every call.
Commands that train refuse bad options before importing torch.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from acadp.store.layout import LAYOUT
from acadp.sweep.plan import plan_sweep

from .stores import complete, fail, interrupt, run_search, sweep_file

# every library that makes a command slow to start; a command may import only those it is allowed below
HEAVY = (
    "torch", "ray", "opacus", "mlflow", "scipy", "sklearn", "pandas", "matplotlib", "pyarrow", "numpy",
    "pydantic", "yaml",
)  # fmt: skip
NEVER = {"torch", "ray", "opacus", "mlflow"}  # in no light command, whatever ALLOWED says
READS_A_SWEEP = {"pydantic", "yaml", "numpy", "pyarrow"}  # the sweep file's models, the store (pyarrow and numpy)
ALLOWED: dict[str, set[str]] = {
    "help": set(),  # `acadp --help`, `acadp --version`: Typer and Rich only
    "subcommand help": {"pydantic"},  # Typer converts option values through pydantic
    "datasets": {"pydantic", "numpy"},  # the registry's array types
    "sweep status": READS_A_SWEEP,
    "sweep plan": READS_A_SWEEP,
    "refused before training": READS_A_SWEEP,  # `trial`/`lira`/`sweep run` with a bad option or file
}
MARK = "imported-modules:"
PROBE = textwrap.dedent(
    f"""
    import json, sys
    sys.argv = ["acadp", *json.loads(sys.argv[1])]
    {{prelude}}
    from acadp.cli.main import main
    try:
        main()
    except SystemExit:
        pass
    print({MARK!r} + json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
    """
)


def imported(args: list[str], *, prelude: str = "") -> set[str]:
    """The top-level modules a fresh interpreter holds after ``acadp ARGS`` (whatever its exit status)."""
    code = PROBE.replace("{prelude}", prelude)
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, timeout=300, check=False
    )
    line = next((line for line in done.stdout.splitlines() if line.startswith(MARK)), None)
    assert line is not None, f"acadp {' '.join(args)} printed no module list:\n{done.stdout}\n{done.stderr}"
    return set(json.loads(line.removeprefix(MARK)))


def assert_light(args: list[str], kind: str) -> None:
    heavy = imported(args) & set(HEAVY)
    assert not heavy & NEVER, f"acadp {' '.join(args)} imported {sorted(heavy & NEVER)}"
    assert heavy <= ALLOWED[kind], f"acadp {' '.join(args)} ({kind}) imported {sorted(heavy - ALLOWED[kind])}"


def test_the_probe_sees_what_a_command_imports() -> None:
    # the guard is not blind: a heavy import made on the way is reported
    assert "torch" in imported(["--help"], prelude="import torch")
    assert "torch" not in imported(["--help"])


@pytest.mark.parametrize("args", [["--help"], ["--version"]], ids=" ".join)
def test_the_top_level_help_and_version_import_no_heavy_library(args: list[str]) -> None:
    assert_light(args, "help")


SUBCOMMANDS = [
    ["trial"], ["datasets"], ["reduce"], ["ui"], ["lira"], ["audit-one-run"], ["data"], ["data", "fetch"],
    ["sweep"], ["sweep", "plan"],
    ["sweep", "run"], ["sweep", "resume"], ["sweep", "status"], ["sweep", "sync"], ["sweep", "submit"],
]  # fmt: skip


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_every_help_is_light(words: list[str]) -> None:
    assert_light([*words, "--help"], "subcommand help")


def test_datasets_is_light() -> None:
    assert_light(["datasets"], "datasets")


@pytest.fixture(scope="module")
def grid_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A grid sweep with completed, failed and interrupted trials: (sweep file, storage root)."""
    folder = tmp_path_factory.mktemp("light")
    spec, storage = sweep_file(folder, name="light"), folder / "store"
    plan = plan_sweep(spec, storage=str(storage))
    store = plan.open_store()
    for config in plan.configs[:-2]:
        complete(store, config)
    fail(store, plan.configs[-2], "ValueError: broken\nmore")
    interrupt(store, plan.configs[-1], epochs_done=1)
    return spec, storage


@pytest.mark.parametrize("extra", [[], ["--json"], ["--summary"], ["--state", "failed", "--arm", "sgd"]], ids=str)
def test_sweep_status_is_light(grid_store: tuple[Path, Path], extra: list[str]) -> None:
    spec, storage = grid_store
    assert_light(["sweep", "status", str(spec), "--storage", str(storage), *extra], "sweep status")


@pytest.mark.parametrize("extra", [[], ["--json"], ["--smoke"]], ids=str)
def test_sweep_plan_is_light(grid_store: tuple[Path, Path], extra: list[str]) -> None:
    spec, storage = grid_store
    assert_light(["sweep", "plan", str(spec), "--storage", str(storage), *extra], "sweep plan")


def test_status_of_a_search_refits_nothing_once_its_fits_are_stored(tmp_path: Path) -> None:
    spec, storage = sweep_file(tmp_path, name="searched", search=True), tmp_path / "store"
    plan = plan_sweep(spec, storage=str(storage))
    run_search(plan)
    store = plan.open_store()
    args = ["sweep", "status", str(spec), "--storage", str(storage)]
    assert "sklearn" in imported(args)  # the first status fits every round's bootstrap, and stores the states
    assert store.list_dir(LAYOUT.search_fits)
    assert_light(args, "sweep status")  # the second reads them: no scikit-learn, no fit
    assert "sklearn" not in imported(args)


@pytest.mark.parametrize(
    "args",
    [
        ["trial", "--epsilon", "abc"],
        ["trial", "--alpha", "1.5"],
        ["lira", "--epsilon", "abc"],
        ["sweep", "run", "no_such_sweep.yaml"],
        ["audit-one-run", "no_such_sweep.yaml", "--alpha", "0.1", "--epsilon", "inf"],
    ],
    ids=" ".join,
)
def test_commands_that_train_refuse_bad_options_before_importing_torch(args: list[str]) -> None:
    assert_light(args, "refused before training")
