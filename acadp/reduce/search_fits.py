"""A dose-response search's fit states, kept in the results store so that reading a search (``acadp sweep status``,
a resumed driver) does not refit every round's bootstrap.

A fit state — alpha* and its bootstrap CI per threshold (:func:`acadp.reduce.search_dose.fit_state`) — is a pure
function of the completed trials it was fitted to, of the fit's settings and of the code and libraries that fit it.
Those *inputs* name the file (``search/fits/<digest>.json``, the digest a hash of them) and are repeated inside it:
a file is used only when the inputs it records equal the current ones, so a file written for other trials, by other
fitting code or other library versions, or edited, is ignored (and replaced by the refitted state). Floats are kept
as ``float.hex`` strings, so a state read back is bit-identical to the one a refit gives: the cache never changes a
search's decisions or its alpha*.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from acadp.errors import StoreError
from acadp.store.layout import LAYOUT

if TYPE_CHECKING:
    from acadp.store.results import ResultsStore

FitState = tuple[tuple[float, ...], tuple[tuple[float, float], ...]]  # (alpha* per S*, (CI low, CI high) per S*)
FitInputs = Mapping[str, Any]  # JSON data: the trials, the fit's settings, :func:`fit_code`

# the modules whose code computes a fit state, and the libraries whose versions can change one
FIT_MODULES = ("search_dose.py", "dose_response.py")
FIT_LIBRARIES = ("numpy", "scikit-learn")


class FitCache(Protocol):
    """Where fit states are kept: ``load`` gives the state recorded for exactly ``inputs`` (else None)."""

    def load(self, inputs: FitInputs) -> FitState | None: ...

    def save(self, inputs: FitInputs, state: FitState) -> None: ...


@functools.cache
def fit_code() -> str | None:
    """A hash of the source of :data:`FIT_MODULES` and the installed versions of :data:`FIT_LIBRARIES`: a fit state
    recorded under another value was computed by other code and is not reused. None when the source cannot be read
    (an installation without ``.py`` files): then nothing is cached."""
    digest = hashlib.sha256()
    for name in FIT_MODULES:
        try:
            digest.update(Path(__file__).with_name(name).read_bytes())
        except OSError:
            return None
    for library in FIT_LIBRARIES:
        try:
            digest.update(f"{library}=={version(library)}".encode())
        except PackageNotFoundError:
            digest.update(f"{library} missing".encode())
    return digest.hexdigest()


def digest_of(inputs: FitInputs) -> str:
    """The file name of ``inputs``' state: a hash of their canonical JSON."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:40]


def _plain(state: FitState) -> dict[str, Any]:
    stars, intervals = state
    return {"stars": [star.hex() for star in stars], "intervals": [[low.hex(), high.hex()] for low, high in intervals]}


def _state(data: Any, *, n: int) -> FitState | None:
    """The state in ``data`` (as :func:`_plain` wrote it) with ``n`` thresholds; None when it is not one."""
    try:
        stars = tuple(float.fromhex(star) for star in data["stars"])
        intervals = tuple((float.fromhex(low), float.fromhex(high)) for low, high in data["intervals"])
    except (KeyError, TypeError, ValueError):
        return None
    return (stars, intervals) if len(stars) == len(intervals) == n else None


@dataclass(frozen=True)
class StoredFits:
    """Fit states in ``store`` (:meth:`acadp.store.layout.SweepLayout.search_fit`). A state that cannot be read is
    refitted; one that cannot be written (a read-only store) is simply not kept."""

    store: ResultsStore

    def load(self, inputs: FitInputs) -> FitState | None:
        rel = LAYOUT.search_fit(digest_of(inputs))
        try:
            if not self.store.exists(rel):
                return None
            payload = self.store.read_json(rel)
        except (StoreError, ValueError):  # ValueError: not UTF-8 or not JSON
            return None
        if not isinstance(payload, dict) or payload.get("inputs") != json.loads(json.dumps(inputs)):
            return None  # recorded for other trials, settings or code
        return _state(payload.get("state"), n=len(inputs["thresholds"]))

    def save(self, inputs: FitInputs, state: FitState) -> None:
        payload = {"inputs": dict(inputs), "state": _plain(state)}
        try:
            self.store.write_json(LAYOUT.search_fit(digest_of(inputs)), payload)
        except (StoreError, OSError):
            return
