"""A stale record of a local Ray cluster (its head died with the machine or a SIGKILL) and a ``--address`` nobody
answers at: a local sweep starts a Ray of its own, saying so in one line that names the record, instead of waiting on
the dead head; a given address that does not answer fails in one line before anything is prepared.

Ray's record lives in Ray's temporary folder; these tests point ``RAY_TMPDIR`` at a folder of their own (short: Ray
puts Unix sockets under it), so no one else's Ray on this machine is touched."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from acadp.sweep.cluster import choose_ray, cluster_record, head_answers

from .helpers import cli_env, results_by_key, run_acadp, write_sweep


def closed_port() -> int:
    """A port nothing listens on: bound by this test, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ray_tmpdir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary folder of Ray's own for this test (``RAY_TMPDIR``), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="acadp-ray-", dir="/tmp"))
    monkeypatch.setenv("RAY_TMPDIR", str(folder))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def record(ray_tmpdir: Path, address: str) -> Path:
    path = ray_tmpdir / "ray" / "ray_current_cluster"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(address)
    return path


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
    path = record(ray_tmpdir, dead)
    assert cluster_record() == (path, dead)
    stale = choose_ray(None)
    assert stale.address == "local" and not stale.joins_cluster
    assert stale.note is not None and str(path) in stale.note and dead in stale.note
    with socket.socket() as head:
        head.bind(("127.0.0.1", 0))
        head.listen()
        record(ray_tmpdir, f"127.0.0.1:{head.getsockname()[1]}")
        assert choose_ray(None).address is None and choose_ray(None).note is None  # ray.init() joins it


def test_a_local_sweep_with_a_stale_record_runs_on_its_own_ray(
    tmp_path: Path, data_dir: Path, ray_tmpdir: Path
) -> None:
    dead = f"127.0.0.1:{closed_port()}"
    path = record(ray_tmpdir, dead)
    grid = {"alpha": [0.1], "epsilon": ["inf"], "clip": ["none"], "arms": ["sgd"], "seed": [0]}
    spec = write_sweep(tmp_path / "stale.yaml", name="stale", grid=grid)
    storage = tmp_path / "store"
    result = run_acadp(
        ["sweep", "run", str(spec), "--storage", str(storage), "--no-reduce"],
        env=cli_env(data_dir, RAY_TMPDIR=str(ray_tmpdir)), timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    notes = [line for line in result.stderr.splitlines() if "does not answer" in line]
    assert len(notes) == 1 and str(path) in notes[0] and dead in notes[0], result.stderr[-3000:]
    assert len(results_by_key(storage / "stale")) == 1
    assert path.read_text() == dead, "Ray's record is Ray's: the sweep leaves it as it was"


def test_a_given_address_nobody_answers_at_fails_in_one_line_before_anything_is_prepared(
    tmp_path: Path, ray_tmpdir: Path
) -> None:
    spec = write_sweep(tmp_path / "away.yaml", name="away")
    data_dir = tmp_path / "data"
    dead = f"127.0.0.1:{closed_port()}"
    result = run_acadp(
        ["sweep", "run", str(spec), "--storage", str(tmp_path / "store"), "--address", dead],
        env=cli_env(data_dir, RAY_TMPDIR=str(ray_tmpdir)), timeout=300,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
    assert f"--address {dead}: no Ray head answers there" in lines[0]
    assert not data_dir.exists() and not (tmp_path / "store").exists()
