"""Losing Ray nodes mid-sweep, on a real multi-node Ray cluster on this machine.

The cluster: a head and a worker node started with ``ray start`` as separate Ray nodes (own raylet, own resources,
own ports), each in a session of its own so that a node's processes (raylet and the workers it started) can be killed
by PID together, as a pre-empted machine would vanish. The sweep driver connects with ``--address``; storage is a
local path every node reaches (one machine), tracking the default SQLite store beside it.

* worker node lost: SIGKILL of the worker node while it holds a trial mid-training and a LiRA shadow actor; the sweep
  goes on on the head, a new node joins and gets trials; every point ends complete exactly once with the metrics of
  an uninterrupted run, one MLflow run per point, the lost trial resumed from its checkpoint and its attempt recorded
  as "node lost", finished shadows kept;
* head lost: the head node and the driver killed mid-sweep; ``sweep resume`` against a new head finishes the sweep.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from acadp.sweep.plan import plan_sweep
from acadp.trial.run import run_trial

from .helpers import (
    PortTaken,
    background_acadp,
    child_runs,
    cli_env,
    comparable,
    free_port,
    kill_session,
    raise_if_port_taken,
    results_by_key,
    run_acadp,
    session_members,
    status_json,
    write_sweep,
)
from .test_services import BIN

# enough trials that some are still pending when the replacement node joins after the kill
GRID = {"alpha": [0.0, 0.1, 0.2], "epsilon": ["inf"], "clip": ["none"], "arms": ["sgd"], "seed": list(range(8))}
# long enough epochs (≈ 0.5 s) and shadows (≈ 3 s) for the kill to land mid-training and mid-audit
DATA = {"mnist5k": {"n_train": 1000, "n_test": 150, "eval_every": 100, "training": {"epochs": 6, "batch_size": 50}}}
LIRA = {"points": {"alpha": [0.1], "epsilon": ["inf"]}, "shadows": 24, "concurrent_shadows": 2, "queries": ["original"]}


@dataclass
class RayCluster:
    """Ray nodes started by this test on 127.0.0.1, each in its own session (keyed by the starter's PID)."""

    workdir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    sessions: list[int] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, *, head: bool, cpus: int = 1) -> int:
        """Start a node; returns its session id (the PID of its ``ray start``), whose members are its processes. A
        port taken by another process between being handed out and bound is replaced by a new one, and tried again."""
        for attempt in range(3):
            try:
                return self._start(head=head, cpus=cpus)
            except PortTaken:
                if attempt == 2:
                    raise
                if head:
                    self.port = free_port()
        raise AssertionError("unreachable")

    def _start(self, *, head: bool, cpus: int) -> int:
        head_only = ["--head", "--port", str(self.port), "--temp-dir", str(self.temp_dir)]
        where = [*head_only, "--include-dashboard", "false"] if head else ["--address", self.address]
        command = [
            str(BIN / "ray"), "start", *where, "--node-ip-address", "127.0.0.1", "--num-cpus", str(cpus),
            "--dashboard-agent-listen-port", str(free_port()), "--disable-usage-stats",
        ]  # fmt: skip
        log = self.workdir / f"ray-start-{len(self.sessions)}.log"
        with open(log, "wb") as handle:
            starter = subprocess.Popen(
                command, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )
        if starter.wait(timeout=120) != 0:
            kill_session(starter.pid)
            raise_if_port_taken(log)
            pytest.fail(log.read_text()[-3000:])
        self.sessions.append(starter.pid)
        return starter.pid

    @property
    def temp_dir(self) -> Path:
        path = self.workdir / "t"
        path.mkdir(exist_ok=True)
        return path

    def kill(self, session: int) -> None:
        """SIGKILL every process of one node at once (no graceful shutdown: the machine is gone)."""
        for pid in session_members(session):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while session_members(session) and time.monotonic() < deadline:
            time.sleep(0.1)


