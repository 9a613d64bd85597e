"""Where a result came from: package versions, the code revision and the numerical environment, recorded with every
result.

The numerical environment is what float results depend on beyond the code and the config: torch's version, its
intra-op thread count (the order of a kernel's reductions depends on it), the CPU instruction set its kernels use and
the device. Trials are chaotic enough that it changes them (``docs/findings.md``, "How chaotic are the points?"), and
it is not part of a trial's key; so each result records it (``provenance["numerics"]``) and a sweep refuses to mix
results of different ones (:func:`refuse_mixed_numerics`). Results written before it was recorded are left out of
the comparison.
"""

from __future__ import annotations

import functools
import platform
import subprocess
from collections import Counter
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from acadp.environment import CODE_REVISION
from acadp.errors import MixedNumericsError

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


def numerical_environment(*, threads: int | None = None, device: str = "cpu") -> str:
    """``torch <version>, <n> thread(s), <CPU capability>, <device>`` of this process; ``threads`` (default: torch's
    current intra-op thread count) for a process that is yet to set it."""
    import torch  # not at module level: the command line reads provenance without torch

    count = torch.get_num_threads() if threads is None else threads
    if device.startswith("cuda") and torch.cuda.is_available():
        device = f"cuda {torch.cuda.get_device_name()}"
    plural = "" if count == 1 else "s"
    return f"torch {torch.__version__}, {count} thread{plural}, {torch.backends.cpu.get_cpu_capability()}, {device}"


def refuse_mixed_numerics(numerics: Mapping[str, str], *, where: str, planned: str | None = None) -> None:
    """Raise :class:`MixedNumericsError` (one line) when the results ``numerics`` (trial key → environment) come from
    more than one numerical environment, or from another than ``planned`` (the one that would compute the rest)."""
    groups = Counter(numerics.values())
    if planned is not None and groups and planned not in groups:
        raise MixedNumericsError(
            f"{where}: its {sum(groups.values())} results were computed with "
            + "; ".join(f"{env} ({count})" for env, count in groups.most_common())
            + f", this run would compute the rest with {planned}; results depend on it and the trial key does not "
            "name it, so use the same torch, thread count (resources.cpus) and machine type, or another storage"
        )
    if len(groups) > 1:
        raise MixedNumericsError(
            f"{where}: results from {len(groups)} numerical environments would be mixed ("
            + "; ".join(f"{count} trial{'' if count == 1 else 's'} with {env}" for env, count in groups.most_common())
            + "); recompute one group (delete its trials' result.json and resume) or reduce them apart"
        )
