"""One live driver per sweep: ``driver.json`` names it (pid, host, invocation id) and carries a heartbeat.

A second ``sweep run`` (or ``resume``) on the same sweep refuses to start while the first is alive, before it prepares
anything, naming the live driver; so does ``sweep sync``, which would log what the driver logs itself. A driver that
died (SIGKILL, pre-emption) leaves a stale file: its heartbeat stops, or its pid is gone on this host, and the next
driver takes over. Trials check the invocation id before they start and after every epoch, and stop if a newer
driver owns the sweep (or none does).

A driver that only stalled (suspended, a frozen machine) past the stale time finds, when it runs again, another
driver's ``driver.json``: its heartbeat renews the lease only while the file still names it, so it never takes the
sweep back; it stops renewing, and the driver ends with :class:`SweepSupersededError` once Tune returns, without
closing the sweep's MLflow run or recording an invocation (the new driver owns both). The check and the renewal are
two file operations, not one atomic one: a driver that stalls for the whole stale time exactly between them could
still overwrite its successor once; the successor's trials then stop at their next epoch and its driver ends the
same way, so no result is written twice, but that sweep needs one more ``sweep resume``.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acadp.clock import utc_now
from acadp.errors import StoreError, StoreFullError, SweepLockedError, SweepSupersededError
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore

HEARTBEAT_SECONDS = 5.0
STALE_AFTER_SECONDS = 30.0


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a killed process its parent has not reaped yet, a zombie, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True  # no /proc (not Linux): the signal test is all we have
    return "State:\tZ" not in status


def driver_is_live(record: dict[str, Any] | None) -> bool:
    """Whether ``driver.json``'s driver still runs: same host → its pid exists; any host → recent heartbeat."""
    if not record:
        return False
    try:
        beat = dt.datetime.fromisoformat(record["heartbeat_at"])
    except (KeyError, ValueError):
        return False
    if (utc_now() - beat).total_seconds() > STALE_AFTER_SECONDS:
        return False
    if record.get("host") == socket.gethostname():
        return _pid_alive(int(record.get("pid", -1)))
    return True


def refuse_while_driven(store: ResultsStore, who: str, what_to_do: str) -> None:
    """Raise :class:`SweepLockedError` when a live driver holds the sweep's lease: ``<store>: <who> (pid P on H,
    started S) is running this sweep; <what_to_do>``."""
    current = read_driver(store)
    if current is not None and driver_is_live(current):
        raise SweepLockedError(
            f"{store.uri}: {who} (pid {current.get('pid')} on {current.get('host')}, started "
            f"{current.get('started_at')}) is running this sweep; {what_to_do}"
        )


def read_driver(store: ResultsStore) -> dict[str, Any] | None:
    if not store.exists(LAYOUT.driver):
        return None
    record = store.read_json(LAYOUT.driver)
    return record if isinstance(record, dict) else None


@dataclass
class DriverLease:
    """The lease of this process on a sweep, renewed by a background heartbeat until :meth:`release` or until
    ``driver.json`` names another driver (then ``successor`` holds that record, ``{}`` when the file was removed)."""

    store: ResultsStore
    invocation: str
    started_at: str
    successor: dict[str, Any] | None = None

    @classmethod
    def acquire(cls, store: ResultsStore) -> DriverLease:
        """Take the sweep's lease; :class:`SweepLockedError` naming the live driver when another one holds it."""
        refuse_while_driven(store, "another driver", "wait for it to end, or stop it first")
        lease = cls(store=store, invocation=uuid.uuid4().hex[:12], started_at=utc_now().isoformat(timespec="seconds"))
        lease.beat()
        return lease

    def record(self) -> dict[str, Any]:
        return {
            "invocation": self.invocation,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": self.started_at,
            "heartbeat_at": utc_now().isoformat(timespec="seconds"),
        }

    def beat(self) -> None:
        self.store.write_json(LAYOUT.driver, self.record())

    def renew(self) -> bool:
        """Renew the lease if ``driver.json`` still names this driver; otherwise record the successor and return
        False (a read that fails leaves the lease as it is, for the next beat to retry)."""
        try:
            current = read_driver(self.store)
        except (StoreError, OSError, ValueError):
            return True
        if current is None or current.get("invocation") != self.invocation:
            self.successor = current or {}
            return False
        self.beat()
        return True

    def check(self) -> None:
        """Raise :class:`SweepSupersededError` if another driver took the sweep over (see the module docstring)."""
        if self.successor is None:
            return
        new = self.successor
        who = (
            f"driver invocation {new.get('invocation')} (pid {new.get('pid')} on {new.get('host')}) took it over"
            if new
            else "driver.json no longer names this driver (another driver took the sweep over and has finished, or "
            "the file was removed)"
        )
        raise SweepSupersededError(
            f"{self.store.uri}: {who} while this driver ({self.invocation}) was not renewing its lease; this driver "
            "stopped and left the sweep's MLflow run to it (`acadp sweep status` shows where the sweep stands)"
        )

    def start_heartbeat(self, *, on_store_full: Callable[[str], None] | None = None) -> threading.Event:
        """Renew the lease every few seconds from a daemon thread until it is taken over; set the returned event to
        stop it.

        A beat the full store cannot take is reported to ``on_store_full`` (its one line), and the next beat tries
        again."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(HEARTBEAT_SECONDS):
                try:
                    if not self.renew():
                        return
                except StoreFullError as error:
                    if on_store_full is not None:
                        on_store_full(str(error))

        threading.Thread(target=loop, name="acadp-heartbeat", daemon=True).start()
        return stop

    def release(self) -> None:
        current = read_driver(self.store)
        if current is not None and current.get("invocation") == self.invocation:
            self.store.delete(LAYOUT.driver)
