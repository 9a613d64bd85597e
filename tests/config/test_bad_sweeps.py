"""Malformed sweep files (``tests/config/sweep_files/bad/``) through the real ``acadp`` console script.

Every command that reads a bad sweep file must exit with status 2 and print exactly one line on stderr that names the
file and the bad field; no traceback, and nothing created (neither the results store nor anything in the working
directory). Schema errors are found before the data or Ray are touched; a few errors (target class, signal and
privacy budget versus the dataset) only by the driver's preflight, which loads mnist5k once per test session.

Each bad file starts with ``# expect: <text>``: text the error line must contain. ``# storage: from-file`` keeps
the file's own ``storage`` (the test then passes no ``--storage``, which would replace it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

BAD_DIR = Path(__file__).parent / "sweep_files" / "bad"
BAD_FILES = sorted(path.name for path in BAD_DIR.glob("*.yaml"))
ACADP = Path(sys.executable).parent / "acadp"
MISSING = "no_such_sweep.yaml"
COMMANDS = {"run": ("sweep", "run"), "status": ("sweep", "status"), "reduce": ("reduce",)}
# status and reduce read the sweep file through the same loader as run: a wrong value, an unknown key, bad YAML
SAMPLED = ("alpha_one.yaml", "unknown_dataset_key.yaml", "yaml_syntax_error.yaml")
INVOCATIONS = (
    [("run", name) for name in BAD_FILES]
    + [(command, name) for command in ("status", "reduce") for name in SAMPLED]
    + [("run", MISSING)]
)


def test_the_corpus_is_complete() -> None:
    assert len(BAD_FILES) >= 24
    for name in BAD_FILES:
        assert header(BAD_DIR / name).get("expect"), f"{name} has no '# expect: <text>' first line"


def header(path: Path) -> dict[str, str]:
    """The ``# key: value`` comment lines at the top of a bad sweep file."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line.removeprefix("#").strip().partition(": ")
        if sep and key in {"expect", "storage"}:
            found[key] = value.strip()
    return found


@dataclass(frozen=True)
class Invocation:
    """One run of the console script on a bad sweep file, and where it must not have written."""

    expect: str
    workdir: Path  # the command's working directory: must stay empty
    storage: Path  # passed as --storage (unless the file keeps its own): must not be created
    result: subprocess.CompletedProcess[str]


def acadp_env(data_dir: Path) -> dict[str, str]:
    """The environment of the console script: a shared data directory, no colours, no cluster to connect to."""
    env = {key: value for key, value in os.environ.items() if key not in {"FORCE_COLOR", "RAY_ADDRESS"}}
    return {**env, "ACADP_DATA_DIR": str(data_dir), "NO_COLOR": "1"}


def invoke(command: str, name: str, *, root: Path, data_dir: Path) -> Invocation:
    spec = BAD_DIR / name
    options = header(spec) if spec.exists() else {"expect": "sweep file not found"}
    workdir, storage = root / "cwd", root / "store"
    workdir.mkdir()
    args = [str(ACADP), *COMMANDS[command], str(spec)]
    if options.get("storage") != "from-file":
        args += ["--storage", str(storage)]
    result = subprocess.run(
        args, cwd=workdir, env=acadp_env(data_dir), capture_output=True, text=True, timeout=180, check=False
    )
    return Invocation(expect=options["expect"], workdir=workdir, storage=storage, result=result)


@pytest.fixture(scope="session")
def invocations(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, str], Future[Invocation]]]:
    """Every invocation this session selected, started at once and run two at a time.

    A failing invocation is mostly interpreter start-up (torch, pydantic, typer), so two overlap well on two cores.
    """
    selected = {
        item.callspec.params["invocation"]
        for item in request.session.items
        if getattr(item, "module", None) is sys.modules[__name__] and hasattr(item, "callspec")
    }
    data_dir = tmp_path_factory.mktemp("acadp-data")  # mnist5k is prepared here once, by the first preflight
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            (command, name): pool.submit(
                invoke, command, name, root=tmp_path_factory.mktemp(f"{command}-{name}"), data_dir=data_dir
            )
            for command, name in INVOCATIONS
            if (command, name) in selected
        }
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.parametrize("invocation", INVOCATIONS, ids=[f"{command}-{name}" for command, name in INVOCATIONS])
def test_bad_sweep_file_fails_in_one_line_and_creates_nothing(
    invocation: tuple[str, str], invocations: dict[tuple[str, str], Future[Invocation]]
) -> None:
    _, name = invocation
    run = invocations[invocation].result()
    stdout, stderr = run.result.stdout, run.result.stderr
    assert "Traceback" not in stdout + stderr, stdout + stderr
    assert run.result.returncode == 2, stdout + stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert lines[0].startswith("acadp: error: "), lines[0]
    assert name in lines[0]
    assert run.expect in lines[0], f"{run.expect!r} not in {lines[0]!r}"
    assert stdout == ""
    assert not run.storage.exists(), sorted(run.storage.rglob("*"))
    assert not any(run.workdir.iterdir()), sorted(run.workdir.rglob("*"))
