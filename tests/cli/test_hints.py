"""Every command hint acadp prints is the user's own command with another verb: the sweep file as typed and the flags
that choose the sweep (``--smoke``, ``--storage``, ``--address``, ``--no-reduce``, ``--download``), wherever the
other command takes them. A hint without them would point at another sweep (the full one, the default storage). The
commands' own hints are checked through the console script in test_hint_commands.py."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import typer.main

from acadp.cli.main import app
from acadp.sweep.invocation import VERB_FLAGS, Invocation

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
