"""Environment variables are declared once (acadp.environment), read through their declarations, and documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from acadp.environment import DATA_DIR, MLFLOW_HTTP_BUDGET, VARIABLES, EnvironmentVariable, _declare, describe_all

ROOT = Path(__file__).resolve().parents[1]
# a read of the process environment: os.environ.get(...), os.environ[...], os.getenv(...), "X" in os.environ
READ = re.compile(r"os\.environ\.get\(|os\.environ\[|os\.getenv\(|in os\.environ")


def test_no_module_reads_the_environment_behind_the_declarations() -> None:
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "acadp").rglob("*.py"))
        if path.name != "environment.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if READ.search(line)
    ]
    assert not readers, f"read the environment through acadp.environment: {readers}"


def test_unset_or_empty_is_the_default_and_set_is_parsed() -> None:
    assert DATA_DIR.get({}) is None and DATA_DIR.get({"ACADP_DATA_DIR": "  "}) is None
    assert DATA_DIR.get({"ACADP_DATA_DIR": "~/d"}) == Path("~/d").expanduser()
    timeout = MLFLOW_HTTP_BUDGET[0]
    assert timeout.get({}) == "10" and timeout.get({timeout.name: "3"}) == "3"


def test_a_variable_cannot_be_declared_twice() -> None:
    with pytest.raises(ValueError, match="ACADP_DATA_DIR is declared twice"):
        _declare(EnvironmentVariable("ACADP_DATA_DIR", str, None, "again"))
    assert VARIABLES["ACADP_DATA_DIR"] is DATA_DIR


def test_the_readme_documents_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name, _, _ in describe_all() if f"`{name}`" not in readme]
    assert not missing, f"README.md does not document {missing}"
