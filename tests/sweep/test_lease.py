"""One live driver per sweep: a live one locks the sweep out, a dead or stale one is taken over."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acadp.errors import SweepLockedError
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.lease import DriverLease, driver_is_live, read_driver


def record(pid: int, *, age_seconds: float = 0.0) -> dict[str, object]:
    beat = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age_seconds)
    return {"invocation": "old", "pid": pid, "host": socket.gethostname(), "heartbeat_at": beat.isoformat()}


def test_a_live_driver_locks_the_sweep(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    lease = DriverLease.acquire(store)
    with pytest.raises(SweepLockedError, match="another driver"):
        DriverLease.acquire(store)
    lease.release()
    assert read_driver(store) is None
    DriverLease.acquire(store).release()


def test_a_stale_heartbeat_is_taken_over(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    store.write_json(LAYOUT.driver, record(1, age_seconds=120))  # pid 1 lives, but its heartbeat stopped
    assert not driver_is_live(read_driver(store))
    lease = DriverLease.acquire(store)
    assert read_driver(store)["invocation"] == lease.invocation


def test_a_killed_unreaped_driver_is_not_alive(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while "State:\tZ" not in Path(f"/proc/{child.pid}/status").read_text():  # exited, not yet reaped: a zombie
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        store.write_json(LAYOUT.driver, record(child.pid))
        assert not driver_is_live(read_driver(store))
        DriverLease.acquire(store).release()
    finally:
        child.wait()
