"""Running a LiRA audit on Ray: shadows train in parallel, each finished shadow is saved at once, a resumed audit
never retrains a finished shadow, and the attacks run when all logits are in.

Parallelism: the audit's process trains shadows itself (one thread) while ``concurrent_shadows - 1`` Ray actors
train others; inside a Tune trial the actors go into the trial's placement group (bundle 1, 2, …; bundle 0 is the
trial's own), so they never wait for resources other trials hold.
"""

from __future__ import annotations

import io
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import ray
import torch

from acadp.errors import AuditStateError
from acadp.lira.audit import score_audit
from acadp.lira.keep import balanced_keep_matrix, keep_matrix_problem
from acadp.lira.results import AuditResult
from acadp.lira.settings import AuditConfig
from acadp.lira.shadow import prepare_pool, train_shadow
from acadp.runtime import pin_malloc_thresholds
from acadp.store.layout import LAYOUT, AuditLayout
from acadp.store.provenance import provenance
from acadp.store.results import ResultsStore
from acadp.sweep.status import read_result

AXES = ("fpr", "tpr")  # names of the two arrays of a ROC curve in roc.npz ("<attack>/fpr", "<attack>/tpr")


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _load_npy(store: ResultsStore, rel: str) -> np.ndarray:
    return np.load(io.BytesIO(store.read_bytes(rel)), allow_pickle=False)


@dataclass
class ShadowTrainer:
    """Trains shadows of one audit and saves each one's logits (used in-process and inside Ray actors)."""

    audit: AuditConfig
    store: ResultsStore
    data_dir: Path | None
    device: str
    threads: int

    def __post_init__(self) -> None:
        pin_malloc_thresholds()
        self.pool = prepare_pool(self.audit, data_dir=self.data_dir)
        self.paths = LAYOUT.audit(self.audit.key())

    def train(self, index: int, keep_row: np.ndarray) -> int:
        torch.set_num_threads(self.threads)
        started = time.perf_counter()
        logits = train_shadow(self.audit, self.pool, index=index, keep_row=keep_row, device=torch.device(self.device))
        self.store.write_bytes(self.paths.shadow_logits(index), _npy_bytes(logits))
        meta = {"index": index, "seconds": time.perf_counter() - started, "n_train": int(keep_row.sum())}
        self.store.write_json(self.paths.shadow_meta(index), meta)  # written last: the shadow is complete
        return index


@ray.remote
class ShadowActor:
    """A Ray actor holding a :class:`ShadowTrainer` (the audit pool is prepared once per actor)."""

    def __init__(self, audit: dict[str, Any], store: str, data_dir: str | None, device: str, threads: int) -> None:
        self.trainer = ShadowTrainer(
            AuditConfig.model_validate(audit), ResultsStore(store), Path(data_dir) if data_dir else None, device,
            threads,
        )  # fmt: skip

    def train(self, index: int, keep_row: np.ndarray) -> int:
        return self.trainer.train(index, keep_row)


def inconsistent_audit(store: ResultsStore, paths: AuditLayout, problem: str) -> AuditStateError:
    """The error of an audit whose saved files do not fit its settings: resuming it would label shadows' training
    examples IN/OUT by a matrix they were not trained under."""
    where = f"{store.uri}/{paths.root}/"
    return AuditStateError(
        f"LiRA audit {where} is inconsistent: {problem}. Its saved shadows cannot be reused (their IN/OUT labels "
        f"would be wrong); start the audit afresh: delete the audit directory {where} and run it again"
    )


def _saved_keep(audit: AuditConfig, store: ResultsStore, paths: AuditLayout, n_pool: int) -> np.ndarray:
    try:
        keep = _load_npy(store, paths.keep)
    except (ValueError, OSError, EOFError) as error:  # not a .npy file, cut short, or holding objects
        raise inconsistent_audit(store, paths, f"{paths.keep} cannot be read ({error})") from None
    lira = audit.lira
    problem = keep_matrix_problem(keep, n_models=lira.shadows, n_examples=n_pool, pkeep=lira.pkeep)
    if problem is not None:
        raise inconsistent_audit(store, paths, f"{paths.keep} does not fit the audit's settings: {problem}")
    return keep


