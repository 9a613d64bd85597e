"""Submitting a sweep to a Ray cluster as a Ray Job, with Ray's token authentication.

Ray (2.52+) can require a bearer token on its dashboard and job API; 2.60 turns it on for local clusters. Ray's
``JobSubmissionClient`` adds the token only when ``RAY_AUTH_MODE=token`` is set in the submitting process, so acadp
finds the token itself — ``$RAY_AUTH_TOKEN``, the file named by ``$RAY_AUTH_TOKEN_PATH``, else ``~/.ray/auth_token``
(Ray's own order) — and sends it unless ``RAY_AUTH_MODE=disabled``.
"""

from __future__ import annotations

import datetime as dt
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from acadp.environment import RAY_AUTH_MODE, RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH
from acadp.errors import AcadpError, SpecError
from acadp.store.provenance import provenance
from acadp.sweep.plan import SweepPlan

# Never shipped to the cluster with the working directory.
EXCLUDES = [".venv", ".git", "results", "mlruns", "*.egg-info", "__pycache__", ".pytest_cache", ".mypy_cache"]
TERMINAL_STATES = {"SUCCEEDED", "FAILED", "STOPPED"}


class SubmissionError(AcadpError):
    """The job could not be submitted (cluster unreachable, authentication refused, bad working directory)."""


def find_auth_token() -> str | None:
    """The Ray auth token this machine would use, or None."""
    token = RAY_AUTH_TOKEN.get()
    if token:
        return token
    for candidate in (RAY_AUTH_TOKEN_PATH.get(), Path.home() / ".ray" / "auth_token"):
        if candidate is not None and candidate.is_file():
            token = candidate.read_text().strip()
            if token:
                return token
    return None


def auth_headers() -> dict[str, str]:
    """``Authorization: Bearer <token>`` when a token exists and auth is not explicitly disabled."""
    if (RAY_AUTH_MODE.get() or "").lower() == "disabled":
        return {}
    token = find_auth_token()
    return {"Authorization": f"Bearer {token}"} if token else {}


@dataclass(frozen=True)
class SubmittedJob:
    client: Any
    job_id: str
    address: str
    authenticated: bool  # a token was sent (Ray's own CLI then needs RAY_AUTH_MODE=token to send it too)


def _entrypoint(plan: SweepPlan, working_dir: Path, storage: str | None) -> str:
    try:
        spec = plan.spec_path.resolve().relative_to(working_dir.resolve())
    except ValueError:
        raise SpecError(
            f"{plan.spec_path}: the sweep file must lie inside the working directory {working_dir.resolve()} "
            "that is shipped with the job"
        ) from None
    words = ["python", "-m", "acadp", "sweep", "run", spec.as_posix()]
    if plan.smoke:
        words.append("--smoke")
    if storage:
        words += ["--storage", storage]
    if plan.spec.download:  # the job's driver fetches what its cluster lacks (the file's own setting travels too)
        words.append("--download")
    return shlex.join(words)


def _client(address: str, headers: dict[str, str]) -> Any:
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(address, headers=headers)
    except Exception as error:  # connection and HTTP errors come in several types
        raise SubmissionError(_explain(address, error)) from None


def _explain(address: str, error: Exception) -> str:
    text = str(error)
    if "401" in text or "403" in text or "uthenticat" in text:
        return (
            f"{address} refused the request: the cluster requires a Ray auth token. Put the head's token "
            "(`ray get-auth-token` on the head) in ~/.ray/auth_token or $RAY_AUTH_TOKEN"
        )
    return f"cannot reach the Ray job server at {address} ({type(error).__name__}: {text.splitlines()[0][:300]})"


# A head that has just started (or is busy) answers 500 "No available agent to submit job, please try again later"
# until its job agent is up; the submission is retried for this long before the error is reported.
AGENT_WAIT_SECONDS = 60.0


def submit_when_an_agent_is_up(
    client: Any, *, wait: float = AGENT_WAIT_SECONDS, poll_seconds: float = 2.0, **job: Any
) -> str:
    """``client.submit_job(**job)``, retried while the head reports no job agent available (for at most ``wait``
    seconds); any other error, or that one past the wait, is raised as it came."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return str(client.submit_job(**job))
        except Exception as error:
            if "No available agent" not in str(error) or time.monotonic() + poll_seconds > deadline:
                raise
        time.sleep(poll_seconds)


def submit_sweep(plan: SweepPlan, *, address: str, working_dir: Path, storage: str | None) -> SubmittedJob:
    """Submit ``acadp sweep run`` for ``plan`` with ``working_dir`` (the checkout) shipped to the cluster."""
    chosen = storage or plan.spec.storage
    if "://" not in chosen and not Path(chosen).expanduser().is_absolute():
        raise SpecError(
            f"{plan.spec_path}: storage {chosen!r} is relative; a job on a cluster needs storage every node shares "
            "(s3://bucket/prefix or an absolute path on a shared file system): set 'storage' or pass --storage"
        )
    entrypoint = _entrypoint(plan, working_dir, storage)
    headers = auth_headers()
    client = _client(address, headers)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    runtime_env = {
        "working_dir": str(working_dir.resolve()),
        "excludes": EXCLUDES,
        "env_vars": {"ACADP_CODE_REVISION": provenance()["code_revision"]},
    }
    try:
        job_id = submit_when_an_agent_is_up(
            client,
            entrypoint=entrypoint,
            runtime_env=runtime_env,
            submission_id=f"acadp-{plan.name}-{stamp}",
            metadata={"acadp.sweep": plan.name, "acadp.location": plan.location},
        )
    except Exception as error:  # the client raises RuntimeError for HTTP errors, others for transport failures
        raise SubmissionError(_explain(address, error)) from None
    return SubmittedJob(client=client, job_id=job_id, address=address, authenticated=bool(headers))


def follow_job(job: SubmittedJob, out: TextIO, *, poll_seconds: float = 2.0, timeout: float | None = None) -> str:
    """Wait until the job ends, printing its logs at the end; returns the final status name."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        state = str(job.client.get_job_status(job.job_id)).split(".")[-1]
        if state in TERMINAL_STATES:
            out.write(job.client.get_job_logs(job.job_id))
            return state
        if deadline is not None and time.monotonic() > deadline:
            return state
        time.sleep(poll_seconds)
