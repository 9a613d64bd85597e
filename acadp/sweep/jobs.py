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


class _Job(JobRuntime):
    """A job: its ``kind`` names the field that holds its work and the store folder it writes (``LAYOUT.<kind>``)."""

    @property
    def work(self) -> TrialConfig | AuditConfig | OneRunConfig:
        work: TrialConfig | AuditConfig | OneRunConfig = getattr(self, self.kind)  # type: ignore[attr-defined]
        return work

    @property
    def paths(self) -> JobLayout:
        """The job's folder in the store (config, result, error, attempts)."""
        layout: JobLayout = getattr(LAYOUT, self.kind)(self.work.key())  # type: ignore[attr-defined]
        return layout

    @property
    def label(self) -> str:
        return self.work.label()


class TrialJob(_Job):
    """One grid point."""

    kind: Literal["trial"] = "trial"
    trial: TrialConfig


class AuditJob(_Job):
    """One LiRA audit (its shadows train in the job's placement group)."""

    kind: Literal["audit"] = "audit"
    audit: AuditConfig


class OneRunJob(_Job):
    """One one-run audit (one training run in the job's slot)."""

    kind: Literal["one_run"] = "one_run"
    one_run: OneRunConfig


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