def _check_finished_shadows(audit: AuditConfig, store: ResultsStore, paths: AuditLayout, keep: np.ndarray) -> None:
    """Each finished shadow must have trained on as many examples as its keep row marks."""
    for index in range(audit.lira.shadows):
        if not store.exists(paths.shadow_meta(index)):
            continue
        trained_on = store.read_json(paths.shadow_meta(index)).get("n_train")
        if trained_on != int(keep[index].sum()):
            raise inconsistent_audit(
                store, paths, f"shadow {index} trained on {trained_on} examples, but its row of {paths.keep} marks "
                f"{int(keep[index].sum())}",
            )  # fmt: skip


def load_or_draw_keep(audit: AuditConfig, store: ResultsStore, paths: AuditLayout, n_pool: int) -> np.ndarray:
    """The audit's keep matrix (n_shadows, n_pool) bool: drawn once from the audit seed and saved before any shadow
    trains, then reused. Raises :class:`AuditStateError` when a saved matrix does not fit the audit's settings
    (number of shadows, pool size, pkeep) or the shadows already trained (never redrawn under them)."""
    if store.exists(paths.keep):
        keep = _saved_keep(audit, store, paths, n_pool)
    else:
        lira = audit.lira
        keep = balanced_keep_matrix(n_models=lira.shadows, n_examples=n_pool, pkeep=lira.pkeep, seed=lira.seed)
    _check_finished_shadows(audit, store, paths, keep)
    if not store.exists(paths.keep):
        store.write_bytes(paths.keep, _npy_bytes(keep))
    return keep


def _shadow_logits(audit: AuditConfig, store: ResultsStore, paths: AuditLayout, n_pool: int) -> np.ndarray:
    """Every shadow's saved logits, stacked: (n_shadows, n_pool, n_queries, n_classes)."""
    logits = [_load_npy(store, paths.shadow_logits(i)) for i in range(audit.lira.shadows)]
    expected = (n_pool, len(audit.lira.queries))
    for index, array in enumerate(logits):
        if array.ndim != 3 or array.shape[:2] != expected or array.shape != logits[0].shape:
            raise inconsistent_audit(
                store, paths, f"{paths.shadow_logits(index)} has shape {array.shape}, but the audit expects "
                f"(pool {n_pool}, queries {len(audit.lira.queries)}, classes) like shadow 0's {logits[0].shape}",
            )  # fmt: skip
    return np.stack(logits)


ShadowDone = Callable[[int], None]


def _actor_options(audit: AuditConfig, bundle: int, placement_group: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"num_cpus": audit.lira.cpus_per_shadow, "num_gpus": audit.lira.gpus_per_shadow}
    if placement_group is not None:
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
            placement_group=placement_group, placement_group_bundle_index=bundle
        )
    return options


class _Scheduler:
    """Hands shadow indices to the local trainer thread and to remote actors until none are left."""

    def __init__(self, todo: list[int], keep: np.ndarray, on_done: ShadowDone | None) -> None:
        self.jobs: queue.Queue[int] = queue.Queue()
        for index in todo:
            self.jobs.put(index)
        self.keep, self.on_done = keep, on_done
        self.errors: list[BaseException] = []

    def next_job(self) -> int | None:
        if self.errors:
            return None
        try:
            return self.jobs.get_nowait()
        except queue.Empty:
            return None

    def local(self, trainer: ShadowTrainer) -> None:
        try:
            while (index := self.next_job()) is not None:
                self._done(trainer.train(index, self.keep[index]))
        except BaseException as error:  # re-raised by the coordinator once the actors stopped
            self.errors.append(error)

    def remote(self, actors: list[Any]) -> None:
        running: dict[Any, Any] = {}
        for actor in actors:
            self._submit(actor, running)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            actor = running.pop(ready[0])
            try:
                self._done(ray.get(ready[0]))
            except Exception as error:
                self.errors.append(error)
            self._submit(actor, running)

    def _submit(self, actor: Any, running: dict[Any, Any]) -> None:
        index = self.next_job()
        if index is not None:
            running[actor.train.remote(index, self.keep[index])] = actor

    def _done(self, index: int) -> None:
        if self.on_done is not None:
            self.on_done(index)


