"""Which Ray a sweep runs on: a recorded local head is joined only when it answers; a stale record (its head died)
gets a Ray of the sweep's own and a line naming the record. Ray's record is written in a temporary folder of this
test's own (``RAY_TMPDIR``); the sweeps themselves are in test_stale_ray_record.py."""

from __future__ import annotations

import socket
from pathlib import Path

from acadp.sweep.cluster import choose_ray, cluster_record, head_answers

from .helpers import closed_port, ray_record


def test_a_head_is_live_when_it_accepts_a_connection() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        assert head_answers(f"127.0.0.1:{listening.getsockname()[1]}")
    assert not head_answers(f"127.0.0.1:{closed_port()}")
    assert not head_answers("no port here")


def test_a_stale_record_makes_a_local_ray_of_the_sweeps_own_and_a_live_one_is_joined(ray_tmpdir: Path) -> None:
    assert cluster_record() is None and choose_ray(None).address is None  # no record: a new local Ray
    dead = f"127.0.0.1:{closed_port()}"
    path = ray_record(ray_tmpdir, dead)
    assert cluster_record() == (path, dead)
    stale = choose_ray(None)
    assert stale.address == "local" and not stale.joins_cluster
    assert stale.note is not None and str(path) in stale.note and dead in stale.note
    with socket.socket() as head:
        head.bind(("127.0.0.1", 0))
        head.listen()
        ray_record(ray_tmpdir, f"127.0.0.1:{head.getsockname()[1]}")
        assert choose_ray(None).address is None and choose_ray(None).note is None  # ray.init() joins it
