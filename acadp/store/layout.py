"""The run-directory contract, in one place. Every stage reads and writes through these names.

::

    <storage>/<sweep name>[-smoke]/          one sweep (a smoke sweep is a sweep of its own)
        sweep.yaml                           the sweep file as submitted
        spec.json                            the resolved spec (defaults filled in)
        driver.json                          the live driver: pid, host, heartbeat (absent when none runs)
        invocations.json                     one record per `sweep run`/`resume`: when it ran, what it ran, timings
        untracked.json                       the parent MLflow run still needs creating/closing (tracking was down)
        mlflow.db                            default MLflow tracking store (local storage only)
        mlflow-artifacts/                    default MLflow artifact root (local storage only)
        tune/                                Ray Tune's own experiment state (one experiment per invocation)
        trials/<trial key>/
            config.json                      the resolved trial config
            checkpoint/state-<epoch>.pt      the training state after a finished epoch (tensors only)
            checkpoint/meta.json             written last: commits one state file (its name and SHA-256), history
            progress.json                    epochs done, last metrics, MLflow run id
            error.json                       the last failure (kept after a later success, for the record)
            attempts.json                    every failed attempt the driver saw, with its reason (e.g. node lost)
            result.json                      the final result: its presence means "complete"
            untracked.json                   the result is not (fully) in MLflow yet: `acadp sweep sync` logs it
        audits/<audit key>/
            config.json                      the audited trial config and the LiRA settings
            keep.npy                         (n_shadows, n_pool) bool, drawn once from the audit seed
            labels.npy                       (n_pool,) int64 the pool's labels as trained (collective relabelled)
            collective.npy                   (n_pool,) bool the collective's members
            placebo.npy                      (n_pool,) bool the placebo members (only audits with a placebo)
            shadows/<i>/logits.npy           (n_pool, n_queries, n_classes) float32 of shadow i
            shadows/<i>/meta.json            written last: shadow i is complete; its regime (ShadowStats)
            error.json                       the last failure
            attempts.json                    every failed attempt the driver saw, with its reason (e.g. node lost)
            lost_shadows.json                shadows whose Ray actor died (e.g. with its node) and were trained again
            roc.npz                          ROC curve per attack: arrays "<attack>/fpr", "<attack>/tpr"
            result.json                      attack metrics: its presence means "complete"
            untracked.json                   the result is not (fully) in MLflow yet: `acadp sweep sync` logs it
        one_run/<one-run key>/               a one-run audit (:class:`OneRunLayout`; `acadp audit-one-run`)
            config.json                      the audited trial config and the one-run settings
            canaries.npy                     (m,) int64 the canaries' indices in the trial's training set
            included.npy                     (m,) bool whether each canary was in the training run
            scores.npy                       (m,) float64 each canary's membership score
            result.json                      the guesses and the ε lower bound: its presence means "complete"
        search/fits/<digest>.json            a dose-response search's fit state (alpha*, CI per S*) for one set of
                                             completed trials, so that `sweep status` need not refit (a cache)
        reduced/                             the reducer's output (:class:`ReducedLayout`)
            trials.parquet                   one row per grid point
            <table>.{csv,md,tex}             success_curves, critical_mass, accuracy, lira
            figures/<figure>.{png,svg}
            dashboard.html                   written last

Keys are content hashes of configs (see :meth:`acadp.config.trial.TrialConfig.key`), so a point of a grid maps to
the same directory whichever sweep invocation ran it.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECKPOINT_DIR = "checkpoint"  # a trial's checkpoint folder (also under ``acadp trial --checkpoint-dir``)


@dataclass(frozen=True)
class CheckpointLayout:
    """Paths of one epoch checkpoint, relative to the store root: the folder ``root`` holds a state file per epoch
    written and the meta file, written last, which commits one of them (see :mod:`acadp.trial.checkpoint`)."""

    root: str

    STATE_PREFIX = "state-"
    STATE_SUFFIX = ".pt"
    LEGACY_STATE = "state.pt"  # the one state file of checkpoints written before meta files committed a state

    @classmethod
    def state_name(cls, epoch: int) -> str:
        """The state file's name after ``epoch`` finished epochs (a name inside :attr:`root`)."""
        return f"{cls.STATE_PREFIX}{epoch:04d}{cls.STATE_SUFFIX}"

    @classmethod
    def is_state_name(cls, name: str) -> bool:
        """Whether ``name`` (inside :attr:`root`) is a state file, committed or not."""
        return name == cls.LEGACY_STATE or (name.startswith(cls.STATE_PREFIX) and name.endswith(cls.STATE_SUFFIX))

    def file(self, name: str) -> str:
        """The file ``name`` of the checkpoint folder."""
        return f"{self.root}/{name}"

    @property
    def meta(self) -> str:
        return f"{self.root}/meta.json"


