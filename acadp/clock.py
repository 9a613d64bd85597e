"""Wall-clock time as acadp records it: UTC, timezone-aware, ISO 8601 with milliseconds in files."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """The current time in UTC (timezone-aware)."""
    return dt.datetime.now(dt.UTC)


def utc_stamp() -> str:
    """The current UTC time as ISO 8601 with milliseconds, e.g. ``2026-12-07T18:20:01.123+00:00``."""
    return utc_now().isoformat(timespec="milliseconds")


def epoch_ms() -> int:
    """Milliseconds since the Unix epoch (MLflow's timestamps)."""
    return int(utc_now().timestamp() * 1000)
