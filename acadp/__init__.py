"""acadp — sweeps on Ray for algorithmic collective action under differential privacy."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """``acadp.__version__``, looked up in the installed metadata when first asked for (not on every import)."""
    if name != "__version__":
        raise AttributeError(f"module 'acadp' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("acadp")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"
