"""Every environment variable acadp reads or sets, declared once: its name, type, default and what it does.

Code reads a variable through its declaration (``DATA_DIR.get()``), never through ``os.environ`` directly, so this
module is the complete list (the README's "Environment variables" table is generated from the same declarations by
:func:`describe_all`). Variables of Ray and MLflow that acadp reads or sets are declared here too, under their own
names.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class EnvironmentVariable(Generic[T]):
    """One environment variable: ``parse`` turns its text into a value; unset or empty means ``default``."""

    name: str
    parse: Callable[[str], T]
    default: T | None
    doc: str

    def get(self, environ: Mapping[str, str] | None = None) -> T | None:
        """The variable's value in ``environ`` (default: this process's environment), or its default."""
        text = (os.environ if environ is None else environ).get(self.name, "")
        return self.parse(text) if text.strip() else self.default

    def set_default(self) -> None:
        """Set the variable in this process to its default unless the user set it (for the libraries that read
        it)."""
        if self.default is not None:
            os.environ.setdefault(self.name, str(self.default))


VARIABLES: dict[str, EnvironmentVariable[object]] = {}


def _declare(variable: EnvironmentVariable[T]) -> EnvironmentVariable[T]:
    if variable.name in VARIABLES:
        raise ValueError(f"environment variable {variable.name} is declared twice")
    VARIABLES[variable.name] = variable  # type: ignore[assignment]
    return variable


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _text(text: str) -> str:
    return text.strip()


# ------------------------------------------------------------------------------------------------- read by acadp
DATA_DIR = _declare(
    EnvironmentVariable("ACADP_DATA_DIR", _path, None, "dataset cache directory (default ~/.cache/acadp/data)")
)
CODE_REVISION = _declare(
    EnvironmentVariable(
        "ACADP_CODE_REVISION", _text, None, "code revision recorded in provenance where there is no git checkout"
    )
)
INJECT_FAULT = _declare(
    EnvironmentVariable(
        "ACADP_INJECT_FAULT", _text, None, "tests: `<trial key prefix>@<epochs>,…` trials that fail on purpose"
    )
)
RAY_ADDRESS = _declare(
    EnvironmentVariable("RAY_ADDRESS", _text, None, "Ray's: the cluster a sweep joins when --address is not given")
)
RAY_AUTH_TOKEN = _declare(EnvironmentVariable("RAY_AUTH_TOKEN", _text, None, "Ray's: the token `sweep submit` sends"))
RAY_AUTH_TOKEN_PATH = _declare(
    EnvironmentVariable("RAY_AUTH_TOKEN_PATH", _path, None, "Ray's: a file holding that token (else ~/.ray/auth_token)")
)
RAY_AUTH_MODE = _declare(
    EnvironmentVariable("RAY_AUTH_MODE", _text, None, "Ray's: 'disabled' sends no token to the job server")
)
# MLflow's HTTP budget, with acadp's defaults: one call to a dead server costs about 3 s (refused connection: 2
# retries, backoff 1 s) or at most ~30 s (a server that accepts and hangs: 10 s per attempt), instead of MLflow's 7
# retries with backoff factor 2 and 120 s timeouts (minutes per call). The driver sends its values to every trial.
MLFLOW_HTTP_BUDGET: tuple[EnvironmentVariable[str], ...] = (
    _declare(EnvironmentVariable("MLFLOW_HTTP_REQUEST_TIMEOUT", _text, "10", "MLflow's: seconds per HTTP attempt")),
    _declare(EnvironmentVariable("MLFLOW_HTTP_REQUEST_MAX_RETRIES", _text, "2", "MLflow's: HTTP retries per call")),
    _declare(
        EnvironmentVariable("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", _text, "1", "MLflow's: retry backoff (integer s)")
    ),
    _declare(EnvironmentVariable("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", _text, "0.5", "MLflow's: retry jitter (s)")),
)

# ------------------------------------------------------------------------------ set by acadp for its libraries
TUNE_DISABLE_AUTO_CALLBACK_LOGGERS = _declare(
    EnvironmentVariable(
        "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", _text, "1", "Tune's: no per-trial CSV/JSON/TensorBoard files (set)"
    )
)
RAY_AIR_NEW_OUTPUT = _declare(
    EnvironmentVariable("RAY_AIR_NEW_OUTPUT", _text, "0", "Ray's: the classic console output (set)")
)
MLFLOW_LOGGING_LEVEL = _declare(
    EnvironmentVariable("MLFLOW_LOGGING_LEVEL", _text, "WARNING", "MLflow's: no database-creation chatter (set)")
)

# ---------------------------------------------------------------- set by `acadp ui` for the MLflow server it starts
# (unless the user set them): one worker serves one user; the job runner serves GenAI jobs a sweep never submits
MLFLOW_UI_SERVER: tuple[EnvironmentVariable[str], ...] = (
    _declare(EnvironmentVariable("MLFLOW_WORKERS", _text, "1", "MLflow's: worker processes of the UI server (set)")),
    _declare(
        EnvironmentVariable(
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION", _text, "false", "MLflow's: the UI server's job runner (set off)"
        )
    ),
    _declare(
        EnvironmentVariable("MLFLOW_DISABLE_TELEMETRY", _text, "true", "MLflow's: no usage data sent, no banner (set)")
    ),
)


def with_defaults(
    variables: tuple[EnvironmentVariable[str], ...], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A copy of ``environ`` (default: this process's environment) in which each of ``variables`` that is unset or
    empty holds its default: the environment for a child process, leaving the user's own settings as they are."""
    child = dict(os.environ if environ is None else environ)
    for variable in variables:
        if not child.get(variable.name, "").strip() and variable.default is not None:
            child[variable.name] = str(variable.default)
    return child


def describe_all() -> list[tuple[str, str, str]]:
    """(name, default, doc) of every declared variable, in declaration order."""
    return [(v.name, "" if v.default is None else str(v.default), v.doc) for v in VARIABLES.values()]
