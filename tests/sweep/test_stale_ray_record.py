"""A stale record of a local Ray cluster (its head died with the machine or a SIGKILL) and a ``--address`` nobody
answers at: a local sweep starts a Ray of its own, saying so in one line that names the record, instead of waiting on
the dead head; a given address that does not answer fails in one line before anything is prepared.

Ray's record lives in Ray's temporary folder; these tests point ``RAY_TMPDIR`` at a folder of their own (the
``ray_tmpdir`` fixture), so no one else's Ray on this machine is touched. The choice itself: test_cluster.py."""

from __future__ import annotations

from pathlib import Path

from .helpers import cli_env, closed_port, ray_record, results_by_key, run_acadp, write_sweep


def test_a_local_sweep_with_a_stale_record_runs_on_its_own_ray(
    tmp_path: Path, data_dir: Path, ray_tmpdir: Path
) -> None:
    dead = f"127.0.0.1:{closed_port()}"
    path = ray_record(ray_tmpdir, dead)
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
