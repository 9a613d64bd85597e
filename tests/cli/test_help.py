"""``acadp --version``, and help that shows a flag as a flag (no ``<bool>``) and a value's type where it takes one."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ACADP = str(Path(sys.executable).with_name("acadp"))
COMMANDS = [
    [], ["trial"], ["lira"], ["data", "fetch"], ["sweep"], ["sweep", "status"], ["sweep", "plan"], ["sweep", "run"],
]  # fmt: skip


def acadp(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"NO_COLOR": "1", "COLUMNS": "200", "PATH": str(Path(sys.executable).parent)}
    return subprocess.run([ACADP, *args], capture_output=True, text=True, timeout=120, check=False, env=env)


def test_version_prints_the_installed_version() -> None:
    done = acadp("--version")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.strip() == f"acadp {version('acadp')}"


@pytest.mark.parametrize("words", COMMANDS, ids=lambda words: " ".join(words) or "acadp")
def test_help_shows_no_type_after_a_flag(words: list[str]) -> None:
    done = acadp(*words, "--help")
    assert done.returncode == 0, done.stderr
    assert "<bool>" not in done.stdout
    help_row = next(line for line in done.stdout.splitlines() if "--help" in line)
    assert re.search(r"--help\s+Show this message", help_row), help_row


def test_an_option_that_takes_a_value_keeps_its_type() -> None:
    text = acadp("sweep", "status", "--help").stdout
    assert re.search(r"--storage\s+<str>", text) and re.search(r"--summary\s+Counts per arm", text)
    trial = acadp("trial", "--help").stdout
    assert re.search(r"--download\s+--no-download\s+Fetch a missing dataset", trial)
    assert re.search(r"--out\s+<path>\s+Save the trial's config.json and result.json", trial)
    assert "OUT/trials/<trial key>/ (default: results" in trial
