"""A trial's epoch checkpoint in the run store: the training state (tensors only), then its meta file, written last."""

from __future__ import annotations

import io
from typing import Any

import torch

from acadp.config.trial import TrialConfig
from acadp.errors import CheckpointError
from acadp.store.layout import CheckpointLayout
from acadp.store.results import ResultsStore

CHECKPOINT_FORMAT = 1


class TrialCheckpoint:
    """The epoch checkpoint of one trial in the folder ``rel`` of a results store (:class:`CheckpointLayout`): the
    state (tensors only), then the meta file."""

    def __init__(self, store: ResultsStore, rel: str) -> None:
        self.store, self.rel, self.paths = store, rel, CheckpointLayout(rel)

    def load(self, config: TrialConfig) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(state, meta) of the last finished epoch, or None when the trial has not checkpointed yet."""
        if not self.store.exists(self.paths.meta):
            return None
        meta = self.store.read_json(self.paths.meta)
        if meta.get("trial_key") != config.key() or meta.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"checkpoint {self.store.path(self.rel)} belongs to trial {meta.get('trial_key')}, not {config.key()}; "
                "delete it to start this trial afresh"
            )
        raw = self.store.read_bytes(self.paths.state)
        try:
            state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several types for a damaged file
            raise CheckpointError(f"checkpoint {self.store.path(self.rel)} cannot be read ({error})") from error
        return state, meta

    def save(self, state: dict[str, Any], meta: dict[str, Any]) -> None:
        """Write the state, then the meta file: a checkpoint without a matching meta.json is never used."""
        buffer = io.BytesIO()
        torch.save(state, buffer)
        self.store.write_bytes(self.paths.state, buffer.getvalue())
        self.store.write_json(self.paths.meta, meta)
