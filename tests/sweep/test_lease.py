"""One live driver per sweep: a live one locks the sweep out, a dead or stale one is taken over."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acadp.errors import SweepLockedError, SweepSupersededError
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


def test_a_lease_taken_over_is_not_renewed_and_its_driver_learns_who_took_it(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    stalled = DriverLease.acquire(store)
    assert stalled.renew()
    stalled.check()  # still its own: nothing to raise
    stale = {**read_driver(store), "heartbeat_at": record(0, age_seconds=120)["heartbeat_at"]}
    store.write_json(LAYOUT.driver, stale)  # the stalled driver's heartbeat went quiet for two minutes
    successor = DriverLease.acquire(store)
    assert not stalled.renew()  # the stalled driver must not take the sweep back
    assert read_driver(store)["invocation"] == successor.invocation
    with pytest.raises(SweepSupersededError, match=rf"driver invocation {successor.invocation} \(pid \d+ on .*\) took"):
        stalled.check()
    stalled.release()  # leaves the successor's lease alone
    assert read_driver(store)["invocation"] == successor.invocation


def test_a_removed_lease_is_not_recreated_by_the_heartbeat(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    lease = DriverLease.acquire(store)
    store.delete(LAYOUT.driver)
    assert not lease.renew()
    assert read_driver(store) is None
    with pytest.raises(SweepSupersededError, match=r"driver\.json no longer names this driver .* while this driver"):
        lease.check()
