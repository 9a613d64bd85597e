from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dataset cache for the whole session: mnist5k is prepared once."""
    return tmp_path_factory.mktemp("acadp-data")


@pytest.fixture
def ray_tmpdir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary folder of Ray's own for one test (``RAY_TMPDIR``; short, since Ray puts Unix sockets under it),
    removed afterwards: a record written there touches no one else's Ray on this machine."""
    folder = Path(tempfile.mkdtemp(prefix="acadp-ray-", dir="/tmp"))
    monkeypatch.setenv("RAY_TMPDIR", str(folder))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
