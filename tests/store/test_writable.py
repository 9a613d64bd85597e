"""A results store that cannot take files is refused in one line naming the folder and what to do (the read-only case
through the console script: tests/sweep/test_unwritable_store.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from acadp.errors import StoreError
from acadp.store.results import ResultsStore


def test_a_store_that_takes_files_passes_and_keeps_nothing(tmp_path: Path) -> None:
    ResultsStore(tmp_path / "results" / "sweep").require_writable()  # storage root and sweep folder not there yet
    assert sorted(tmp_path.iterdir()) == []


def test_a_missing_storage_folder_or_a_file_in_its_place_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"neither .*/no/such nor its parent .*/no exists; create the storage folder"):
        ResultsStore(tmp_path / "no" / "such" / "sweep").require_writable()
    (tmp_path / "plain").write_text("a file")
    with pytest.raises(StoreError, match=r"plain is not a folder; give another --storage"):
        ResultsStore(tmp_path / "plain" / "sweep").require_writable()
