"""acadp — sweeps on Ray for algorithmic collective action under differential privacy."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("acadp")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
