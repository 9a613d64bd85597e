"""One-run audit settings as configuration data (Steinke, Nasr & Jagielski 2023; the audit itself is in
:mod:`acadp.lira.one_run`): the ``one_run:`` section of a sweep file, one audit's config and its key."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from pydantic import Field, model_validator

from acadp.config.base import FrozenModel
from acadp.config.lira import PointSets
from acadp.config.trial import TrialConfig


class OneRunSettings(FrozenModel):
    """How to audit one grid point with one training run. Without ``k_plus``/``k_minus``, each is m // 10."""

    canaries: Annotated[int, Field(ge=1)] = 1000  # m
    # guesses "included" on the k₊ highest scores and "excluded" on the k₋ lowest (filled in when not given)
    k_plus: Annotated[int, Field(ge=0)]
    k_minus: Annotated[int, Field(ge=0)]
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95  # the bound holds with this probability
    seed: Annotated[int, Field(ge=0)] = 0  # canaries, inclusion, and the run's initialisation, batches and noise

    @model_validator(mode="before")
    @classmethod
    def _default_guesses(cls, data: object) -> object:
        if isinstance(data, dict):
            canaries = data.get("canaries", 1000)
            default = canaries // 10 if isinstance(canaries, int) else None
            data = {**data, **{k: default for k in ("k_plus", "k_minus") if data.get(k) is None}}
        return data

    @property
    def guesses(self) -> int:
        """r = k₊ + k₋, the number of guesses."""
        return self.k_plus + self.k_minus


class OneRunSmoke(FrozenModel):
    """How ``--smoke`` shrinks one-run audits (the smoke run's training sets are small)."""

    canaries: Annotated[int, Field(ge=1)] = 200
    k_plus: Annotated[int, Field(ge=0)] = 20
    k_minus: Annotated[int, Field(ge=0)] = 20


class OneRunSection(OneRunSettings):
    """The ``one_run:`` section of a sweep file: the grid points to audit with one training run each, and the
    settings (canaries, k₊, k₋, confidence, seed) every one of them uses."""

    points: PointSets
    smoke: OneRunSmoke = OneRunSmoke()

    def settings(self, *, smoke: bool) -> OneRunSettings:
        """The audit settings, shrunk for smoke runs."""
        data = self.model_dump(exclude={"points", "smoke"})
        if smoke:
            data.update(self.smoke.model_dump())
        return OneRunSettings.model_validate(data)


class OneRunConfig(FrozenModel):
    """One one-run audit: the audited trial config and the settings."""

    trial: TrialConfig
    one_run: OneRunSettings

    def key(self) -> str:
        """Content hash of the audited trial and every setting (its folder ``one_run/<key>/``)."""
        text = json.dumps({"trial": self.trial.key(), "one_run": self.one_run.model_dump()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def label(self) -> str:
        return f"one-run audit {self.trial.label()} ({self.one_run.canaries} canaries)"
