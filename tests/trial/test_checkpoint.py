"""Checkpoint consistency: a crash between the two writes of a save resumes to the uninterrupted run's result, epoch
history included; a checkpoint whose files disagree is refused in one line; and the crash test fails against the
broken builds it guards against (the state committed without a check; the meta file written first)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.trial import TrialConfig
from acadp.errors import CheckpointError
from acadp.store.results import ResultsStore
from acadp.trial.checkpoint import TrialCheckpoint
from acadp.trial.result import TrialResult
from acadp.trial.run import run_trial

from .compare import without_timings


def small(epsilon: float) -> TrialConfig:
    options = TrialOptions(
        dataset="mnist5k",
        alpha=0.1,
        epsilon=epsilon,
        seed=3,
        n_train=400,
        n_test=200,
        training={"epochs": 3, "batch_size": 100},
    )
    return build_trial_config(options)


class Crash(Exception):
    """The process died here."""


class CrashingStore(ResultsStore):
    """A local store whose write number ``at`` (1-based, counting every file written) crashes instead of writing."""

    def __init__(self, root: Path, *, at: int) -> None:
        super().__init__(root)
        self.writes, self.at = 0, at

    def write_bytes(self, rel: str, data: bytes) -> None:
        self.writes += 1
        if self.writes == self.at:
            raise Crash(rel)
        super().write_bytes(rel, data)


class UncheckedCheckpoint(TrialCheckpoint):
    """A broken build: one fixed state file, the meta file holding no commit, a load that checks nothing — the state
    first, then the meta file (``meta_first=False``), or the other way round."""

    meta_first = False

    def save(self, state: dict[str, Any], meta: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        writes = [
            lambda: self.store.write_bytes(f"{self.rel}/state.pt", buffer.getvalue()),
            lambda: self.store.write_json(self.paths.meta, meta),
        ]
        for write in reversed(writes) if self.meta_first else writes:
            write()

    def load(self, config: TrialConfig) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if not self.store.exists(self.paths.meta):
            return None
        state = torch.load(io.BytesIO(self.store.read_bytes(f"{self.rel}/state.pt")), weights_only=True)
        return state, self.store.read_json(self.paths.meta)


class MetaFirstCheckpoint(UncheckedCheckpoint):
    meta_first = True


class CommitFirstCheckpoint(TrialCheckpoint):
    """A broken build of the committing checkpoint: the meta file (the commit) written before the state it commits."""

    def save(self, state: dict[str, Any], meta: dict[str, Any]) -> None:
        writes: list[tuple[str, bytes]] = []
        store = self.store

        class Deferred(ResultsStore):  # records the two writes, then replays them in the wrong order
            def write_bytes(self, rel: str, data: bytes) -> None:
                writes.append((rel, data))

        self.store = Deferred.on_filesystem(store.fs, store.root, uri=store.uri)
        try:
            super().save(state, meta)
        finally:
            self.store = store
        for rel, data in reversed(writes):
            store.write_bytes(rel, data)


def resumed_after_a_crash(
    tmp_path: Path, config: TrialConfig, *, checkpoint_type: type[TrialCheckpoint], crash_at: int
) -> TrialResult:
    """Run ``config`` checkpointing into a store that crashes at its write number ``crash_at``, then resume it in a
    fresh process's view of the same folder (a new store and checkpoint object) to the end."""
    with pytest.raises(Crash):
        run_trial(config, threads=1, checkpoint=checkpoint_type(CrashingStore(tmp_path, at=crash_at), "ckpt"))
    return run_trial(config, threads=1, checkpoint=checkpoint_type(ResultsStore(tmp_path), "ckpt"))


# a save is two writes (state, meta): write 4 is the meta file of epoch 2, write 3 its state file
BETWEEN_THE_WRITES_OF_EPOCH_2 = 4


@pytest.mark.parametrize("epsilon", [math.inf, 4.0], ids=["sgd", "dpsgd"])
def test_a_crash_between_the_writes_of_a_save_resumes_to_the_uninterrupted_result(
    tmp_path: Path, epsilon: float
) -> None:
    config = small(epsilon)
    whole = run_trial(config, threads=1)
    resumed = resumed_after_a_crash(
        tmp_path, config, checkpoint_type=TrialCheckpoint, crash_at=BETWEEN_THE_WRITES_OF_EPOCH_2
    )
    assert resumed.resumed_from_epoch == 1  # epoch 2's state was written but never committed
    assert [epoch.epoch for epoch in resumed.history] == [1, 2, 3]
    assert without_timings(resumed) == without_timings(whole)
    assert sorted(path.name for path in (tmp_path / "ckpt").iterdir()) == ["meta.json", "state-0003.pt"]


