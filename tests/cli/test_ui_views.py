"""``acadp ui`` as a user meets it: it refuses without a sweep, says where the UI is once the server answers, starts
one server process, keeps MLflow's telemetry off, and its address opens the sweep's runs as one readable list in a
real browser (Debian's headless chromium, :mod:`tests.browser`)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from sweep.helpers import on_a_free_port, raise_if_port_taken  # tests/ is on the path: the tests' own helpers

from acadp.sweep.plan import plan_sweep
from acadp.sweep.tracking import TrialTracker, run_name, setup_sweep_tracking
from acadp.trial.result import EpochRecord
from tests.browser import chromium, run_chromium

from .test_ui import _descendants, _living_processes

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "sweeps" / "quickstart.yaml"
READY_TIMEOUT_S = 180.0
ADDRESS = re.compile(r"MLflow UI: (http://\S+)")


def _acadp(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "acadp", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_without_a_sweep_file_it_refuses_and_creates_no_store(tmp_path: Path) -> None:
    done = _acadp("ui", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no sweep named" in lines[0] and "acadp ui sweeps/quickstart.yaml" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_a_store_uri_naming_no_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    done = _acadp("ui", "--backend-store-uri", f"sqlite:///{missing}", cwd=tmp_path)
    assert done.returncode == 2 and "no MLflow store there" in done.stderr and str(missing) in done.stderr
    assert not missing.exists()


@dataclass(frozen=True)
class Served:
    """A running ``acadp ui`` for a smoke quickstart store: its process, log, printed address and run names."""

    process: subprocess.Popen[bytes]
    log: Path
    address: str
    answered_when_printed: bool
    names: tuple[str, ...]


def _seed_store(storage: Path) -> tuple[str, ...]:
    """The quickstart smoke sweep's MLflow store as a driver leaves it, one evaluated epoch per trial."""
    plan = plan_sweep(QUICKSTART, smoke=True, storage=str(storage))
    Path(plan.location).mkdir(parents=True)
    target = setup_sweep_tracking(
        tracking_uri=plan.tracking_uri, experiment=plan.name, sweep_dir=plan.location,
        artifact_root=Path(plan.location) / "mlflow-artifacts", spec_files=[],
    )  # fmt: skip
    client = MlflowClient(tracking_uri=plan.tracking_uri)
    for index, config in enumerate(plan.configs):
        tracker = TrialTracker(target, config)
        record = EpochRecord(epoch=1, train_loss=0.3, test_accuracy=0.9, success=0.1 * index, base_rate=0.0, seconds=1)
        tracker.log_epoch(record)
        client.set_terminated(tracker.run_id)
    return tuple(run_name(config) for config in plan.configs)


def _wait_for_address(process: subprocess.Popen[bytes], log: Path) -> tuple[str, bool]:
    """The address ``acadp ui`` printed, and whether the server answered at the moment it was seen."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise_if_port_taken(log)  # another process took the port first: started again on a new one
            pytest.fail(f"acadp ui exited with {process.returncode}:\n{log.read_text()}")
        found = ADDRESS.search(log.read_text())
        if found:
            base = found.group(1).split("/#")[0]
            with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
                return found.group(1), response.status == 200
        time.sleep(0.1)
    pytest.fail(f"acadp ui printed no address within {READY_TIMEOUT_S} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ui-views")
    names = _seed_store(root / "results")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_WORKERS", "MLFLOW_SERVER_", "MLFLOW_DIS"))}
    log = root / "ui.log"
    command = [sys.executable, "-m", "acadp", "ui", str(QUICKSTART), "--smoke", "--storage", str(root / "results")]
    started: list[subprocess.Popen[bytes]] = []

    def start(port: int) -> tuple[subprocess.Popen[bytes], str, bool]:
        with log.open("wb") as output:
            process = subprocess.Popen([*command, "--port", str(port)], stdout=output, stderr=output, env=env)
        started.append(process)
        address, answered = _wait_for_address(process, log)
        return process, address, answered

    try:
        process, address, answered = on_a_free_port(start)
        yield Served(process, log, address, answered, names)
    finally:
        for each in started:
            _stop(each)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop an ``acadp ui`` and every process it started, by PID."""
    tree = _descendants(process.pid)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pid in tree & _living_processes().keys():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_the_address_is_printed_once_the_server_answers(served: Served) -> None:
    assert served.answered_when_printed
    text = served.log.read_text()
    assert text.index("starting the MLflow UI") < text.index("MLflow UI: http")
    assert "/runs?workflowType=machine_learning&viewStateShareKey=acadp" in served.address


def _environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_one_server_process_without_job_runner_or_telemetry(served: Served) -> None:
    tree = _descendants(served.process.pid)
    commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in tree}
    # the `mlflow ui` command line and one uvicorn process serving requests: no worker pool, no job runner
    assert len(tree) == 2, commands
    assert sum("uvicorn" in line for line in commands.values()) == 1
    assert not any("huey" in line for line in commands.values())
    for pid in tree:
        environment = _environment(pid)
        assert environment["MLFLOW_DISABLE_TELEMETRY"] == "true"
        assert environment["MLFLOW_WORKERS"] == "1"


class RunTable(HTMLParser):
    """The run list in the MLflow UI's DOM: the ids of its column headers (with their on-screen position, which the
    grid keeps in ``aria-colindex``: its DOM order is not the order shown) and the names of the runs it lists."""

    def __init__(self) -> None:
        super().__init__()
        self.columns: list[str] = []
        self.position: dict[str, int] = {}
        self.names: list[str] = []
        self._in_name = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("role") == "columnheader" and found.get("col-id"):
            self.columns.append(str(found["col-id"]))
            self.position[str(found["col-id"])] = int(found.get("aria-colindex") or -1)
        if tag == "a" and "/runs/" in str(found.get("href") or ""):
            self._in_name = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_name = False

    def handle_data(self, data: str) -> None:
        if self._in_name and data.strip():
            self.names.append(data.strip())


@pytest.mark.browser
def test_the_run_list_reads_in_a_browser(served: Served, tmp_path: Path) -> None:
    chromium()
    page = run_chromium(
        served.address, tmp_path / "profile", "--virtual-time-budget=30000", "--window-size=2400,1400", "--dump-dom"
    )
    table = RunTable()
    table.feed(page.stdout)
    # every trial's run is listed by its readable name, flat (not folded under the collapsed sweep run)
    assert set(served.names) <= set(table.names), table.names
    # the grouping tags and the headline metrics are columns
    for column in ("tags.`dataset`", "tags.`arm`", "tags.`alpha`", "tags.`seed`", "metrics.`success`"):
        assert column in table.columns, table.columns
    assert table.position["tags.`seed`"] < table.position["metrics.`success`"]  # who, then how it did
    assert "MLflow collects usage data" not in page.stdout
