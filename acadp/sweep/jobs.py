"""What the driver hands to a Tune trial: one typed job — a grid trial, a LiRA audit or a one-run audit — with what
every job of the invocation shares (the store, the invocation, tracking, resources, the σ table).

A job crosses the process boundary as plain JSON data (:meth:`Job.plain`, the Tune config's ``acadp`` entry) and is
validated again where it arrives (:func:`parse_job`), so a worker never acts on a half-understood dict.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from acadp.config.base import FrozenModel
from acadp.config.lira import AuditConfig
from acadp.config.one_run import OneRunConfig
from acadp.config.trial import TrialConfig
from acadp.learners.noise import NoiseTable
from acadp.store.layout import LAYOUT, JobLayout

ShadowPlacement = Literal["pack", "spread"]


class JobRuntime(FrozenModel):
    """What every job of one driver invocation shares."""

    store: str
    invocation: str
    tracking_uri: str | None = None
    experiment_id: str | None = None
    parent_run_id: str | None = None  # None with a tracking_uri: MLflow was down when the driver started
    # MLflow's HTTP timeouts and retries (MLFLOW_HTTP_REQUEST_* variables), as the driver resolved them
    tracking_env: dict[str, str] = Field(default_factory=dict)
    data_dir: str | None = None
    threads: int = 1
    cpus: float = 1.0
    gpus: float = 0.0
    shadow_placement: ShadowPlacement = "pack"
    # σ of every DP setting of the sweep, computed once by the driver's preflight
    noise: NoiseTable = NoiseTable()

    def runtime(self) -> JobRuntime:
        """The shared part alone (to build another job of the same invocation)."""
        return JobRuntime.model_validate(self.model_dump(include=set(JobRuntime.model_fields)))


class TrialJob(JobRuntime):
    """One grid point."""

    kind: Literal["trial"] = "trial"
    trial: TrialConfig

    @property
    def paths(self) -> JobLayout:
        return LAYOUT.trial(self.trial.key())

    @property
    def label(self) -> str:
        return self.trial.label()


class AuditJob(JobRuntime):
    """One LiRA audit (its shadows train in the job's placement group)."""

    kind: Literal["audit"] = "audit"
    audit: AuditConfig

    @property
    def paths(self) -> JobLayout:
        return LAYOUT.audit(self.audit.key())

    @property
    def label(self) -> str:
        return f"LiRA audit of {self.audit.trial.label()}"


class OneRunJob(JobRuntime):
    """One one-run audit (one training run in the job's slot)."""

    kind: Literal["one_run"] = "one_run"
    one_run: OneRunConfig

    @property
    def paths(self) -> JobLayout:
        return LAYOUT.one_run(self.one_run.key())

    @property
    def label(self) -> str:
        return self.one_run.label()


Job = Annotated[TrialJob | AuditJob | OneRunJob, Field(discriminator="kind")]
_JOB: TypeAdapter[TrialJob | AuditJob | OneRunJob] = TypeAdapter(Job)


def parse_job(data: Any) -> TrialJob | AuditJob | OneRunJob:
    """A job from the plain data a Tune config carries (raises pydantic's ``ValidationError`` on anything else)."""
    return _JOB.validate_python(data)


def job_for(runtime: JobRuntime, work: TrialConfig | AuditConfig | OneRunConfig) -> TrialJob | AuditJob | OneRunJob:
    """The job that runs ``work`` in ``runtime``."""
    shared = runtime.model_dump(include=set(JobRuntime.model_fields))
    if isinstance(work, AuditConfig):
        return AuditJob.model_validate({**shared, "audit": work})
    if isinstance(work, OneRunConfig):
        return OneRunJob.model_validate({**shared, "one_run": work})
    return TrialJob.model_validate({**shared, "trial": work})
