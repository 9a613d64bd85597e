"""Comparing trial results across runs."""

from __future__ import annotations

from typing import Any

from acadp.trial.result import TrialResult


def without_timings(result: TrialResult) -> dict[str, Any]:
    """A result as JSON without what legitimately differs between runs: timings (also per epoch), the resume point
    and provenance. The per-epoch history stays."""
    plain = result.to_json()
    kept = {key: value for key, value in plain.items() if key not in {"seconds", "resumed_from_epoch", "provenance"}}
    kept["history"] = [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in plain["history"]]
    return kept
