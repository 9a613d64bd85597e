"""Every command hint acadp prints is the user's own command with another verb: the sweep file as typed and the flags
that choose the sweep (``--smoke``, ``--storage``, ``--address``, ``--no-reduce``), wherever the other command takes
them. A hint without them would point at another sweep (the full one, the default storage)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import typer.main
import yaml

from acadp.cli.main import app
from acadp.sweep.invocation import VERB_FLAGS, Invocation

ACADP = str(Path(sys.executable).with_name("acadp"))
CARRIED = {"--smoke", "--storage", "--address", "--no-reduce", "--download"}  # the flags an invocation can carry


def option_names(verb: str) -> set[str]:
    """Every option name (both sides of a --x/--no-x switch) of the acadp command ``verb``."""
    command = typer.main.get_command(app)
    for word in verb.split():
        command = command.commands[word]  # type: ignore[attr-defined]
    names: set[str] = set()
    for param in command.params:
        names |= {*param.opts, *param.secondary_opts}
    return names


@pytest.mark.parametrize("verb", sorted(VERB_FLAGS))
def test_each_hint_carries_exactly_the_flags_its_command_takes(verb: str) -> None:
    assert set(VERB_FLAGS[verb]) == option_names(verb) & CARRIED  # type: ignore[index]


def test_a_hint_is_the_same_command_with_another_verb_quoted_for_the_shell() -> None:
    typed = Invocation(spec=Path("sweeps/q.yaml"), smoke=True, storage="/scratch/my results", address="10.0.0.1:6379")
    assert typed.command("sweep resume") == (
        "acadp sweep resume sweeps/q.yaml --smoke --storage '/scratch/my results' --address 10.0.0.1:6379"
    )
    assert typed.command("reduce") == "acadp reduce sweeps/q.yaml --smoke --storage '/scratch/my results'"
    quiet = Invocation(spec=Path("q.yaml"), reduce=False, download=True)
    assert quiet.command("sweep run") == "acadp sweep run q.yaml --no-reduce --download"
    assert quiet.command("sweep sync") == "acadp sweep sync q.yaml"
    assert shlex.split(typed.command("ui"))[-2:] == ["--storage", "/scratch/my results"]


def never_run_sweep(root: Path) -> Path:
    spec = root / "never.yaml"
    grid = {"alpha": [0.0, 0.1], "epsilon": ["inf"], "clip": ["none"], "seed": [0]}
    spec.write_text(yaml.safe_dump({"name": "never", "datasets": {"mnist5k": {}}, "grid": grid}))
    return spec


def test_hints_about_a_sweep_that_never_ran_keep_the_users_flags(tmp_path: Path) -> None:
    spec = never_run_sweep(tmp_path)
    storage = str(tmp_path / "my results")  # a space: the hint must still be one shell word
    given = [str(spec), "--smoke", "--storage", storage]
    commands = {
        "reduce": ["reduce", *given],
        "status": ["sweep", "status", *given],
        "sync": ["sweep", "sync", *given],
        "ui": ["ui", *given],
        "resume": ["sweep", "resume", *given, "--address", "127.0.0.1:6379", "--no-reduce"],
    }
    env = {key: value for key, value in os.environ.items() if key not in {"RAY_ADDRESS", "FORCE_COLOR"}}
    env["NO_COLOR"] = "1"

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([ACADP, *args], env=env, capture_output=True, text=True, timeout=180, check=False)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(commands, pool.map(run, commands.values()), strict=True))
    run_again = shlex.join(["acadp", "sweep", "run", *given])
    for name in ("reduce", "sync", "ui"):
        assert results[name].returncode == 2, results[name].stderr
        assert f"`{run_again}`" in results[name].stderr, (name, results[name].stderr)
    resume = results["resume"]
    assert resume.returncode == 2
    assert f"`{run_again} --address 127.0.0.1:6379 --no-reduce`" in resume.stderr
    status = results["status"]
    assert status.returncode == 0 and "pending" in status.stdout
    assert f"start it with `{run_again}`" in status.stderr
    assert not Path(storage).exists(), "a hint about a sweep that never ran must not create its storage"
