"""A results store that cannot be written (a read-only folder, a missing one, a file in its place) is refused in one
line naming it, before anything is prepared: no dataset is loaded, nothing is created."""

from __future__ import annotations

from pathlib import Path

import pytest

from acadp.errors import StoreError
from acadp.store.results import ResultsStore

from .helpers import cli_env, run_acadp, write_sweep
from .mounts import read_only_folder


def test_a_store_that_takes_files_passes_and_keeps_nothing(tmp_path: Path) -> None:
    ResultsStore(tmp_path / "results" / "sweep").require_writable()  # storage root and sweep folder not there yet
    assert sorted(tmp_path.iterdir()) == []


def test_a_missing_storage_folder_or_a_file_in_its_place_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"neither .*/no/such nor its parent .*/no exists; create the storage folder"):
        ResultsStore(tmp_path / "no" / "such" / "sweep").require_writable()
    (tmp_path / "plain").write_text("a file")
    with pytest.raises(StoreError, match=r"plain is not a folder; give another --storage"):
        ResultsStore(tmp_path / "plain" / "sweep").require_writable()


def test_sweep_commands_refuse_a_read_only_store_in_one_line_before_preparing_anything(tmp_path: Path) -> None:
    spec = write_sweep(tmp_path / "ro.yaml", name="ro")
    data_dir = tmp_path / "data"  # empty: a preflight would prepare mnist5k here
    with read_only_folder(tmp_path / "readonly") as folder:
        with pytest.raises(StoreError, match="cannot write in"):
            ResultsStore(folder / "results" / "ro").require_writable()
        result = run_acadp(
            ["sweep", "run", str(spec), "--storage", str(folder / "results")], env=cli_env(data_dir), timeout=180
        )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert f"results store {folder / 'results' / 'ro'}: cannot write in {folder}" in lines[0]
    assert "give another --storage" in lines[0]
    assert not data_dir.exists() or not any(data_dir.iterdir()), "the dataset was prepared before the refusal"