@contextmanager
def ray_cluster(tmp_path: Path) -> Iterator[RayCluster]:
    """Token-authenticated nodes in a short temp dir (Ray's socket paths must stay < 108 bytes); all killed after."""
    workdir = Path(tempfile.mkdtemp(prefix="rn", dir="/tmp"))
    token = tmp_path / "ray-token"
    token.write_text(secrets.token_hex(32))
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    env.pop("RAY_ADDRESS", None)
    cluster = RayCluster(workdir=workdir, env=env)
    try:
        yield cluster
    finally:
        for session in cluster.sessions:
            cluster.kill(session)
        shutil.rmtree(workdir, ignore_errors=True)  # Ray's session folders: nothing of the test stays in /tmp


def progress_of(sweep_dir: Path) -> dict[str, dict[str, Any]]:
    """trial key → progress.json of every trial directory that has one (skipping one being replaced)."""
    found = {}
    for path in (sweep_dir / "trials").glob("*/progress.json"):
        with suppress(ValueError, OSError):
            found[path.parent.name] = json.loads(path.read_text())
    return found


def shadow_nodes(sweep_dir: Path) -> list[str]:
    return [json.loads(p.read_text())["node_id"] for p in sweep_dir.glob("audits/*/shadows/*/meta.json")]


def lost_candidate(sweep_dir: Path, worker: int, *, mid_audit: bool) -> tuple[str, str] | None:
    """(trial key, node id) of a trial mid-training in a process of the worker node's session (and, with
    ``mid_audit``, while the audit, with shadows already saved by two nodes, is still training others); None until
    all of that holds."""
    members = set(session_members(worker))
    shadows = shadow_nodes(sweep_dir)
    if mid_audit and (len(set(shadows)) < 2 or len(shadows) >= LIRA["shadows"]):
        return None
    for key, progress in progress_of(sweep_dir).items():
        if progress.get("pid") in members and mid_training(sweep_dir / "trials" / key, progress):
            return key, progress["node_id"]
    return None


def mid_training(trial_dir: Path, progress: dict[str, Any] | None = None) -> bool:
    """A checkpointed epoch and no result yet (with ``progress``: and at least one whole epoch still to go after the
    one in progress, so that a kill sent now lands before the trial can finish)."""
    if progress is not None and progress.get("epochs", 0) - progress.get("epochs_done", 0) < 2:
        return False
    return (trial_dir / "checkpoint" / "meta.json").exists() and not (trial_dir / "result.json").exists()


def wait_for(condition: Any, *, timeout: float, what: str, driver: subprocess.Popen[bytes], log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := condition()) is not None:
            return value
        assert driver.poll() is None, log.read_text()[-3000:]
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {timeout} s: {log.read_text()[-3000:]}")


def expected_results(spec: Path, tmp_path: Path, data_dir: Path) -> dict[str, dict[str, Any]]:
    """Every grid point trained in one go, in this process, by the function each Tune trial runs (1 thread)."""
    plan = plan_sweep(spec, storage=str(tmp_path / "unused"))
    return {config.key(): run_trial(config, threads=1, data_dir=data_dir).to_json() for config in plan.configs}


