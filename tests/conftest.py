"""Suite-wide settings: which test modules are multi-process end-to-end tests (``e2e``), and fixtures shared across
the test packages (a real S3-compatible server).

``make test`` runs everything but the ``slow`` tests; ``make test-fast`` (the inner loop) also leaves out the ``e2e``
modules below: each starts the real ``acadp`` command line, a Ray cluster, an MLflow server or a browser in other
processes, which costs seconds to minutes per test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

E2E_MODULES = frozenset(
    {
        "cli/test_data_command.py",
        "cli/test_help.py",
        "cli/test_hint_commands.py",
        "cli/test_light_commands.py",
        "cli/test_sweep_plan.py",
        "cli/test_sweep_status.py",
        "cli/test_trial_command.py",
        "cli/test_ui.py",
        "cli/test_ui_views.py",
        "cli/test_usage_errors.py",
        "config/test_bad_sweeps.py",
        "data/test_registry_sources.py",
        "lira/test_audit_e2e.py",
        "reduce/test_browser.py",
        "reduce/test_checkout_resources.py",
        "reduce/test_wheel.py",
        "sweep/test_disk_full.py",
        "sweep/test_failure_e2e.py",
        "sweep/test_lira_collective.py",
        "sweep/test_live_driver.py",
        "sweep/test_locked_tracking.py",
        "sweep/test_node_loss.py",
        "sweep/test_s3_sweep.py",
        "sweep/test_search_e2e.py",
        "sweep/test_services.py",
        "sweep/test_stale_ray_record.py",
        "sweep/test_stop_signals.py",
        "sweep/test_sweep_e2e.py",
        "sweep/test_text_sweeps.py",
        "sweep/test_tracking_outage_e2e.py",
        "sweep/test_unwritable_store.py",
        "sweep/test_two_drivers.py",
    }
)
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.resolve().relative_to(TESTS).as_posix() in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)


S3_BUCKET = "acadp-test"


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A real S3-compatible server (moto's, in server mode) bound to an ephemeral port on 127.0.0.1 for the test,
    with the bucket ``acadp-test``; yields the variables a client needs (endpoint, credentials, region), also set in
    this process. pyarrow (the results store, Ray Tune's storage) and boto3 read them; child processes get them
    through their environment. The server stops when the test ends."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not one line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        _, port = server.get_host_and_port()
        env = {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        import boto3

        boto3.client("s3").create_bucket(Bucket=S3_BUCKET)
        yield env
    finally:
        server.stop()


@pytest.fixture
def s3_root(s3_env: dict[str, str]) -> str:
    """``s3://acadp-test``: the bucket of :func:`s3_env`'s server, as a storage URI."""
    return f"s3://{S3_BUCKET}"
