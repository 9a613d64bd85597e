"""A usage error prints one ``acadp: error:`` line on stderr and exits with 2, like every other acadp error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("acadp")  # the console script, installed next to the interpreter
ACADP, PROG = ([str(SCRIPT)], "acadp") if SCRIPT.exists() else ([sys.executable, "-m", "acadp"], "python -m acadp")


def _acadp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ACADP, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("args", "command", "says"),
    [
        (["trial", "--alpha", "abc"], "acadp trial", "'--alpha'"),
        (["trial", "--no-such-option"], "acadp trial", "--no-such-option"),
        (["sweep", "run"], "acadp sweep run", "Missing argument"),
        (["no-such-command"], "acadp", "no-such-command"),
    ],
    ids=["bad-value", "unknown-option", "missing-argument", "unknown-command"],
)
def test_a_usage_error_is_one_line(args: list[str], command: str, says: str) -> None:
    result = _acadp(*args)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("acadp: error: ")
    assert says in lines[0]
    assert lines[0].endswith(f"(see `{command.replace('acadp', PROG, 1)} --help`)")
    assert "Usage:" not in result.stderr + result.stdout


@pytest.mark.parametrize("args", [["--help"], ["trial", "--help"], ["sweep", "run", "--help"]])
def test_help_still_prints_the_usage_and_succeeds(args: list[str]) -> None:
    result = _acadp(*args)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert result.stderr == ""
