"""A live driver on a sweep: a second ``sweep run`` or ``resume`` and a ``sweep sync`` are refused in one line naming it
(pid, host, start), before anything is prepared or written; once it has died, ``sweep sync`` proceeds.

The live driver here is a process that holds the sweep's lease exactly as a driver does (``DriverLease`` with its
heartbeat) without running Ray; two real drivers, one superseding the other, are tested elsewhere."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from .helpers import cli_env, run_acadp, write_sweep

HOLD_LEASE = """
import sys, time
from acadp.store.results import ResultsStore
from acadp.sweep.lease import DriverLease
lease = DriverLease.acquire(ResultsStore(sys.argv[1]))
lease.start_heartbeat()
print(lease.started_at, flush=True)
time.sleep(600)
"""


@contextmanager
def lease_holder(sweep_dir: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A process holding the lease of ``sweep_dir``, and the start time it recorded; killed on exit."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LEASE, str(sweep_dir)], stdout=subprocess.PIPE, text=True
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        started_at = holder.stdout.readline().strip()  # blocks until the lease is held
        assert started_at, "the lease holder died before it held the lease"
        yield holder, started_at
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_a_live_driver_is_named_when_a_second_driver_or_a_sync_is_refused(tmp_path: Path, data_dir: Path) -> None:
    spec = write_sweep(tmp_path / "held.yaml", name="held")
    storage, env = tmp_path / "store", cli_env(data_dir)
    sweep_dir = storage / "held"
    given = [str(spec), "--storage", str(storage)]
    commands = [["sweep", "run", *given], ["sweep", "resume", *given], ["sweep", "sync", *given]]
    with lease_holder(sweep_dir) as (holder, started_at):
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda args: run_acadp(args, env=env, timeout=180), commands))
        named = f"(pid {holder.pid} on {socket.gethostname()}, started {started_at}) is running this sweep"
        for args, result in zip(commands, results, strict=True):
            lines = result.stderr.strip().splitlines()
            assert result.returncode == 2 and len(lines) == 1, (args, result.stderr)
            assert named in lines[0] and str(sweep_dir) in lines[0], (args, lines[0])
        assert "another driver" in results[0].stderr and "sync after it has ended" in results[2].stderr
        # refused before anything was prepared: only the holder's lease is in the sweep directory
        assert sorted(path.name for path in sweep_dir.iterdir()) == ["driver.json"]
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    after = run_acadp(["sweep", "sync", *given], env=env, timeout=180)
    assert after.returncode == 0, after.stderr
    assert "nothing awaits tracking" in after.stderr
