"""Where a result came from: package versions and the code revision, recorded with every result."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from acadp.environment import CODE_REVISION

PACKAGES = ("acadp", "torch", "opacus", "ray", "mlflow", "numpy")


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _code_revision() -> str:
    """The git revision of the acadp source tree (``+dirty`` when modified), ``$ACADP_CODE_REVISION`` where there is
    no git checkout (a job submitted to a cluster carries its revision this way), or ``unknown``."""
    declared = CODE_REVISION.get()
    if declared:
        return declared
    source = Path(__file__).resolve().parent
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
            cwd=source,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{revision}+dirty" if dirty else revision


@functools.lru_cache(maxsize=1)
def provenance() -> dict[str, str]:
    """Versions of acadp and its key dependencies, the Python version and the code revision."""
    record = {name: _package_version(name) for name in PACKAGES}
    record["python"] = platform.python_version()
    record["code_revision"] = _code_revision()
    return record
