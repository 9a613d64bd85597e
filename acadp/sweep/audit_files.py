"""The files of a LiRA audit folder (:class:`acadp.store.layout.AuditLayout`) and their checks: the keep matrix,
drawn once and reused; the pool's arrays, saved before any shadow trains and compared on resume; the saved shadows'
logits and regime. A folder whose files do not fit the audit's settings raises :class:`AuditStateError` rather than
label shadows' training examples IN/OUT by a matrix they were not trained under."""

from __future__ import annotations

import io

import numpy as np

from acadp.config.lira import DEFAULT_VARIANT, AuditConfig
from acadp.errors import AuditStateError
from acadp.lira.keep import balanced_keep_matrix, keep_matrix_problem, stratified_keep_matrix
from acadp.lira.results import ShadowRegime, ShadowStats
from acadp.lira.shadow import stream_seed
from acadp.lira.subsets import keep_stratum, placebo_members
from acadp.store.layout import LAYOUT, AuditLayout
from acadp.store.results import ResultsStore
from acadp.trial.data import TrialData


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def load_npy(store: ResultsStore, rel: str) -> np.ndarray:
    return np.load(io.BytesIO(store.read_bytes(rel)), allow_pickle=False)


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
        keep = load_npy(store, paths.keep)
    except (ValueError, OSError, EOFError) as error:  # not a .npy file, cut short, or holding objects
        raise inconsistent_audit(store, paths, f"{paths.keep} cannot be read ({error})") from None
    lira = audit.lira
    stratum = keep_stratum(audit, n_pool=n_pool) if keep.shape == (lira.shadows, n_pool) else None
    problem = keep_matrix_problem(keep, n_models=lira.shadows, n_examples=n_pool, pkeep=lira.pkeep, stratum=stratum)
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
    """The audit's keep matrix (n_shadows, n_pool) bool: drawn once from the audit seed (stratified on
    :func:`keep_stratum` when ``lira.stratify_alpha`` is set) and saved before any shadow trains, then reused.
    Raises :class:`AuditStateError` when a saved matrix does not fit the audit's settings (number of shadows, pool
    size, pkeep, the stratum's shares) or the shadows already trained (never redrawn under them)."""
    if store.exists(paths.keep):
        keep = _saved_keep(audit, store, paths, n_pool)
    else:
        lira, stratum, seed = audit.lira, keep_stratum(audit, n_pool=n_pool), stream_seed(audit)
        if stratum is None:
            keep = balanced_keep_matrix(n_models=lira.shadows, n_examples=n_pool, pkeep=lira.pkeep, seed=seed)
        else:
            keep = stratified_keep_matrix(
                n_models=lira.shadows, n_examples=n_pool, pkeep=lira.pkeep, seed=seed, stratum=stratum
            )
    _check_finished_shadows(audit, store, paths, keep)
    if not store.exists(paths.keep):
        store.write_bytes(paths.keep, npy_bytes(keep))
    return keep


def pool_arrays(audit: AuditConfig, pool: TrialData) -> dict[str, np.ndarray]:
    """File name in the audit folder → what the shadows trained on besides the keep matrix: ``labels.npy`` (n_pool,)
    int64 the labels as trained (after the collective relabelled its members), ``collective.npy`` (n_pool,) bool the
    collective's members, for an audit with a placebo subset ``placebo.npy`` (n_pool,) bool, and for an audit with
    variants other than the default one ``original_labels.npy`` (n_pool,) int64 and ``planted.npy`` (n_pool,) bool
    (:class:`acadp.store.layout.AuditLayout`)."""
    paths = LAYOUT.audit(audit.key())
    planted = pool.planted
    arrays = {
        paths.labels: np.asarray(planted.y, dtype=np.int64),
        paths.collective: np.asarray(planted.members, dtype=bool),
    }
    placebo = placebo_members(audit, n_pool=int(planted.y.shape[0]))
    if placebo is not None:
        arrays[paths.placebo] = placebo
    if audit.lira.variants != (DEFAULT_VARIANT,):
        arrays[paths.original_labels] = np.asarray(planted.original_labels, dtype=np.int64)
        arrays[paths.planted] = np.asarray(planted.planted, dtype=bool)
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
            store.write_bytes(rel, npy_bytes(expected))
            continue
        try:
            problem = _array_problem(load_npy(store, rel), expected)
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


def saved_logits(audit: AuditConfig, store: ResultsStore, n_pool: int, *, signal: bool = False) -> np.ndarray:
    """Every shadow's saved logits, stacked: (n_shadows, n_pool, n_queries, n_classes); on g(x) with ``signal``.
    Raises :class:`AuditStateError` when one does not have the audit's shape."""
    paths = LAYOUT.audit(audit.key())
    where = paths.shadow_signal_logits if signal else paths.shadow_logits
    logits = [load_npy(store, where(i)) for i in range(audit.lira.shadows)]
    expected = (n_pool, len(audit.queries))
    for index, array in enumerate(logits):
        if array.ndim != 3 or array.shape[:2] != expected or array.shape != logits[0].shape:
            raise inconsistent_audit(
                store, paths, f"{where(index)} has shape {array.shape}, but the audit expects "
                f"(pool {n_pool}, queries {len(audit.queries)}, classes) like shadow 0's {logits[0].shape}",
            )  # fmt: skip
    return np.stack(logits)
