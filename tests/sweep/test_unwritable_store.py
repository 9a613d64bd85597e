"""A read-only results store is refused by ``sweep run`` in one line naming it, before anything is prepared: no dataset
is loaded, nothing is created (the missing and not-a-folder cases: tests/store/test_writable.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from acadp.errors import StoreError
from acadp.store.results import ResultsStore

from .helpers import cli_env, run_acadp, write_sweep
from .mounts import read_only_folder


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
