from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dataset cache for the whole session: mnist5k is prepared once."""
    return tmp_path_factory.mktemp("acadp-data")
