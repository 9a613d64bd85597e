"""A sweep file resolved for one invocation: the spec, the grid's trial configs and the results store."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acadp.config.sweep import SweepSpec, load_spec
from acadp.config.trial import TrialConfig
from acadp.errors import SpecError
from acadp.store.layout import LAYOUT, sweep_dir_name, sweep_location
from acadp.store.results import ResultsStore
from acadp.sweep.invocation import Invocation, Verb


@dataclass(frozen=True)
class SweepPlan:
    """Everything a sweep command needs, computed before anything is created on disk."""

    spec: SweepSpec
    spec_path: Path
    smoke: bool
    location: str  # the sweep directory: a local path or a URI
    configs: tuple[TrialConfig, ...]
    invocation: Invocation  # the command as typed: every hint is that command with another verb

    def command(self, verb: Verb) -> str:
        """The command that does ``verb`` to this sweep, with the user's own flags (:class:`Invocation`)."""
        return self.invocation.command(verb)

    def invoked_with(self, *, address: str | None, reduce: bool) -> SweepPlan:
        """This plan with the flags of ``sweep run``/``resume`` that do not change it, for the hints."""
        return dataclasses.replace(
            self, invocation=dataclasses.replace(self.invocation, address=address, reduce=reduce)
        )

    @property
    def name(self) -> str:
        """The sweep's name as used for its directory and MLflow experiment (``<name>-smoke`` for smoke runs)."""
        return sweep_dir_name(self.spec.name, smoke=self.smoke)

    def open_store(self) -> ResultsStore:
        return ResultsStore(self.location)

    @property
    def is_local(self) -> bool:
        return "://" not in self.location or self.location.startswith("file://")

    @property
    def tracking_uri(self) -> str:
        """The spec's tracking URI, or a SQLite database inside the sweep directory."""
        from acadp.sweep.tracking import default_tracking_uri  # imports mlflow (a second of start-up): only here

        if self.spec.tracking_uri:
            return self.spec.tracking_uri
        return default_tracking_uri(Path(self.location.removeprefix("file://")))

    @property
    def data_dir(self) -> Path | None:
        return Path(self.spec.data_dir).expanduser() if self.spec.data_dir else None


def _resolve_storage(storage: str) -> str:
    if "://" in storage:
        return storage.rstrip("/")
    return str(Path(storage).expanduser().resolve())


def plan_sweep(
    spec_path: Path | str,
    *,
    smoke: bool = False,
    storage: str | None = None,
    tracking_uri: str | None = None,
    download: bool = False,
) -> SweepPlan:
    """Load and validate ``spec_path`` (raising :class:`SpecError`) and expand its grid; creates nothing.

    ``storage`` and ``tracking_uri`` override the sweep file's values (e.g. to try a cluster sweep file locally);
    ``download`` turns the file's ``download`` on (``--download``)."""
    overrides: dict[str, Any] = {}
    if storage is not None:
        overrides["storage"] = storage
    if tracking_uri is not None:
        overrides["tracking_uri"] = tracking_uri
    if download:
        overrides["download"] = True
    spec = load_spec(spec_path, overrides=overrides)
    _refuse_unauditable_one_runs(spec, spec_path)
    root = _resolve_storage(spec.storage)
    plan = SweepPlan(
        spec=spec,
        spec_path=Path(spec_path),
        smoke=smoke,
        location=sweep_location(root, spec.name, smoke=smoke),
        configs=tuple(spec.trial_configs(smoke=smoke)),
        invocation=Invocation(spec=Path(spec_path), smoke=smoke, storage=storage, download=download),
    )
    return replan(plan, plan.open_store()) if spec.grid.search is not None and not smoke else plan


def _refuse_unauditable_one_runs(spec: SweepSpec, spec_path: Path | str) -> None:
    """A :class:`SpecError` naming the field when a ``one_run:`` point can give no ε bound, in the full or the smoke
    run (checked here, not at load: the check needs the bound's arithmetic, which the configuration layer does not
    import)."""
    if spec.one_run is None:
        return
    from acadp.lira.one_run_checks import one_run_problem

    for smoke in (False, True):
        for config in spec.one_run_configs(smoke=smoke):
            problem = one_run_problem(config)
            if problem is not None:
                suffix = " (in the smoke run: one_run.smoke)" if smoke else ""
                raise SpecError(f"{spec_path}: {problem}{suffix}")


def replan(plan: SweepPlan, store: ResultsStore) -> SweepPlan:
    """A searched sweep's plan with every point the store knows (the grid of a search is only the bracket's ends)."""
    from acadp.sweep.search import searched_configs

    search = plan.spec.grid.search
    if search is None or plan.smoke:
        return plan
    ends = plan.spec.trial_configs(smoke=False)
    return dataclasses.replace(plan, configs=tuple(searched_configs(store, search, ends)))


def write_spec_files(plan: SweepPlan, store: ResultsStore) -> None:
    """Keep the sweep file as submitted and the resolved spec (defaults filled in) next to the results."""
    store.write_bytes(LAYOUT.sweep_file, plan.spec_path.read_bytes())
    resolved = {
        "spec": plan.spec.plain(),
        "smoke": plan.smoke,
        "trials": [config.key() for config in plan.configs],
    }
    store.write_bytes(LAYOUT.spec, (json.dumps(resolved, indent=2, sort_keys=True) + "\n").encode())


def require_existing(plan: SweepPlan, store: ResultsStore) -> None:
    """Raise a clear error when a command that reads a sweep finds no sweep directory."""
    if not store.exists(""):
        raise SpecError(f"{plan.location}: {not_started(plan)}")


def not_started(plan: SweepPlan) -> str:
    """What to say about a sweep that has no results yet (its directory does not exist)."""
    return f"no results for sweep {plan.name!r} yet; start it with `{plan.command('sweep run')}`"
