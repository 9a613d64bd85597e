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
from acadp.errors import AuditStateError
from acadp.lira.audit import AuditReport, score_audit
from acadp.lira.keep import balanced_keep_matrix, keep_matrix_problem
from acadp.lira.results import AuditResult, ShadowRegime, ShadowStats
from acadp.lira.shadow import prepare_pool, train_shadow
from acadp.lira.subsets import placebo_members
from acadp.runtime import pin_malloc_thresholds
from acadp.store.layout import LAYOUT, AuditLayout
from acadp.store.provenance import provenance
from acadp.store.results import ResultsStore
from acadp.sweep.failures import current_node_id
from acadp.sweep.status import read_result
from acadp.trial.data import TrialData

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
        """Train shadow ``index`` on the pool rows ``keep_row`` marks; save its logits, then its ``meta.json`` (its
        :class:`ShadowStats`, time and node; written last, so a shadow is complete only once all is saved)."""
        torch.set_num_threads(self.threads)
        started = time.perf_counter()
        shadow = train_shadow(self.audit, self.pool, index=index, keep_row=keep_row, device=torch.device(self.device))
        self.store.write_bytes(self.paths.shadow_logits(index), _npy_bytes(shadow.logits))
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


def pool_arrays(audit: AuditConfig, pool: TrialData) -> dict[str, np.ndarray]:
    """File name in the audit folder → what the shadows trained on besides the keep matrix: ``labels.npy`` (n_pool,)
    int64 the labels as trained (after the collective relabelled its members), ``collective.npy`` (n_pool,) bool the
    collective's members, and, for an audit with a placebo subset, ``placebo.npy`` (n_pool,) bool."""
    paths = LAYOUT.audit(audit.key())
    arrays = {
        paths.labels: np.asarray(pool.planted.y, dtype=np.int64),
        paths.collective: np.asarray(pool.planted.members, dtype=bool),
    }
    placebo = placebo_members(audit, n_pool=int(pool.planted.y.shape[0]))
    if placebo is not None:
        arrays[paths.placebo] = placebo
    return arrays


def _array_problem(saved: np.ndarray, expected: np.ndarray) -> str | None:
    """How ``saved`` differs from ``expected`` (dtype, shape or values); None when it does not."""
    if saved.dtype != expected.dtype or saved.shape != expected.shape:
        return f"it holds {saved.dtype} {saved.shape}, not {expected.dtype} {expected.shape}"
    differ = np.flatnonzero(saved != expected)
    if differ.size:
        return f"{differ.size} entries (e.g. pool index {int(differ[0])}) differ from the audit's pool"
    return None


def save_or_check_pool(audit: AuditConfig, store: ResultsStore, paths: AuditLayout, pool: TrialData) -> None:
    """Save the pool's labels, collective (and placebo) masks before any shadow trains, so that the audit folder can
    be re-scored without acadp; on resume, check the saved ones equal the pool the audit's settings give. Raises
    :class:`AuditStateError` when they do not (the saved shadows trained on another pool)."""
    for rel, expected in pool_arrays(audit, pool).items():
        if not store.exists(rel):
            store.write_bytes(rel, _npy_bytes(expected))
            continue
        try:
            problem = _array_problem(_load_npy(store, rel), expected)
        except (ValueError, OSError, EOFError) as error:  # not a .npy file, cut short, or holding objects
            problem = f"it cannot be read ({error})"
        if problem is not None:
            raise inconsistent_audit(store, paths, f"{rel} does not fit the audit's pool: {problem}")


def shadow_regime(audit: AuditConfig, store: ResultsStore, paths: AuditLayout) -> ShadowRegime | None:
    """The regime every saved shadow trained in, from their ``meta.json``; None when a shadow saved before the
    regime was recorded lacks it."""
    stats = [ShadowStats.from_meta(store.read_json(paths.shadow_meta(i))) for i in range(audit.lira.shadows)]
    complete = [s for s in stats if s is not None]
    return ShadowRegime.of(complete) if len(complete) == len(stats) else None


def _shadow_logits(audit: AuditConfig, store: ResultsStore, paths: AuditLayout, n_pool: int) -> np.ndarray:
    """Every shadow's saved logits, stacked: (n_shadows, n_pool, n_queries, n_classes)."""
    logits = [_load_npy(store, paths.shadow_logits(i)) for i in range(audit.lira.shadows)]
    expected = (n_pool, len(audit.queries))
    for index, array in enumerate(logits):
        if array.ndim != 3 or array.shape[:2] != expected or array.shape != logits[0].shape:
            raise inconsistent_audit(
                store, paths, f"{paths.shadow_logits(index)} has shape {array.shape}, but the audit expects "
                f"(pool {n_pool}, queries {len(audit.queries)}, classes) like shadow 0's {logits[0].shape}",
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
    return _shadow_logits(audit, store, paths, keep.shape[1])


def _score_and_save_roc(
    audit: AuditConfig,
    store: ResultsStore,
    paths: AuditLayout,
    *,
    logits: np.ndarray,
    keep: np.ndarray,
    arrays: dict[str, np.ndarray],
) -> AuditReport:
    """Score the shadows' ``logits`` against ``keep`` and the pool ``arrays`` (:func:`pool_arrays`: the very
    arrays the audit folder holds) and save the pooled ROC curves in ``roc.npz``."""
    report = score_audit(
        logits=logits,
        labels=arrays[paths.labels],
        keep=keep,
        collective=arrays[paths.collective],
        attacks=audit.lira.attacks,
        delta=audit.trial.delta,
        confidence=audit.lira.confidence,
        placebo=arrays.get(paths.placebo),
        seed=audit.lira.seed,
    )
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
    rescoring the shadows. Raises :class:`AuditStateError` when files saved by an earlier run do not fit the audit
    (see :func:`load_or_draw_keep` and :func:`save_or_check_pool`)."""
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
    keep = _load_npy(store, paths.keep)
    report = _score_and_save_roc(audit, store, paths, logits=logits, keep=keep, arrays=pool_arrays(audit, pool))
    result = AuditResult.of(
        audit, report.rows, n_pool=int(keep.shape[1]), n_collective=int(pool.planted.members.sum()),
        seconds=time.perf_counter() - started, provenance={**provenance(), **pool.dataset.provenance()},
        shadow_regime=shadow_regime(audit, store, paths),
    )  # fmt: skip
    record = dict(result.plain())
    store.write_json(paths.result, record)
    return record