def train_shadows(
    audit: AuditConfig,
    *,
    store: ResultsStore,
    data_dir: Path | None,
    device: str,
    placement_group: Any = None,
    on_shadow: ShadowDone | None = None,
) -> np.ndarray:
    """Train every shadow not yet saved; return all logits (n_shadows, n_pool, n_queries, n_classes)."""
    paths = LAYOUT.audit(audit.key())
    threads = max(1, int(audit.lira.cpus_per_shadow))
    local = ShadowTrainer(audit, store, data_dir, device, threads)
    keep = load_or_draw_keep(audit, store, paths, local.pool.planted.y.shape[0])
    todo = [i for i in range(audit.lira.shadows) if not store.exists(paths.shadow_meta(i))]
    n_actors = min(audit.lira.concurrent_shadows - 1, max(0, len(todo) - 1))
    scheduler = _Scheduler(todo, keep, on_shadow)
    actors = [
        ShadowActor.options(**_actor_options(audit, bundle + 1, placement_group)).remote(  # type: ignore[attr-defined]
            audit.plain(), store.uri, str(data_dir) if data_dir else None, device, threads
        )
        for bundle in range(n_actors)
    ]
    worker = threading.Thread(target=scheduler.local, args=(local,), name="acadp-local-shadows")
    worker.start()
    try:
        scheduler.remote(actors)
    finally:
        worker.join()
        for actor in actors:
            ray.kill(actor)
    if scheduler.errors:
        raise scheduler.errors[0]
    return _shadow_logits(audit, store, paths, keep.shape[1])


def run_audit(
    audit: AuditConfig,
    *,
    store: ResultsStore,
    data_dir: Path | None = None,
    device: str = "cpu",
    placement_group: Any = None,
    on_shadow: ShadowDone | None = None,
) -> dict[str, Any]:
    """Run (or finish, or only rescore) one audit; returns its ``result.json`` record (an :class:`AuditResult` as
    strict JSON). A saved result with other attacks, or an unreadable one, is replaced by rescoring the shadows.
    Raises :class:`AuditStateError` when files saved by an earlier run do not fit the audit (see
    :func:`load_or_draw_keep`)."""
    paths = LAYOUT.audit(audit.key())
    existing = read_result(store, paths.result, AuditResult).value
    if existing is not None and existing.audit.lira.attacks == audit.lira.attacks:
        return dict(existing.plain())
    started = time.perf_counter()
    store.write_json(paths.config, audit.plain())
    logits = train_shadows(
        audit, store=store, data_dir=data_dir, device=device, placement_group=placement_group, on_shadow=on_shadow
    )
    pool = prepare_pool(audit, data_dir=data_dir)
    keep = _load_npy(store, paths.keep)
    report = score_audit(
        logits=logits,
        labels=pool.planted.y,
        keep=keep,
        collective=pool.planted.members,
        attacks=audit.lira.attacks,
        delta=audit.trial.delta,
        confidence=audit.lira.confidence,
    )
    roc = {f"{attack}/{axis}": curve[i] for attack, curve in report.roc_curves.items() for i, axis in enumerate(AXES)}
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **roc)
    store.write_bytes(paths.roc, buffer.getvalue())
    result = AuditResult.of(
        audit, report.rows, n_pool=int(keep.shape[1]), n_collective=int(pool.planted.members.sum()),
        seconds=time.perf_counter() - started, provenance=provenance(),
    )  # fmt: skip
    record = dict(result.plain())
    store.write_json(paths.result, record)
    return record
