"""A trial's epoch checkpoint in the run store, committed by its last write.

A save writes the training state (tensors only) to a file of its own epoch (``state-0003.pt``), then the meta file
``meta.json``, which names that state file and holds its SHA-256 and the epoch history: writing the meta file commits
the checkpoint. State files of earlier epochs are removed only once the meta file has moved on, so a crash between the
two writes leaves the previous meta file naming the previous state file, still in place, and a resume continues from
a consistent epoch (an uncommitted state file is ignored and removed by the next save).

A load refuses, in one line naming the folder, a checkpoint whose state file is missing, does not hash to what its
meta file committed, or holds another epoch than the meta file's history ends with.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import torch

from acadp.config.trial import TrialConfig
from acadp.errors import CheckpointError, StoreError
from acadp.store.layout import CheckpointLayout
from acadp.store.results import ResultsStore

# 2: the meta file commits a state file by name and SHA-256. 1: a fixed ``state.pt`` and no hash (still readable).
CHECKPOINT_FORMAT = 2
READABLE_FORMATS = (1, CHECKPOINT_FORMAT)


def state_digest(payload: bytes) -> str:
    """The SHA-256 (hex) of a serialised state, as the meta file records it."""
    return hashlib.sha256(payload).hexdigest()


class TrialCheckpoint:
    """The epoch checkpoint of one trial in the folder ``rel`` of a results store (:class:`CheckpointLayout`): state
    files, and the meta file that commits one of them."""

    def __init__(self, store: ResultsStore, rel: str) -> None:
        self.store, self.rel, self.paths = store, rel, CheckpointLayout(rel)

    def load(self, config: TrialConfig) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(state, meta) of the last committed epoch, or None when the trial has not checkpointed yet."""
        if not self.store.exists(self.paths.meta):
            return None
        where = self.store.location_of(self.rel)
        meta = self.store.read_json(self.paths.meta)
        if meta.get("trial_key") != config.key():
            raise CheckpointError(
                f"checkpoint {where} belongs to trial {meta.get('trial_key')}, not {config.key()}; "
                "delete it to start this trial afresh"
            )
        if meta.get("format") not in READABLE_FORMATS:
            raise CheckpointError(
                f"checkpoint {where} has format {meta.get('format')}, this acadp reads {READABLE_FORMATS}; "
                "delete it to start this trial afresh"
            )
        state = self._committed_state(meta, where=where)
        if state.get("epochs_done") != meta.get("epochs_done"):
            raise CheckpointError(
                f"checkpoint {where}: the state is of epoch {state.get('epochs_done')}, its meta.json of epoch "
                f"{meta.get('epochs_done')} (written by an interrupted save); delete it to start this trial afresh"
            )
        return state, meta

    def _committed_state(self, meta: dict[str, Any], *, where: str) -> dict[str, Any]:
        """The state file ``meta`` commits, checked against its hash (format 2) and deserialised."""
        name = meta.get("state", CheckpointLayout.LEGACY_STATE)
        try:
            raw = self.store.read_bytes(self.paths.file(name))
        except StoreError as error:
            raise CheckpointError(
                f"checkpoint {where}: meta.json commits {name}, which is missing; delete it to start this trial afresh"
            ) from error
        if "state_sha256" in meta and state_digest(raw) != meta["state_sha256"]:
            raise CheckpointError(
                f"checkpoint {where}: {name} does not hash to what meta.json committed (damaged or overwritten); "
                "delete it to start this trial afresh"
            )
        try:
            state: dict[str, Any] = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several types for a damaged file
            raise CheckpointError(f"checkpoint {where} cannot be read ({error})") from error
        return state

    def save(self, state: dict[str, Any], meta: dict[str, Any]) -> None:
        """Write the state of epoch ``meta['epochs_done']`` to its own file, then commit it with the meta file, then
        remove every other state file."""
        buffer = io.BytesIO()
        torch.save(state, buffer)
        payload = buffer.getvalue()
        name = CheckpointLayout.state_name(int(meta["epochs_done"]))
        self.store.write_bytes(self.paths.file(name), payload)
        committed = {**meta, "format": CHECKPOINT_FORMAT, "state": name, "state_sha256": state_digest(payload)}
        self.store.write_json(self.paths.meta, committed)
        for other in self.store.list_dir(self.rel):
            if other != name and CheckpointLayout.is_state_name(other):
                self.store.delete(self.paths.file(other))