@dataclass(frozen=True)
class JobLayout:
    """The files every job folder of a sweep has (trial, LiRA audit, one-run audit), relative to the store root."""

    root: str

    @property
    def config(self) -> str:
        return f"{self.root}/config.json"

    @property
    def result(self) -> str:
        """Written last: the job is complete."""
        return f"{self.root}/result.json"

    @property
    def error(self) -> str:
        """Written when the job failed (its last error)."""
        return f"{self.root}/error.json"

    @property
    def attempts(self) -> str:
        """Each failed attempt of the job, with its reason."""
        return f"{self.root}/attempts.json"


@dataclass(frozen=True)
class TrialLayout(JobLayout):
    """Paths of one trial, relative to the store root."""

    @property
    def checkpoint(self) -> str:
        return f"{self.root}/{CHECKPOINT_DIR}"

    @property
    def checkpoint_meta(self) -> str:
        return CheckpointLayout(self.checkpoint).meta

    @property
    def progress(self) -> str:
        return f"{self.root}/progress.json"

    @property
    def untracked(self) -> str:
        """Marker: the result is in the store but not (fully) in MLflow yet; removed once backfilled."""
        return f"{self.root}/untracked.json"


@dataclass(frozen=True)
class AuditLayout(JobLayout):
    """Paths of one LiRA audit, relative to the store root.

    The folder holds everything needed to re-score the audit without acadp (``.npy`` files, ``np.load``-able
    without pickle; all but the logits written before any shadow trains, and checked against the audit's settings
    on resume):

    * ``keep.npy`` — ``(n_shadows, n_pool)`` bool: ``keep[i, j]`` says pool example ``j`` was in shadow ``i``'s
      training set (balanced: every example is IN for ``round(pkeep × n_shadows)`` shadows);
    * ``labels.npy`` — ``(n_pool,)`` int64: the labels the shadows trained with (after the collective relabelled
      its members); LiRA scores the confidence in these;
    * ``collective.npy`` — ``(n_pool,)`` bool: the collective's members (the ``collective`` subset);
    * ``placebo.npy`` — ``(n_pool,)`` bool, only in audits with a placebo subset (α = 0, ``lira.placebo_alpha``);
    * ``original_labels.npy`` — ``(n_pool,)`` int64: every example's label before the collective acted, and
      ``planted.npy`` — ``(n_pool,)`` bool: the examples whose features carry the signal as trained; both only in
      audits whose variants ask (``lira.variants``);
    * ``shadows/<i>/logits.npy`` — ``(n_pool, n_queries, n_classes)`` float32: shadow ``i``'s raw outputs on every
      pool example, queries in the order of ``lira.queries`` in ``config.json`` (``original`` first);
    * ``shadows/<i>/signal_logits.npy`` — the same on g(x) of every pool example (a planted one as trained), only in
      audits whose variants ask;
    * ``shadows/<i>/meta.json`` — written last (shadow ``i`` is complete): its
      :class:`~acadp.lira.results.ShadowStats` (``n_train``, train and test accuracy, σ, q, steps, ε spent), the
      seconds it took and the Ray node that trained it.
    """

    @property
    def keep(self) -> str:
        return f"{self.root}/keep.npy"

    @property
    def labels(self) -> str:
        return f"{self.root}/labels.npy"

    @property
    def collective(self) -> str:
        return f"{self.root}/collective.npy"

    @property
    def placebo(self) -> str:
        return f"{self.root}/placebo.npy"

    @property
    def original_labels(self) -> str:
        return f"{self.root}/original_labels.npy"

    @property
    def planted(self) -> str:
        return f"{self.root}/planted.npy"

    @property
    def shadows(self) -> str:
        return f"{self.root}/shadows"

    def shadow_logits(self, index: int) -> str:
        return f"{self.shadows}/{index:03d}/logits.npy"

    def shadow_signal_logits(self, index: int) -> str:
        return f"{self.shadows}/{index:03d}/signal_logits.npy"

    def shadow_meta(self, index: int) -> str:
        return f"{self.shadows}/{index:03d}/meta.json"

    @property
    def lost_shadows(self) -> str:
        return f"{self.root}/lost_shadows.json"

    @property
    def roc(self) -> str:
        return f"{self.root}/roc.npz"

    @property
    def untracked(self) -> str:
        """Marker: the result is in the store but not (fully) in MLflow yet; removed once backfilled."""
        return f"{self.root}/untracked.json"


