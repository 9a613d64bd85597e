"""Running a LiRA audit on Ray: shadows train in parallel, each finished shadow is saved at once, a resumed audit
never retrains a finished shadow, and the attacks run when all logits are in. The audit folder is portable: the keep
matrix, the pool's labels and member masks are saved before any shadow trains, next to each shadow's logits, so that
another tool can re-score it (layout: :class:`acadp.store.layout.AuditLayout`).

Parallelism: the audit's process trains shadows itself (one thread) while ``concurrent_shadows - 1`` Ray actors
train others; inside a Tune trial the actors go into the trial's placement group (bundle 1, 2, …; bundle 0 is the
trial's own), so they never wait for resources other trials hold.

Lost actors: an actor that dies (its node was lost or pre-empted) hands its shadow back; the remaining trainers, the
audit's own thread at least, train it again from scratch. Shadows already saved are kept. Each shadow's ``meta.json``
names the Ray node that trained it.

Clean twins: a variant fitted on clean shadows (``shadows: clean``) reads the shadows of the audit's clean twin, the
same point at α = 0 (:meth:`acadp.config.lira.AuditConfig.clean_twin`: same pool, keep matrix and shadow seeds). In
a sweep that audits α = 0 too, the twin is that audit, run first; whatever shadows of it are missing when the audit
needs them are trained here, into the twin's own folder, so they are trained once either way (two jobs that reach a
missing shadow at the same moment both train it and write the same files).
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

from acadp.config.lira import AuditConfig
from acadp.lira.audit import AuditReport, AuditViews, score_variants
from acadp.lira.results import AuditResult
from acadp.lira.shadow import prepare_pool, stream_seed, train_shadow
from acadp.runtime import pin_malloc_thresholds
from acadp.store.layout import LAYOUT, AuditLayout
from acadp.store.provenance import provenance
from acadp.store.results import ResultsStore
from acadp.sweep.audit_files import (
    inconsistent_audit,
    load_npy,
    load_or_draw_keep,
    npy_bytes,
    pool_arrays,
    save_or_check_pool,
    saved_logits,
    shadow_regime,
)
from acadp.sweep.failures import current_node_id
from acadp.sweep.status import read_result

__all__ = ["ShadowTrainer", "load_or_draw_keep", "run_audit", "save_or_check_pool", "train_shadows"]

AXES = ("fpr", "tpr")  # names of the two arrays of a ROC curve in roc.npz ("<attack>/fpr", "<attack>/tpr")


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
        """Train shadow ``index`` on the pool rows ``keep_row`` marks; save its logits, then its ``meta.json`` (its
        :class:`ShadowStats`, time and node; written last, so a shadow is complete only once all is saved)."""
        torch.set_num_threads(self.threads)
        started = time.perf_counter()
        shadow = train_shadow(self.audit, self.pool, index=index, keep_row=keep_row, device=torch.device(self.device))
        self.store.write_bytes(self.paths.shadow_logits(index), npy_bytes(shadow.logits))
        if shadow.signal_logits is not None:
            self.store.write_bytes(self.paths.shadow_signal_logits(index), npy_bytes(shadow.signal_logits))
        # the ShadowStats fields (n_train among them) flat beside the record's own
        meta = {
            **shadow.stats.plain(), "index": index, "seconds": time.perf_counter() - started,
            "node_id": current_node_id(),
        }  # fmt: skip
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
        self.lost: list[int] = []  # shadows whose actor died before saving them: trained again

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
        """Keep every actor busy until no shadow is left; a dead actor's shadow goes back to the queue and the
        actor leaves the pool (the others, and the local thread, take its work)."""
        running: dict[Any, tuple[Any, int]] = {}
        for actor in actors:
            self._submit(actor, running)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            actor, index = running.pop(ready[0])
            try:
                self._done(ray.get(ready[0]))
            except ray.exceptions.RayActorError:
                self.lost.append(index)
                self.jobs.put(index)
                continue
            except Exception as error:
                self.errors.append(error)
            self._submit(actor, running)

    def _submit(self, actor: Any, running: dict[Any, tuple[Any, int]]) -> None:
        index = self.next_job()
        if index is not None:
            running[actor.train.remote(index, self.keep[index])] = (actor, index)

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
    scheduler.local(local)  # shadows handed back by actors that died after the local thread had finished
    if scheduler.lost:
        earlier = store.read_json(paths.lost_shadows) if store.exists(paths.lost_shadows) else []
        store.write_json(paths.lost_shadows, [*earlier, *scheduler.lost])
    if scheduler.errors:
        raise scheduler.errors[0]
    return saved_logits(audit, store, keep.shape[1])


def _clean_logits(
    audit: AuditConfig, keep: np.ndarray, *, store: ResultsStore, data_dir: Path | None, device: str,
    placement_group: Any,
) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """The clean twin's logits as trained and on g(x) (module docstring), its missing shadows trained first; None
    when no variant fits on clean shadows or the audit has no twin. Raises :class:`AuditStateError` when the twin's
    keep matrix is not the audit's (its shadows would not be the audited models' twins)."""
    twin = audit.clean_twin()
    if twin is None or all(variant.shadows != "clean" for variant in audit.lira.variants):
        return None
    paths = LAYOUT.audit(twin.key())
    pool = prepare_pool(twin, data_dir=data_dir)
    store.write_json(paths.config, twin.plain())
    save_or_check_pool(twin, store, paths, pool)
    logits = train_shadows(twin, store=store, data_dir=data_dir, device=device, placement_group=placement_group)
    if not np.array_equal(load_npy(store, paths.keep), keep):
        raise inconsistent_audit(store, paths, f"its {paths.keep} is not the keep matrix of audit {audit.key()}")
    return logits, saved_logits(twin, store, keep.shape[1], signal=True)


def audit_views(
    audit: AuditConfig, logits: np.ndarray, arrays: dict[str, np.ndarray], clean: tuple[np.ndarray, np.ndarray] | None,
    *, store: ResultsStore,
) -> AuditViews:  # fmt: skip
    """What the audit's variants are scored from: its ``logits``, the pool ``arrays`` (:func:`pool_arrays`), its
    logits on g(x) when saved, and the ``clean`` twin's (the audit's own at α = 0)."""
    paths = LAYOUT.audit(audit.key())
    labels = arrays[paths.labels]
    signal = saved_logits(audit, store, labels.shape[0], signal=True) if audit.lira.signal_view else None
    if audit.trial.alpha == 0.0:
        clean = (logits, signal) if signal is not None else None
    return AuditViews(
        logits=logits, labels=labels, original_labels=arrays.get(paths.original_labels, labels),
        planted=arrays.get(paths.planted, np.zeros(labels.shape, dtype=bool)), signal=signal,
        clean=None if clean is None else clean[0], clean_signal=None if clean is None else clean[1],
    )  # fmt: skip


def _score_and_save_roc(
    audit: AuditConfig, store: ResultsStore, paths: AuditLayout, *, views: AuditViews, keep: np.ndarray,
    arrays: dict[str, np.ndarray],
) -> AuditReport:  # fmt: skip
    """Score every variant of the audit from ``views`` against ``keep`` and the pool ``arrays`` (:func:`pool_arrays`:
    the very arrays the audit folder holds) and save the pooled ROC curves in ``roc.npz``."""
    report = score_variants(
        views, keep=keep, collective=arrays[paths.collective], attacks=audit.lira.attacks,
        variants=audit.lira.variants, delta=audit.trial.delta, confidence=audit.lira.confidence,
        placebo=arrays.get(paths.placebo), seed=stream_seed(audit),
    )  # fmt: skip
    roc = {f"{attack}/{axis}": curve[i] for attack, curve in report.roc_curves.items() for i, axis in enumerate(AXES)}
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **roc)
    store.write_bytes(paths.roc, buffer.getvalue())
    return report


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
    strict JSON). A saved result scored otherwise (``LiraSettings.scoring``), or an unreadable one, is replaced by
    rescoring the shadows. Variants fitted on clean shadows first finish the clean twin's shadows (module docstring).
    Raises :class:`AuditStateError` when files saved by an earlier run do not fit the audit (see
    :func:`load_or_draw_keep` and :func:`save_or_check_pool`)."""
    paths = LAYOUT.audit(audit.key())
    existing = read_result(store, paths.result, AuditResult).value
    if existing is not None and existing.audit.lira.scoring() == audit.lira.scoring():
        return dict(existing.plain())
    started = time.perf_counter()
    pool = prepare_pool(audit, data_dir=data_dir)  # refuses a pool the dataset cannot fill before writing anything
    store.write_json(paths.config, audit.plain())
    save_or_check_pool(audit, store, paths, pool)
    logits = train_shadows(
        audit, store=store, data_dir=data_dir, device=device, placement_group=placement_group, on_shadow=on_shadow
    )
    keep = load_npy(store, paths.keep)
    clean = _clean_logits(audit, keep, store=store, data_dir=data_dir, device=device, placement_group=placement_group)
    arrays = pool_arrays(audit, pool)
    views = audit_views(audit, logits, arrays, clean, store=store)
    report = _score_and_save_roc(audit, store, paths, views=views, keep=keep, arrays=arrays)
    result = AuditResult.of(
        audit, report.rows, n_pool=int(keep.shape[1]), n_collective=int(pool.planted.members.sum()),
        seconds=time.perf_counter() - started, provenance={**provenance(), **pool.dataset.provenance()},
        shadow_regime=shadow_regime(audit, store, paths),
    )  # fmt: skip
    record = dict(result.plain())
    store.write_json(paths.result, record)
    return record