@pytest.mark.parametrize("crash_at", [1, 2, 3, 5, 6])
def test_a_crash_at_any_other_write_resumes_to_the_uninterrupted_result(tmp_path: Path, crash_at: int) -> None:
    config = small(math.inf)
    resumed = resumed_after_a_crash(tmp_path, config, checkpoint_type=TrialCheckpoint, crash_at=crash_at)
    assert without_timings(resumed) == without_timings(run_trial(config, threads=1))


def test_the_crash_test_fails_against_a_state_committed_without_a_check(tmp_path: Path) -> None:
    """The build before commits: ``state.pt`` of epoch 2 overwrote epoch 1's, the meta file still ends at epoch 1,
    and the resumed run silently lost an epoch of its history — only a comparison that includes it can tell."""
    config = small(math.inf)
    whole = run_trial(config, threads=1)
    resumed = resumed_after_a_crash(
        tmp_path, config, checkpoint_type=UncheckedCheckpoint, crash_at=BETWEEN_THE_WRITES_OF_EPOCH_2
    )
    assert without_timings(resumed) != without_timings(whole)
    assert [epoch.epoch for epoch in resumed.history] == [1, 3]
    ignoring_history = {key: value for key, value in without_timings(resumed).items() if key != "history"}
    assert ignoring_history == {key: value for key, value in without_timings(whole).items() if key != "history"}


def test_the_crash_test_fails_against_a_meta_file_written_first(tmp_path: Path) -> None:
    config = small(math.inf)
    whole = run_trial(config, threads=1)
    # write 3 is epoch 2's meta file, which now comes first: the crash hits its state file
    unchecked = resumed_after_a_crash(tmp_path / "unchecked", config, checkpoint_type=MetaFirstCheckpoint, crash_at=4)
    assert without_timings(unchecked) != without_timings(whole)
    assert [epoch.epoch for epoch in unchecked.history] == [1, 2, 2, 3]
    with pytest.raises(CheckpointError, match=r"meta\.json commits state-0002\.pt, which is missing"):
        resumed_after_a_crash(tmp_path / "committing", config, checkpoint_type=CommitFirstCheckpoint, crash_at=4)


def checkpointed(tmp_path: Path, *, epochs: int = 1) -> tuple[TrialConfig, Path]:
    base = small(math.inf)
    config = base.model_copy(update={"training": base.training.model_copy(update={"epochs": epochs})})
    run_trial(config, threads=1, checkpoint=TrialCheckpoint(ResultsStore(tmp_path), "ckpt"))
    return config, tmp_path / "ckpt"


def test_a_state_file_that_does_not_hash_to_its_commit_is_refused(tmp_path: Path) -> None:
    config, folder = checkpointed(tmp_path)
    state = folder / "state-0001.pt"
    state.write_bytes(state.read_bytes() + b"\x00")
    with pytest.raises(CheckpointError, match=r"state-0001\.pt does not hash to what meta\.json committed"):
        run_trial(config, threads=1, checkpoint=TrialCheckpoint(ResultsStore(tmp_path), "ckpt"))


def test_a_legacy_checkpoint_is_read_when_its_state_and_meta_agree_and_refused_when_not(tmp_path: Path) -> None:
    config, folder = checkpointed(tmp_path, epochs=2)
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "state-0002.pt").rename(folder / "state.pt")
    legacy = {key: value for key, value in meta.items() if key not in {"state", "state_sha256"}} | {"format": 1}
    (folder / "meta.json").write_text(json.dumps(legacy))
    again = run_trial(config, threads=1, checkpoint=TrialCheckpoint(ResultsStore(tmp_path), "ckpt"))
    assert again.resumed_from_epoch == 2 and [epoch.epoch for epoch in again.history] == [1, 2]
    (folder / "meta.json").write_text(json.dumps(legacy | {"epochs_done": 1, "history": legacy["history"][:1]}))
    with pytest.raises(CheckpointError, match=r"the state is of epoch 2, its meta\.json of epoch 1"):
        run_trial(config, threads=1, checkpoint=TrialCheckpoint(ResultsStore(tmp_path), "ckpt"))
