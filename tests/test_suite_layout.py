"""The suite's own bookkeeping: the e2e list names real modules, so a rename cannot move a slow test into the fast
loop unnoticed."""

from __future__ import annotations

from tests.conftest import E2E_MODULES, TESTS


def test_every_e2e_module_exists() -> None:
    missing = sorted(name for name in E2E_MODULES if not (TESTS / name).is_file())
    assert not missing, f"E2E_MODULES names files that do not exist: {missing}"
