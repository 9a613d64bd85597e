"""The hints of commands about a sweep that never ran, through the real console script: each is the user's own command
(sweep file as typed, ``--smoke``, ``--storage`` with a space in it, ``--address``, ``--no-reduce``) with the verb
``sweep run``; nothing is created."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ACADP = str(Path(sys.executable).with_name("acadp"))


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
    for name in ("reduce", "status", "sync", "ui"):  # a status of nothing is an error too (issue 26), with the hint
        assert results[name].returncode == 2, results[name].stderr
        assert f"`{run_again}`" in results[name].stderr, (name, results[name].stderr)
    resume = results["resume"]
    assert resume.returncode == 2
    assert f"`{run_again} --address 127.0.0.1:6379 --no-reduce`" in resume.stderr
    assert results["status"].stdout == ""
    assert not Path(storage).exists(), "a hint about a sweep that never ran must not create its storage"