@dataclass(frozen=True)
class OneRunLayout(JobLayout):
    """Paths of one one-run audit (Steinke et al. 2023), relative to the store root: ``config.json``, the canaries'
    indices in the audited trial's training set (``canaries.npy``, (m,) int64, ascending), whether each was trained on
    (``included.npy``, (m,) bool), their scores (``scores.npy``, (m,) float64: the logit-scaled confidence of each
    canary's label as trained) and ``result.json`` (written last)."""

    @property
    def canaries(self) -> str:
        return f"{self.root}/canaries.npy"

    @property
    def included(self) -> str:
        return f"{self.root}/included.npy"

    @property
    def scores(self) -> str:
        return f"{self.root}/scores.npy"


@dataclass(frozen=True)
class ReducedLayout:
    """Paths of the reducer's output, relative to its folder (``reduced/`` of a sweep, or any folder it is given)."""

    trials: str = "trials.parquet"
    figures: str = "figures"
    dashboard: str = "dashboard.html"

    def table(self, name: str, suffix: str) -> str:
        """One rendering of table ``name``: ``suffix`` is ``csv``, ``md`` or ``tex``."""
        return f"{name}.{suffix}"

    def figure(self, name: str, suffix: str) -> str:
        """One rendering of figure ``name``: ``suffix`` is ``png`` or ``svg``."""
        return f"{self.figures}/{name}.{suffix}"


REDUCED = ReducedLayout()


@dataclass(frozen=True)
class SweepLayout:
    """Paths of one sweep, relative to its store root (the store is opened at ``<storage>/<sweep name>``)."""

    sweep_file: str = "sweep.yaml"
    spec: str = "spec.json"
    driver: str = "driver.json"
    invocations: str = "invocations.json"
    untracked: str = "untracked.json"  # the parent run awaits creation, closing or the reducer's artifacts
    mlflow_db: str = "mlflow.db"
    mlflow_artifacts: str = "mlflow-artifacts"
    tune: str = "tune"
    trials: str = "trials"
    audits: str = "audits"
    one_runs: str = "one_run"
    search_fits: str = "search/fits"
    reduced: str = "reduced"

    def trial(self, key: str) -> TrialLayout:
        return TrialLayout(f"{self.trials}/{key}")

    def audit(self, key: str) -> AuditLayout:
        return AuditLayout(f"{self.audits}/{key}")

    def one_run(self, key: str) -> OneRunLayout:
        return OneRunLayout(f"{self.one_runs}/{key}")

    def search_fit(self, digest: str) -> str:
        """A dose-response search's fit state for one set of completed trials (``digest``: a hash of the trials and
        of what the fit depends on; :mod:`acadp.reduce.search_fits`)."""
        return f"{self.search_fits}/{digest}.json"

    def reduced_file(self, rel: str) -> str:
        """A file of the reducer's output (``rel`` relative to ``reduced/``, e.g. ``REDUCED.dashboard``)."""
        return f"{self.reduced}/{rel}"


LAYOUT = SweepLayout()


def sweep_dir_name(name: str, *, smoke: bool) -> str:
    """The directory of sweep ``name`` under the storage root; a smoke sweep never shares the full sweep's results."""
    return f"{name}-smoke" if smoke else name


def sweep_location(storage: str, name: str, *, smoke: bool) -> str:
    """The sweep directory (the store root) of sweep ``name`` under ``storage``, a local path or a URI."""
    return f"{storage}/{sweep_dir_name(name, smoke=smoke)}"
