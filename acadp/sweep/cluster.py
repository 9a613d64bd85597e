"""Which Ray a sweep runs on, decided before anything is prepared: a cluster that does not answer is never waited on.

``ray.init()`` without an address joins the cluster that the last ``ray start`` on this machine recorded (Ray's
``ray_current_cluster`` file in its temporary folder). When that head died with the machine or a SIGKILL, the record
stays, and ``ray.init()`` waits on the dead head for minutes with only Ray's warnings. So a local sweep probes the
recorded head first: one that does not accept a connection within :data:`PROBE_SECONDS` is stale, and the sweep starts
a Ray of its own (saying so in one line). A head given with ``--address`` (or ``$RAY_ADDRESS``) that does not answer
within :data:`ADDRESS_WAIT_SECONDS` is an error, in one line, before anything is prepared.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path

from acadp.errors import ClusterUnreachableError

PROBE_SECONDS = 3.0  # a live head accepts a connection at once; a dead one's port refuses or never answers
ADDRESS_WAIT_SECONDS = 20.0  # a head named on the command line may still be starting: retried this long


@dataclass(frozen=True)
class RayTarget:
    """Where ``ray.init`` goes: ``address`` (None: a record-following ``ray.init()``; ``"local"``: a new local Ray
    even though a record exists), and the line to print about it (None: nothing to say)."""

    address: str | None
    note: str | None = None

    @property
    def joins_cluster(self) -> bool:
        """Whether the sweep joins a cluster it was given (rather than a local Ray, recorded or its own)."""
        return self.address not in (None, "local")


def cluster_record() -> tuple[Path, str] | None:
    """(file, head address) of Ray's record of the last local cluster, or None when there is none."""
    from ray._common.utils import get_ray_address_file  # Ray's own rule for the folder (RAY_TMPDIR, TMPDIR, /tmp)

    path = Path(get_ray_address_file(None))
    try:
        address = path.read_text().strip()
    except OSError:
        return None
    return (path, address) if address else None


def head_answers(address: str, *, timeout: float = PROBE_SECONDS) -> bool:
    """Whether something accepts a TCP connection at ``address`` (``host:port``) within ``timeout`` seconds."""
    host, _, port = address.rpartition(":")
    if not port.isdigit() or not host:
        return False
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def _plain_address(address: str) -> bool:
    """``host:port`` (probed), not ``auto``, ``local`` or a ``ray://`` client address (left to Ray)."""
    return "://" not in address and address not in ("auto", "local") and ":" in address


def choose_ray(address: str | None) -> RayTarget:
    """Where this sweep's ``ray.init`` goes (``address``: ``--address`` or ``$RAY_ADDRESS``; None: local).

    Raises :class:`ClusterUnreachableError` for a given head that does not answer."""
    if address:
        if _plain_address(address) and not _answers_within(address, ADDRESS_WAIT_SECONDS):
            raise ClusterUnreachableError(
                f"--address {address}: no Ray head answers there (tried for {ADDRESS_WAIT_SECONDS:.0f} s); start the "
                "cluster first (`ray start --head`), or fix --address / $RAY_ADDRESS"
            )
        return RayTarget(address)
    record = cluster_record()
    if record is None or head_answers(record[1]):
        return RayTarget(None)  # no record (a new local Ray), or a live `ray start` cluster to join
    path, recorded = record
    return RayTarget(
        "local",
        note=f"Ray's record of a local cluster ({path}) names head {recorded}, which does not answer (it died with "
        f"its machine or was killed); this sweep starts a Ray of its own (delete {path} to silence this)",
    )


def _answers_within(address: str, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        if head_answers(address):
            return True
        if time.monotonic() + PROBE_SECONDS > deadline:
            return False
        time.sleep(1.0)