def assert_complete_once(sweep_dir: Path, expected: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    results = results_by_key(sweep_dir)
    assert sorted(results) == sorted(expected)
    for key, result in results.items():
        assert comparable(result) == comparable(expected[key]), f"trial {key} differs from an uninterrupted run"
    _, children = child_runs(f"sqlite:///{sweep_dir / 'mlflow.db'}", name)
    keys = [run.data.tags.get("acadp.trial_key") for run in children if "acadp.trial_key" in run.data.tags]
    assert sorted(keys) == sorted(results), "MLflow must hold exactly one child run per grid point"
    assert all(run.info.status == "FINISHED" for run in children)
    return results


def test_a_lost_worker_node_costs_its_running_work_only_and_a_new_node_gets_trials(
    tmp_path: Path, data_dir: Path
) -> None:
    spec = write_sweep(
        tmp_path / "nodes.yaml", name="nodes", grid=GRID, datasets=DATA, lira=LIRA,
        resources={"cpus": 1, "shadow_placement": "spread"}, max_failures=2,
    )  # fmt: skip
    storage, sweep_dir, log = tmp_path / "store", tmp_path / "store" / "nodes", tmp_path / "driver.log"
    with ray_cluster(tmp_path) as cluster:
        # As on a real cluster (ray_cluster.yaml) the head advertises no CPUs. The audit's two shadow trainers are
        # spread over the two workers and fill the one-CPU worker, so trials run beside them on the worker that is
        # killed, and after the kill only the node that joins has room for them.
        cluster.start(head=True, cpus=0)
        worker = cluster.start(head=False, cpus=2)
        cluster.start(head=False, cpus=1)
        env = cli_env(data_dir, **{k: cluster.env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH")})
        args = ["sweep", "run", str(spec), "--storage", str(storage), "--address", cluster.address, "--no-reduce"]
        with background_acadp(args, env=env, log=log) as driver:
            before: set[str] = set()
            # A trial seen mid-training can still finish before the kill lands: then the node that replaced the
            # killed one is killed the same way, mid-training of one of its trials (the audit has lost its node).
            for attempt in range(3):
                lost_key, lost_node = wait_for(
                    partial(lost_candidate, sweep_dir, worker, mid_audit=attempt == 0), timeout=400, driver=driver,
                    log=log, what="a trial mid-training (and a finished shadow) on the worker node",
                )  # fmt: skip
                before |= set(shadow_nodes(sweep_dir)) | {p["node_id"] for p in progress_of(sweep_dir).values()}
                killed_at = time.monotonic()
                cluster.kill(worker)
                joined = cluster.start(head=False, cpus=2)  # a replacement joins while the sweep goes on
                if not (sweep_dir / "trials" / lost_key / "result.json").exists():
                    break  # no process of the killed node is left to write it: the kill landed mid-training
                worker = joined
            else:
                pytest.fail("every kill landed after its trial had finished")
            # while the sweep recovers, status calls the lost trial retrying (or running again), never failed
            seen = wait_for(
                lambda: _retry_state(status_json(spec, storage, env), lost_key), timeout=120, driver=driver, log=log,
                what="status showing the lost trial's retry",
            )  # fmt: skip
            assert seen["status"] in {"retrying", "running"} and "node lost" in seen["error"], seen
            assert driver.wait(timeout=600) == 0, log.read_text()[-3000:]
            recovered = _restart_time(sweep_dir, lost_key) - killed_at
        assert joined in cluster.sessions
    results = assert_complete_once(sweep_dir, expected_results(spec, tmp_path, data_dir), "nodes")
    progress = progress_of(sweep_dir)
    lost = results[lost_key]
    assert lost["resumed_from_epoch"] >= 1 and lost["provenance"]["ray_node_id"] != lost_node
    assert progress[lost_key]["nodes"][0] == lost_node and len(progress[lost_key]["nodes"]) == 2
    attempts = json.loads((sweep_dir / "trials" / lost_key / "attempts.json").read_text())["attempts"]
    assert len(attempts) == 1 and attempts[0]["reason"].startswith("node lost") and not attempts[0]["final"]
    # The node that joined got Tune trials without a restart. After the kill the surviving one-CPU worker holds either
    # the audit (its actor died; its own process goes on) or one trial, so the joined node gets the grid points in
    # the first case and the retried audit (a Tune trial too: its shadows say where it ran) in the second.
    nodes = {r["provenance"]["ray_node_id"] for r in results.values()} | set(shadow_nodes(sweep_dir))
    assert nodes - before, "nothing ran on the node that joined after the kill"
    # the audit: shadows ran on two nodes before the kill; the shadow the lost node was training was trained again,
    # by the audit's own process (its actor died) or by the retried audit (its process died), the saved ones kept
    (audit,) = list(sweep_dir.glob("audits/*/result.json"))
    assert json.loads(audit.read_text())["rows"]
    assert len(shadow_nodes(sweep_dir)) == LIRA["shadows"]
    lost_shadows = audit.parent / "lost_shadows.json"
    audit_attempts = audit.parent / "attempts.json"
    retried = audit_attempts.exists() and "node lost" in audit_attempts.read_text()
    assert retried or json.loads(lost_shadows.read_text()), "no lost shadow was trained again"
    print(f"recovery: {recovered:.1f} s from the kill to the lost trial running again")


def _retry_state(status: dict[str, Any], key: str) -> dict[str, Any] | None:
    entry = next(t for t in status["trials"] if t["trial_key"] == key)
    assert entry["status"] != "failed", entry
    return entry if "node lost" in (entry.get("error") or "") else None


def _restart_time(sweep_dir: Path, key: str) -> float:
    """When the lost trial's retry started, on this process's monotonic clock (from progress.json's wall time)."""
    import datetime as dt

    started = json.loads((sweep_dir / "trials" / key / "progress.json").read_text())["started_at"]
    wall = dt.datetime.fromisoformat(started).timestamp()
    return time.monotonic() - (time.time() - wall)


def test_a_lost_head_is_replaced_and_the_sweep_resumed_against_the_new_head(tmp_path: Path, data_dir: Path) -> None:
    grid = {**GRID, "seed": [0, 1]}  # 6 points
    spec = write_sweep(tmp_path / "head.yaml", name="head", grid=grid, datasets=DATA, resources={"cpus": 1})
    storage, sweep_dir = tmp_path / "store", tmp_path / "store" / "head"
    # A trial seen mid-training can still finish before the kill lands: then a resume on a new cluster is killed again.
    for attempt in range(3):
        _kill_head_and_driver_mid_training(
            spec, storage, data_dir, tmp_path / f"driver-{attempt}.log", resume=attempt > 0
        )
        trials = list((sweep_dir / "trials").glob("*"))
        if any(mid_training(trial) for trial in trials):
            break
    else:
        pytest.fail("every kill landed after the trials seen mid-training had finished")
    assert len(results_by_key(sweep_dir)) < 6
    with ray_cluster(tmp_path) as second:
        second.start(head=True, cpus=2)
        env = cli_env(data_dir, **{k: second.env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH")})
        resumed = run_acadp(
            ["sweep", "resume", str(spec), "--storage", str(storage), "--address", second.address, "--no-reduce"],
            env=env,
        )
        assert resumed.returncode == 0, resumed.stderr[-3000:]
    results = assert_complete_once(sweep_dir, expected_results(spec, tmp_path, data_dir), "head")
    assert any(result["resumed_from_epoch"] > 0 for result in results.values()), "no trial resumed mid-training"


def _kill_head_and_driver_mid_training(spec: Path, storage: Path, data_dir: Path, log: Path, *, resume: bool) -> None:
    """Run (or resume) the sweep on a new two-node cluster; SIGKILL the driver and both nodes once a trial has
    finished and another is mid-training."""
    sweep_dir = storage / "head"
    with ray_cluster(log.parent) as cluster:
        head = cluster.start(head=True, cpus=1)
        worker = cluster.start(head=False, cpus=1)
        env = cli_env(data_dir, **{k: cluster.env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH")})
        command = "resume" if resume else "run"
        args = ["sweep", command, str(spec), "--storage", str(storage), "--address", cluster.address, "--no-reduce"]
        with background_acadp(args, env=env, log=log) as driver:
            wait_for(
                lambda: _one_done_one_mid(sweep_dir), timeout=300, driver=driver, log=log,
                what="a finished trial and one mid-training",
            )  # fmt: skip
            os.kill(driver.pid, signal.SIGKILL)
            cluster.kill(head)
            cluster.kill(worker)
            driver.wait(timeout=30)


def _one_done_one_mid(sweep_dir: Path) -> bool | None:
    progress = progress_of(sweep_dir)
    trials = list((sweep_dir / "trials").glob("*"))
    done = [t for t in trials if (t / "result.json").exists()]
    mid = [t for t in trials if t.name in progress and mid_training(t, progress[t.name])]
    return True if done and mid else None
