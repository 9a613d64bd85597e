"""The results store on a real S3-compatible server (moto in server mode on 127.0.0.1): what a sweep on a cluster
writes, reads, lists and deletes, and a trial checkpointed there that resumes bit-identically."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from acadp.config.options import TrialOptions, build_trial_config
from acadp.errors import StoreError
from acadp.learners import TrainingRun
from acadp.store.results import ResultsStore
from acadp.trial.checkpoint import TrialCheckpoint
from acadp.trial.result import EpochRecord, TrialResult
from acadp.trial.run import run_trial


def test_files_round_trip_list_and_delete_on_s3(s3_root: str) -> None:
    store = ResultsStore(f"{s3_root}/store")
    assert not store.is_local and store.location_of("trials/a") == f"{s3_root}/store/trials/a"
    store.write_json("trials/a/result.json", {"success": 0.5})
    store.write_bytes("reduced/figures/s.png", b"\x89PNG")
    store.write_bytes("reduced/trials.parquet", b"PAR1")
    assert store.read_json("trials/a/result.json") == {"success": 0.5}
    assert store.list_dir("reduced") == ["figures", "trials.parquet"]
    assert store.list_files("reduced") == ["figures/s.png", "trials.parquet"]
    with store.local_copy("reduced") as local:
        assert (local / "figures" / "s.png").read_bytes() == b"\x89PNG"
        copied = local
    assert not copied.exists(), "the local copy of a remote folder is temporary"
    store.delete("trials/a")
    assert not store.exists("trials/a/result.json")
    with pytest.raises(StoreError, match="does not exist"):
        store.read_bytes("trials/a/result.json")


def test_a_local_store_is_its_own_local_copy(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    store.write_bytes("reduced/x.csv", b"a\n")
    with store.local_copy("reduced") as local:
        assert local == tmp_path / "reduced" and store.list_files("reduced") == ["x.csv"]
    assert (tmp_path / "reduced" / "x.csv").exists()


def without_timings(result: TrialResult) -> dict[str, Any]:
    """The result as strict JSON, per-epoch history included, without timings, the resume point and provenance."""
    plain = result.to_json()
    kept = {key: value for key, value in plain.items() if key not in {"seconds", "resumed_from_epoch", "provenance"}}
    kept["history"] = [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in plain["history"]]
    return kept


class Interrupt(Exception):
    pass


def stop_after_epoch_1(record: EpochRecord, run: TrainingRun) -> None:
    if record.epoch == 1:
        raise Interrupt


def test_a_trial_checkpointed_on_s3_resumes_bit_identically(s3_root: str) -> None:
    config = build_trial_config(
        TrialOptions(
            dataset="mnist5k", alpha=0.1, epsilon=4.0, clip=1.0, seed=0, n_train=200, n_test=100,
            training={"epochs": 2, "batch_size": 100},
        )
    )  # fmt: skip
    store = ResultsStore(f"{s3_root}/ckpt")
    with pytest.raises(Interrupt):
        run_trial(config, threads=1, checkpoint=TrialCheckpoint(store, "checkpoint"), on_epoch=stop_after_epoch_1)
    assert store.list_dir("checkpoint") == ["meta.json", "state-0001.pt"]
    resumed = run_trial(config, threads=1, checkpoint=TrialCheckpoint(ResultsStore(f"{s3_root}/ckpt"), "checkpoint"))
    whole = run_trial(config, threads=1)
    assert resumed.resumed_from_epoch == 1 and math.isfinite(resumed.epsilon_spent)
    assert without_timings(resumed) == without_timings(whole)
    assert store.list_dir("checkpoint") == ["meta.json", "state-0002.pt"]
