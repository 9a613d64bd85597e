"""``acadp ui``: the MLflow UI for a sweep's tracking store, bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rich.console import Console

from acadp.errors import SpecError

console = Console(stderr=True)


def tracking_uri_for(spec: Path | None, *, smoke: bool, storage: str | None) -> tuple[str, Path | None]:
    """(tracking URI, local artifact root or None) of a sweep, or of ``./mlflow.db`` without a sweep file."""
    if spec is None:
        return "sqlite:///mlflow.db", None
    from acadp.sweep.plan import plan_sweep

    plan = plan_sweep(spec, smoke=smoke, storage=storage)
    if plan.spec.tracking_uri:
        return plan.spec.tracking_uri, None
    database = Path(plan.location) / "mlflow.db"
    if not database.exists():
        raise SpecError(f"{database}: no MLflow store yet; run the sweep first (`acadp sweep run {spec}`)")
    return plan.tracking_uri, Path(plan.location) / "mlflow-artifacts"


def serve_ui(*, spec: Path | None, smoke: bool, storage: str | None, host: str, port: int, uri: str | None) -> int:
    """Run ``mlflow ui`` in the foreground; returns its exit code."""
    tracking, artifacts = (uri, None) if uri else tracking_uri_for(spec, smoke=smoke, storage=storage)
    if tracking.startswith(("http://", "https://")):
        console.print(f"this sweep logs to a tracking server: open {tracking}", highlight=False)
        return 0
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        tracking,
        "--host",
        host,
        "--port",
        str(port),
    ]
    if artifacts is not None:
        command += ["--default-artifact-root", artifacts.as_uri()]
    console.print(f"MLflow UI for {tracking} on http://{host}:{port} (Ctrl-C stops it)", highlight=False)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0
