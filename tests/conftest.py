"""Suite-wide settings: which test modules are multi-process end-to-end tests (``e2e``).

``make test`` runs everything but the ``slow`` tests; ``make test-fast`` (the inner loop) also leaves out the ``e2e``
modules below: each starts the real ``acadp`` command line, a Ray cluster, an MLflow server or a browser in other
processes, which costs seconds to minutes per test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

E2E_MODULES = frozenset(
    {
        "cli/test_data_command.py",
        "cli/test_hint_commands.py",
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
        "sweep/test_lira_collective.py",
        "sweep/test_live_driver.py",
        "sweep/test_locked_tracking.py",
        "sweep/test_node_loss.py",
        "sweep/test_search_e2e.py",
        "sweep/test_services.py",
        "sweep/test_stale_ray_record.py",
        "sweep/test_stop_signals.py",
        "sweep/test_sweep_e2e.py",
        "sweep/test_tracking_outage_e2e.py",
        "sweep/test_unwritable_store.py",
    }
)
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.resolve().relative_to(TESTS).as_posix() in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)
