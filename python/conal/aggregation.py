"""Label aggregation, crowd-kit compatible: the classes of ``crowdkit.aggregation`` with the
same constructor parameters, methods, attributes, index names and column order, computed by
conal's Rust core. A crowd-kit user changes only the import::

    from conal.aggregation import DawidSkene   # was: from crowdkit.aggregation import ...
    labels = DawidSkene(n_iter=100).fit_predict(df)   # df: task, worker, label columns

``data`` is a DataFrame with columns ``task``, ``worker`` and ``label`` of any hashable
values. Tasks, workers and labels are ordered by first appearance in ``data``, as crowd-kit
orders them (GLAD's ``probas_`` is sorted, as crowd-kit's is).
"""

from __future__ import annotations

import inspect
from typing import Any, List, Optional

import numpy as np
import pandas as pd

from . import _conal
from ._data import _sorted_codes
from ._data import (
    Coded,
    accuracy_by_worker,
    check_columns,
    check_comparisons,
    check_frame,
    soft_columns,
    check_masks,
    encode,
    encode_comparisons,
    encode_embeddings,
    encode_masks,
    task_table,
    is_empty,
)

__all__ = [
    "MajorityVote",
    "Wawa",
    "GoldMajorityVote",
    "ZeroBasedSkill",
    "DawidSkene",
    "OneCoinDawidSkene",
    "GLAD",
    "KOS",
    "MACE",
    "MMSR",
    "BinaryRelevance",
    "BradleyTerry",
    "NoisyBradleyTerry",
    "SegmentationMajorityVote",
    "SegmentationRASA",
    "SegmentationEM",
    "ClosestToAverage",
    "RASA",
    "TextRASA",
    "ROVER",
    "HRRASA",
    "TextHRRASA",
]


def _probas(coded: Coded, posteriors: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        posteriors,
        index=pd.Index(coded.task_ids, name="task"),
        columns=pd.Index(coded.classes, name="label"),
    )


def _labels(coded: Coded, codes: np.ndarray) -> pd.Series:
    """The core's label of each task (class codes) as crowd-kit's ``labels_``."""
    values = coded.classes.to_numpy()[codes.astype(np.int64)]
    return pd.Series(values, index=pd.Index(coded.task_ids, name="task"), name="agg_label")


def _run(name: str, coded: Coded, agreement: bool = False, **params: Any) -> tuple:
    """The core's method ``name`` (a registry name) on the codes, with crowd-kit's parameter
    names: (label code per task, posteriors tasks × classes, dict of what it learned; with
    ``agreement``, each worker's agreement with the labels too)."""
    return _conal.aggregate(name, coded, params, agreement)


def _agreement(coded: Coded, learned: dict) -> pd.Series:
    """Each worker's share of labels equal to its task's aggregated label (crowd-kit's
    ``get_accuracy``, computed by the core), indexed by sorted worker, named ``skill``."""
    shares = pd.Series(learned["agreement"], index=pd.Index(coded.worker_ids, name="worker"), name="skill")
    return shares.dropna().sort_index()


def _empty_skills() -> pd.Series:
    return pd.Series([], index=pd.Index([], name="worker", dtype=np.float64), name="skill", dtype=np.float64)


def _set_empty_votes(est: Any) -> None:
    """crowd-kit's majority-vote results for a frame of 0 rows: empty ``labels_`` and
    ``probas_`` (crowd-kit returns these instead of raising)."""
    est.probas_ = pd.DataFrame(
        index=pd.Index([], name="task", dtype=np.float64), columns=pd.Index([], name="label"), dtype=np.float64
    )
    est.labels_ = pd.Series([], dtype=object, name="agg_label")


def _set_empty_em(est: Any) -> None:
    """crowd-kit's Dawid-Skene results for a frame of 0 rows."""
    est.probas_ = pd.DataFrame()
    est.priors_ = pd.Series(dtype=np.float64, name="prior")
    est.errors_ = pd.DataFrame()
    est.labels_ = pd.Series(dtype=np.float64, name="agg_label")
    est.loss_history_ = []


class _Base:
    def fit_predict(self, data: pd.DataFrame, *args: Any, **kwargs: Any) -> pd.Series:
        """Fits the model and returns the aggregated label of each task (``labels_``)."""
        self.fit(data, *args, **kwargs)
        return self.labels_

    def fit_predict_proba(self, data: pd.DataFrame, *args: Any, **kwargs: Any) -> pd.DataFrame:
        """Fits the model and returns each task's label distribution (``probas_``)."""
        self.fit(data, *args, **kwargs)
        return self.probas_

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"

    def _params(self) -> dict:
        """The constructor's parameters and their values (each is kept as an attribute of
        the same name, as scikit-learn and crowd-kit do)."""
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        params = inspect.signature(type(self).__init__).parameters.values()
        return {p.name: getattr(self, p.name) for p in params if p.name != "self" and p.kind in named}


class MajorityVote(_Base):
    """Majority vote: each task's label distribution is its vote shares; the label is the
    most voted one (ties: the first in column order, as crowd-kit).

    ``fit(data, skills=None)``: with ``skills`` (a Series indexed by worker), each worker's
    vote weighs its skill (weighted majority vote), and ``probas_`` is sorted by task and
    label, as crowd-kit's is then. ``on_missing_skill`` says what to do with the labels of
    a worker without a skill: ``"error"`` (default), ``"ignore"`` (drop them; an error if a
    task is left with none) or ``"value"`` (use ``default_skill``). Soft answers (one
    ``p_<class>`` column per class in place of ``label``) vote with their probabilities.

    Attributes (after ``fit``): ``labels_`` (Series indexed by task, named ``agg_label``),
    ``probas_`` (DataFrame task × label), ``skills_`` (each worker's agreement with the
    aggregate, Series indexed by worker, named ``skill``).
    """

    def __init__(self, on_missing_skill: str = "error", default_skill: Optional[float] = None):
        self.on_missing_skill = on_missing_skill
        self.default_skill = default_skill


    def fit(self, data: pd.DataFrame, skills: Optional[pd.Series] = None) -> "MajorityVote":
        """Fits the model to ``data`` (columns task, worker, label), weighting each
        worker's votes by ``skills`` when given. A frame of 0 rows gives empty results, as
        in crowd-kit."""
        if is_empty(data):
            _set_empty_votes(self)
            self.skills_ = _empty_skills()
            return self
        if skills is None:
            coded = encode(data, allow_soft=True)
            labels, posteriors, learned = _run("mv", coded, agreement=True, ties="lowest")
            self.probas_ = _probas(coded, posteriors)
            self.labels_ = _labels(coded, labels)
            self.skills_ = _agreement(coded, learned)
            return self
        coded, weights = self._weights(data, skills)
        labels, posteriors, learned = _run("mv", coded, agreement=True, ties="lowest", weights=weights)
        self.probas_ = _probas(coded, posteriors).sort_index(axis=0).sort_index(axis=1)
        self.labels_ = _labels(coded, labels).sort_index()
        self.skills_ = _agreement(coded, learned)
        return self

    def _weights(self, data: pd.DataFrame, skills: Any) -> tuple[Coded, np.ndarray]:
        """The codes of the labels to count and one weight per worker, after crowd-kit's
        ``on_missing_skill`` rules."""
        if not isinstance(skills, pd.Series):
            raise TypeError(f"skills must be a pandas Series indexed by worker, got {type(skills).__name__}")
        mode = self.on_missing_skill
        if mode not in ("error", "ignore", "value"):
            raise ValueError(
                f"on_missing_skill={mode!r} is not one of 'error', 'ignore', 'value'"
            )
        if mode != "value" and self.default_skill is not None:
            raise ValueError('default_skill is used but on_missing_skill is not "value"')
        if mode == "value" and self.default_skill is None:
            raise ValueError('default_skill must be given with on_missing_skill="value"')
        if skills.index.has_duplicates:
            raise ValueError(f"skills names worker {skills.index[skills.index.duplicated()][0]!r} twice")
        # Classes in sorted order: ties go to the first of them, as crowd-kit's idxmax over
        # its sorted columns.
        classes = _sorted_classes(data)
        coded = encode(data, classes=classes, allow_soft=True)
        weights = skills.reindex(coded.worker_ids).to_numpy(dtype=np.float64, copy=True)
        missing = np.isnan(weights)
        if missing.any():
            rows = np.flatnonzero(missing[coded.workers])
            if mode == "error":
                row = int(rows[0])
                raise ValueError(
                    f"column 'worker', row {row}: worker {data['worker'].iloc[row]!r} has no skill "
                    f"({len(rows)} labels of workers without a skill; give every worker a skill, "
                    f"or on_missing_skill='ignore' or 'value')"
                )
            if mode == "value":
                weights[missing] = float(self.default_skill)
            else:
                kept = np.ones(len(coded.tasks), dtype=bool)
                kept[rows] = False
                left = np.bincount(coded.tasks[kept], minlength=len(coded.task_ids))
                empty = np.flatnonzero(left == 0)
                if len(empty):
                    raise ValueError(
                        f"{len(empty)} tasks have no label from a worker with a skill (the first: "
                        f"{coded.task_ids[empty[0]]!r}); give those workers a skill or use "
                        f"on_missing_skill='value'"
                    )
                coded = encode(check_frame(data)[kept], classes=classes, allow_soft=True)
                weights = skills.reindex(coded.worker_ids).to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
        if len(bad):
            w = coded.worker_ids[bad[0]]
            raise ValueError(f"skills[{w!r}] = {weights[bad[0]]}: a skill must be finite and non-negative")
        return coded, weights


class _WeightedVote(_Base):
    """Methods that learn worker skills in ``fit`` and run crowd-kit's skill-weighted
    majority vote in ``predict``/``predict_proba``."""

    _fit_call = "fit"

    def _apply(self, data: pd.DataFrame) -> "_WeightedVote":
        if not hasattr(self, "skills_"):
            raise ValueError(f"{type(self).__name__} is not fitted yet: call {self._fit_call} first")
        mv = MajorityVote().fit(data, skills=self.skills_)
        self.labels_, self.probas_ = mv.labels_, mv.probas_
        return self

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """The skill-weighted majority label of each task of ``data``."""
        return self._apply(data).labels_

    def predict_proba(self, data: pd.DataFrame) -> pd.DataFrame:
        """The skill-weighted vote shares of each task of ``data``."""
        return self._apply(data).probas_


class _SkillsFromCrowd(_WeightedVote):
    """Weighted votes whose skills are learnt from the crowd labels alone: ``fit(data)``."""

    _fit_call = "fit(data)"

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:  # type: ignore[override]
        """``fit(data)``, then ``predict(data)``."""
        return self.fit(data).predict(data)

    def fit_predict_proba(self, data: pd.DataFrame) -> pd.DataFrame:  # type: ignore[override]
        """``fit(data)``, then ``predict_proba(data)``."""
        return self.fit(data).predict_proba(data)


class Wawa(_SkillsFromCrowd):
    """Wawa (worker agreement with aggregate), as crowd-kit 1.4: majority vote; each worker's
    skill is its share of labels equal to the majority label; then the majority vote
    weighted by those skills.

    ``fit(data)`` learns ``skills_`` (Series indexed by worker, named ``skill``);
    ``predict(data)``/``predict_proba(data)`` run the weighted vote on ``data`` (every worker
    in it needs a skill) and set ``labels_`` and ``probas_`` (sorted by task and label, as
    crowd-kit's weighted vote is). Soft answers (``p_<class>`` columns): the votes sum the
    probabilities, and a worker agrees with the vote by the probability it gave its label.
    """


    def fit(self, data: pd.DataFrame) -> "Wawa":
        """Learns each worker's agreement with the majority vote of ``data`` (none from a
        frame of 0 rows)."""
        if is_empty(data):
            self.skills_ = _empty_skills()
            return self
        coded = encode(data, allow_soft=True)
        _, _, learned = _run("wawa", coded, ties="lowest")
        skills = pd.Series(learned["skills"], index=pd.Index(coded.worker_ids, name="worker"), name="skill")
        self.skills_ = skills.sort_index()
        return self


class GoldMajorityVote(_WeightedVote):
    """Gold majority vote, as crowd-kit 1.4: each worker's skill is its accuracy on the tasks
    whose true label is known, then the majority vote weighted by those skills.

    ``fit(data, true_labels)`` learns ``skills_`` (Series indexed by worker, named
    ``skill``; a worker without a known task has none); ``predict(data)`` and
    ``predict_proba(data)`` run the weighted vote (every worker in ``data`` needs a skill)
    and set ``labels_`` and ``probas_``.
    """


    def fit(self, data: pd.DataFrame, true_labels: pd.Series) -> "GoldMajorityVote":  # type: ignore[override]
        """Learns each worker's accuracy on the tasks of ``true_labels`` (a Series indexed by
        task). A task may have several true labels (its index repeated): a label equal to
        any of them is right, as in crowd-kit. A frame of 0 rows gives no skills."""
        if not isinstance(true_labels, pd.Series):
            raise TypeError(f"true_labels must be a pandas Series indexed by task, got {type(true_labels).__name__}")
        if is_empty(data):
            self.skills_ = _empty_skills()
            return self
        coded = encode(data)
        frame = check_frame(data)
        truth = true_labels.dropna()
        known = frame["task"].isin(truth.index).to_numpy()
        if not known.any():
            raise ValueError("true_labels names no task of data: no worker gets a skill")
        right = pd.MultiIndex.from_frame(frame[["task", "label"]]).isin(
            pd.MultiIndex.from_arrays([truth.index, truth.to_numpy()])
        )
        # Each label is its own task for the core, whose truth is the label itself where it
        # is one of the task's true labels and a code no label has where it is none of them.
        # A label repeated on one task by one worker counts once, as in crowd-kit.
        keep = ~frame.duplicated().to_numpy()
        codes = np.where(right, coded.labels, len(coded.classes)).astype(np.int64)
        codes[~known] = -1
        codes = codes[keep]
        n = len(codes)
        per_label = coded._replace(
            tasks=np.arange(n, dtype=np.int64),
            workers=coded.workers[keep],
            labels=coded.labels[keep],
            task_ids=pd.RangeIndex(n),
        )
        self.skills_ = accuracy_by_worker(per_label, codes).rename("skill")
        return self

    _fit_call = "fit(data, true_labels)"

    def fit_predict(self, data: pd.DataFrame, true_labels: pd.Series) -> pd.Series:  # type: ignore[override]
        """``fit(data, true_labels)``, then ``predict(data)``."""
        return self.fit(data, true_labels).predict(data)

    def fit_predict_proba(self, data: pd.DataFrame, true_labels: pd.Series) -> pd.DataFrame:  # type: ignore[override]
        """``fit(data, true_labels)``, then ``predict_proba(data)``."""
        return self.fit(data, true_labels).predict_proba(data)


def _sorted_classes(data: pd.DataFrame) -> Optional[pd.Index]:
    """The labels of ``data`` in sorted order (crowd-kit's column order after ``unstack``),
    or None where they do not sort (mixed types: first-appearance order then)."""
    soft = soft_columns(data)
    if soft:
        return pd.Index([c[len("p_"):] for c in soft]).sort_values()
    try:
        return pd.Index(pd.unique(check_frame(data)["label"])).sort_values()
    except TypeError:
        return None


class ZeroBasedSkill(_SkillsFromCrowd):
    """Zero-based skill (ZBS), as crowd-kit 1.4: every worker starts with skill 1/L + eps
    (L distinct labels); each of ``n_iter`` rounds runs the skill-weighted majority vote and
    moves each skill towards the worker's agreement with it by ``lr`` (``lr_init``,
    multiplied by ``lr_reduce_factor`` every ``lr_steps_to_reduce`` rounds). Ties go to the
    first label in sorted order, as crowd-kit's ``idxmax``.

    ``fit(data)`` learns ``skills_`` (Series indexed by worker, named ``skill``);
    ``predict``/``predict_proba`` run the weighted vote and set ``labels_`` and ``probas_``.
    """

    def __init__(
        self,
        n_iter: int = 100,
        lr_init: float = 1.0,
        lr_steps_to_reduce: int = 20,
        lr_reduce_factor: float = 0.5,
        eps: float = 1e-5,
    ):
        self.n_iter = n_iter
        self.lr_init = lr_init
        self.lr_steps_to_reduce = lr_steps_to_reduce
        self.lr_reduce_factor = lr_reduce_factor
        self.eps = eps


    def fit(self, data: pd.DataFrame) -> "ZeroBasedSkill":
        """Learns each worker's skill from ``data``."""
        _check_count("n_iter", self.n_iter, minimum=0)
        _check_count("lr_steps_to_reduce", self.lr_steps_to_reduce)
        coded = encode(data, classes=_sorted_classes(data))
        _, _, learned = _run(
            "zbs",
            coded,
            n_iter=int(self.n_iter),
            lr_init=float(self.lr_init),
            lr_steps_to_reduce=int(self.lr_steps_to_reduce),
            lr_reduce_factor=float(self.lr_reduce_factor),
            eps=float(self.eps),
            ties="lowest",
        )
        skills = learned["skills"]
        self.skills_ = pd.Series(skills, index=pd.Index(coded.worker_ids, name="worker"), name="skill").sort_index()
        return self


class DawidSkene(_Base):
    """Dawid-Skene (1979): one confusion matrix per worker, EM from majority vote, as
    crowd-kit 1.4 computes it.

    Parameters: ``n_iter`` (most EM iterations, default 100), ``tol`` (stop when the
    evidence lower bound per label grows by less, default 1e-5), ``initial_error_strategy``
    (``"assign"`` or ``"addition"``: how ``fit``'s ``initial_error`` enters the first
    M-step, as crowd-kit's; without one, ``initial_error`` is ignored, as there).

    Attributes (after ``fit``): ``labels_``, ``probas_``, ``priors_`` (Series indexed by
    label, named ``prior``), ``errors_`` (DataFrame indexed by (worker, label given) with a
    column per true label: ``errors_.loc[(worker, given), true]`` is the probability that
    the worker gives ``given`` to a task of class ``true``), ``loss_history_`` (the ELBO per
    label after each iteration).

    Soft answers: ``data`` may hold one ``p_<class>`` column per class in place of ``label``
    (a probability per class: each answer is read as the worker's calibrated belief about the
    label it would give; see docs/PYTHON.md).

    Beyond crowd-kit (defaults: none, which gives crowd-kit's numbers): ``class_prior`` and
    ``confusion_prior`` are Dirichlet pseudo-counts added to the expected counts of every
    M-step (a MAP estimate; see ``_prior_params`` for their forms), and ``fit``'s
    ``known_workers`` fixes the confusion of workers known in advance.
    """

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        initial_error_strategy: Optional[str] = None,
        class_prior: Any = None,
        confusion_prior: Any = None,
    ):
        self.n_iter = n_iter
        self.tol = tol
        self.initial_error_strategy = initial_error_strategy
        self.class_prior = class_prior
        self.confusion_prior = confusion_prior


    def fit(
        self,
        data: pd.DataFrame,
        true_labels: Optional[pd.Series] = None,
        initial_error: Optional[pd.DataFrame] = None,
        known_workers: Any = None,
    ) -> "DawidSkene":
        """Fits the model to ``data``; ``true_labels`` (Series indexed by task) fix the
        posteriors of the tasks they name, as crowd-kit does. ``n_iter=0`` gives the initial
        estimate (majority vote, and the errors of one M-step from it); a frame of 0 rows
        gives empty results, as in crowd-kit. ``known_workers``: workers whose confusion is
        known and kept fixed — a Series (or dict) of accuracies by worker (right with that
        probability, wrong uniformly), or rows of a previous fit's ``errors_`` (indexed by
        (worker, label given), a column per true label); workers absent from ``data`` are
        ignored."""
        _check_count("n_iter", self.n_iter, minimum=0)
        strategy = self.initial_error_strategy
        if strategy not in (None, "assign", "addition"):
            raise ValueError(f"initial_error_strategy={strategy!r} is not 'assign', 'addition' or None")
        if is_empty(data):
            _set_empty_em(self)
            return self
        coded = encode(data, allow_soft=True)
        # As crowd-kit: initial_error counts only with a strategy.
        initial = {}
        if initial_error is not None and strategy is not None:
            workers, labels, values = _initial_rows(initial_error, coded, strategy)
            initial = dict(
                initial_error_strategy=strategy,
                initial_workers=workers,
                initial_labels=labels,
                initial_errors=values,
            )
        gold_tasks = np.zeros(0, dtype=np.int64)
        gold_labels = np.zeros(0, dtype=np.int64)
        if true_labels is not None:
            if not isinstance(true_labels, pd.Series):
                raise TypeError(f"true_labels must be a pandas Series indexed by task, got {type(true_labels).__name__}")
            known = true_labels[true_labels.index.isin(coded.task_ids)]
            gold_tasks = coded.task_ids.get_indexer(known.index).astype(np.int64)
            gold_labels = coded.classes.get_indexer(known.to_numpy()).astype(np.int64)
            bad = np.flatnonzero(gold_labels < 0)
            if len(bad):
                raise ValueError(
                    f"true_labels[{known.index[bad[0]]!r}] = {known.iloc[bad[0]]!r} is not one of "
                    f"the labels in data {list(coded.classes)}"
                )
        labels, posteriors, learned = _run(
            "ds",
            coded,
            n_iter=int(self.n_iter),
            tol=float(self.tol),
            gold_tasks=gold_tasks,
            gold_labels=gold_labels,
            **initial,
            **_prior_params(self, coded, known_workers),
        )
        self.probas_ = _probas(coded, posteriors)
        self.labels_ = _labels(coded, labels)
        self.priors_ = pd.Series(learned["priors"], index=pd.Index(coded.classes, name="label"), name="prior")
        self.errors_ = _errors_frame(coded, learned["errors"])
        self.loss_history_: List[float] = list(learned["loss_history"])
        return self


def _errors_frame(coded: Coded, errors: np.ndarray) -> pd.DataFrame:
    """crowd-kit's ``errors_`` layout from [worker, true, given] tables: one row per (worker,
    label given) pair seen in data, in order of first appearance; a column per true label."""
    k = len(coded.classes)
    if coded.soft is not None:
        # Soft answers: every (worker, label) pair given a positive probability.
        rows, given = np.nonzero(coded.soft > 0)
        keys = coded.workers[rows] * k + given
    else:
        keys = coded.workers * k + coded.labels
    _, first = np.unique(keys, return_index=True)
    first.sort()
    w, l = keys[first] // k, keys[first] % k
    values = errors[w, :, l]  # [pair, true label]
    index = pd.MultiIndex.from_arrays([coded.worker_ids[w], coded.classes[l]], names=["worker", "label"])
    return pd.DataFrame(values, index=index, columns=pd.Index(coded.classes))


class OneCoinDawidSkene(_Base):
    """One-coin Dawid-Skene, as crowd-kit 1.4: each worker answers right with one
    probability (its skill, the mean posterior of the labels it gave) and wrong uniformly
    otherwise; EM from majority vote.

    Parameters: ``n_iter`` (100), ``tol`` (1e-5). Attributes (after ``fit``): ``labels_``,
    ``probas_``, ``priors_``, ``skills_`` (Series indexed by worker, named ``skill``),
    ``errors_`` (crowd-kit's layout), ``loss_history_``.

    Beyond crowd-kit, as ``DawidSkene``: soft answers (``p_<class>`` columns), ``class_prior``,
    ``confusion_prior`` (the diagonal's
    pseudo-counts count as right answers, all of them as answers) and ``fit``'s
    ``known_workers`` (a known worker's skill is its matrix's mean diagonal).
    """

    def __init__(self, n_iter: int = 100, tol: float = 1e-5, class_prior: Any = None, confusion_prior: Any = None):
        self.n_iter = n_iter
        self.tol = tol
        self.class_prior = class_prior
        self.confusion_prior = confusion_prior

    def fit(self, data: pd.DataFrame, known_workers: Any = None) -> "OneCoinDawidSkene":
        """Fits the model to ``data`` (columns task, worker, label); ``n_iter=0`` gives the
        initial estimate, a frame of 0 rows empty results, as in crowd-kit.
        ``known_workers`` as in ``DawidSkene.fit``."""
        _check_count("n_iter", self.n_iter, minimum=0)
        if is_empty(data):
            _set_empty_em(self)
            self.skills_ = _empty_skills()
            return self
        coded = encode(data, allow_soft=True)
        labels, posteriors, learned = _run(
            "one-coin-ds",
            coded,
            n_iter=int(self.n_iter),
            tol=float(self.tol),
            **_prior_params(self, coded, known_workers),
        )
        self.probas_ = _probas(coded, posteriors)
        self.labels_ = _labels(coded, labels)
        self.priors_ = pd.Series(learned["priors"], index=pd.Index(coded.classes, name="label"), name="prior")
        self.skills_ = pd.Series(learned["skills"], index=pd.Index(coded.worker_ids, name="worker"), name="skill")
        self.errors_ = _errors_frame(coded, learned["errors"])
        self.loss_history_: List[float] = list(learned["loss_history"])
        return self


def _prior_params(model: Any, coded: Coded, known_workers: Any) -> dict:
    """The core's prior parameters from Python's forms, in the data's class order:

    - ``class_prior``: a number (the same pseudo-count for every class) or a dict/Series of
      pseudo-counts by label (labels it does not name get 0);
    - ``confusion_prior``: a number (pseudo-counts of right answers: the diagonal), a pair
      (right, each wrong cell), or a DataFrame in ``errors_``'s layout for one worker:
      indexed by label given, a column per true label (cells it lacks get 0);
    - ``known_workers``: see ``DawidSkene.fit``.

    A label the data lacks, a negative or non-finite value, or a known worker's matrix whose
    columns do not sum to 1 is a ValueError."""
    classes = coded.classes
    k = len(classes)
    params: dict = {}

    def by_label(values: Any, what: str) -> np.ndarray:
        values = pd.Series(values, dtype=float) if isinstance(values, dict) else values
        unknown = [c for c in values.index if c not in classes]
        if unknown:
            raise ValueError(f"{what} names {unknown[0]!r}, which is not one of the labels in data {list(classes)}")
        return values.reindex(classes, fill_value=0.0).to_numpy(dtype=np.float64)

    prior = getattr(model, "class_prior", None)
    if prior is not None:
        if isinstance(prior, (dict, pd.Series)):
            params["class_prior"] = by_label(prior, "class_prior")
        elif np.ndim(prior) == 0:
            params["class_prior"] = float(prior)
        else:
            raise TypeError(f"class_prior must be a number or a dict/Series by label, got {type(prior).__name__}")
    confusion = getattr(model, "confusion_prior", None)
    if confusion is not None:
        if isinstance(confusion, pd.DataFrame):
            for what, names in (("index (label given)", confusion.index), ("columns (true label)", confusion.columns)):
                unknown = [c for c in names if c not in classes]
                if unknown:
                    raise ValueError(f"confusion_prior's {what} names {unknown[0]!r}, not one of the labels in data {list(classes)}")
            given_by_true = confusion.reindex(index=classes, columns=classes, fill_value=0.0).to_numpy(dtype=np.float64)
            params["confusion_prior"] = np.ascontiguousarray(given_by_true.T)  # [true][given]
        elif np.ndim(confusion) == 0:
            params["confusion_prior"] = float(confusion)
        elif np.ndim(confusion) == 1 and len(confusion) == 2:
            params["confusion_prior"] = np.asarray(confusion, dtype=np.float64)
        else:
            raise TypeError(
                "confusion_prior must be a number, a (right, wrong) pair or a DataFrame indexed by label given "
                f"with a column per true label; got {type(confusion).__name__}"
            )
    if known_workers is not None:
        rows: dict = {}
        if isinstance(known_workers, pd.DataFrame):
            if list(known_workers.index.names) != ["worker", "label"]:
                raise ValueError(
                    "known_workers as a DataFrame must be indexed by (worker, label) as errors_ is, got index "
                    f"{list(known_workers.index.names)}"
                )
            for worker, block in known_workers.groupby(level="worker", sort=False):
                given = block.droplevel("worker")
                unknown = [c for c in list(given.index) + list(given.columns) if c not in classes]
                if unknown:
                    raise ValueError(f"known_workers[{worker!r}] names {unknown[0]!r}, not one of the labels in data {list(classes)}")
                rows[worker] = given.reindex(index=classes, columns=classes, fill_value=0.0).to_numpy(dtype=np.float64).T
        else:
            accuracies = pd.Series(known_workers, dtype=float) if isinstance(known_workers, dict) else known_workers
            if not isinstance(accuracies, pd.Series):
                raise TypeError(f"known_workers must be a Series/dict of accuracies or a DataFrame like errors_, got {type(known_workers).__name__}")
            for worker, acc in accuracies.items():
                if not (0.0 <= acc <= 1.0):
                    raise ValueError(f"known_workers[{worker!r}] = {acc}: an accuracy is a probability")
                m = np.full((k, k), (1.0 - acc) / (k - 1) if k > 1 else 0.0)
                np.fill_diagonal(m, acc if k > 1 else 1.0)
                rows[worker] = m
        codes = coded.worker_ids.get_indexer(list(rows))
        keep = [i for i, c in enumerate(codes) if c >= 0]
        matrices = list(rows.values())
        params["known_workers"] = codes[keep].astype(np.int64)
        params["known_confusions"] = (
            np.stack([matrices[i].reshape(-1) for i in keep]) if keep else np.zeros((0, k * k))
        )
    return params


def _initial_rows(initial_error: Any, coded: Coded, strategy: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """crowd-kit's ``initial_error`` (indexed by (worker, label given), a column per true
    label) as codes: the rows of the data's workers, the values in the data's class order."""
    if not isinstance(initial_error, pd.DataFrame):
        raise TypeError(f"initial_error must be a pandas DataFrame, got {type(initial_error).__name__}")
    if list(initial_error.index.names) != ["worker", "label"]:
        raise ValueError(
            f"The index of initial_error must be: ['worker', 'label'], but got: {list(initial_error.index.names)}"
        )
    missing = [c for c in coded.classes if c not in initial_error.columns]
    if missing:
        raise ValueError(f"initial_error has no column for true label {missing[0]!r} (it needs one per label of data)")
    # Columns that are not labels of data are ignored: crowd-kit carries them through its
    # sums, where they change no label's probability.
    workers = coded.worker_ids.get_indexer(initial_error.index.get_level_values("worker"))
    given = initial_error.index.get_level_values("label")
    labels = coded.classes.get_indexer(given)
    unknown = np.flatnonzero((workers >= 0) & (labels < 0))
    if len(unknown):
        raise ValueError(
            f"initial_error row {initial_error.index[unknown[0]]!r}: label {given[unknown[0]]!r} is not a label of data"
        )
    # Rows of workers that are not in data do not matter, as in crowd-kit.
    keep = workers >= 0
    values = initial_error[list(coded.classes)].to_numpy(dtype=np.float64)[keep]
    workers, labels = workers[keep].astype(np.int64), labels[keep].astype(np.int64)
    if strategy == "assign":
        k = len(coded.classes)
        known = np.zeros(len(coded.worker_ids) * k, dtype=bool)
        known[workers * k + labels] = True
        lacking = np.unique(coded.workers[~known[coded.workers * k + coded.labels]])
        if len(lacking):
            raise ValueError(
                f"All the workers in data should be in initial_error: Can not find {len(lacking)} workers' "
                f"error matrix in initial_error (the first: {coded.worker_ids[lacking[0]]!r}; with "
                f"initial_error_strategy='assign' every (worker, label) pair of data needs a row)"
            )
        if (values <= 1.0).all():
            sums = np.zeros((len(coded.worker_ids), k))
            np.add.at(sums, workers, values)
            used = np.unique(workers)
            if not np.allclose(sums[used], 1.0):
                raise ValueError("The sum of each worker's error matrix in initial_error should be 1.0")
    return workers, labels, np.ascontiguousarray(values)


class GLAD(_Base):
    """GLAD (Whitehill et al. 2009), multi-class as crowd-kit 1.4: worker ability α × task
    easiness e^β, EM with a conjugate-gradient M-step.

    Parameters as crowd-kit's: ``n_iter`` (100), ``tol`` (1e-5), ``silent`` (True: no
    progress bar), ``labels_priors`` (Series indexed by label: the class priors, and the
    class list; default uniform over the labels of data), ``alphas_priors_mean`` (Series
    indexed by worker), ``betas_priors_mean`` (Series indexed by task; both default to 1
    everywhere), ``m_step_max_iter`` (25), ``m_step_tol`` (1e-2).

    Attributes (after ``fit``): ``labels_``, ``probas_`` (sorted by task and label, columns
    named ``variable``, as crowd-kit's), ``alphas_`` (Series indexed by worker), ``betas_``
    (Series indexed by task), ``priors_``, ``loss_history_``.
    """

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        silent: bool = True,
        labels_priors: Optional[pd.Series] = None,
        alphas_priors_mean: Optional[pd.Series] = None,
        betas_priors_mean: Optional[pd.Series] = None,
        m_step_max_iter: int = 25,
        m_step_tol: float = 1e-2,
    ):
        self.n_iter = n_iter
        self.tol = tol
        self.silent = silent
        self.labels_priors = labels_priors
        self.alphas_priors_mean = alphas_priors_mean
        self.betas_priors_mean = betas_priors_mean
        self.m_step_max_iter = m_step_max_iter
        self.m_step_tol = m_step_tol


    def fit(self, data: pd.DataFrame) -> "GLAD":
        """Fits the model to ``data`` (columns task, worker, label)."""
        _check_count("n_iter", self.n_iter, minimum=0)
        _check_count("m_step_max_iter", self.m_step_max_iter)
        priors = self.labels_priors
        # Classes in sorted order where they sort, so that an exact tie goes to the first
        # label in sorted order, as crowd-kit's idxmax over its sorted columns (ties are
        # common at n_iter=0; where crowd-kit's sums round a tie apart, its pick follows the
        # rounding).
        if priors is not None:
            priors = _series("labels_priors", priors, "label")
            # As crowd-kit: the priors' labels are the classes (a label no one gave still
            # gets a column of probas_).
            classes = pd.Index(priors.index)
            try:
                classes = classes.sort_values()
            except TypeError:
                pass
            coded = encode(data, classes=list(classes))
        else:
            coded = encode(data, classes=_sorted_classes(data))
        k = len(coded.classes)
        prior_values = None if priors is None else priors.reindex(coded.classes).to_numpy(dtype=np.float64)
        alphas = _means("alphas_priors_mean", self.alphas_priors_mean, coded.worker_ids, "worker")
        betas = _means("betas_priors_mean", self.betas_priors_mean, coded.task_ids, "task")
        labels, posteriors, learned = _run(
            "glad",
            coded,
            n_iter=int(self.n_iter),
            tol=float(self.tol),
            m_step_max_iter=int(self.m_step_max_iter),
            m_step_tol=float(self.m_step_tol),
            labels_priors=prior_values,
            alphas_priors_mean=alphas,
            betas_priors_mean=betas,
        )
        probas = _probas(coded, posteriors)
        probas = probas.sort_index(axis=0).sort_index(axis=1)
        probas.columns.name = "variable"
        self.probas_ = probas
        self.labels_ = _labels(coded, labels).sort_index()
        self.alphas_ = pd.Series(learned["alphas"], index=pd.Index(coded.worker_ids, name="worker"), name="alpha")
        self.betas_ = pd.Series(learned["betas"], index=pd.Index(coded.task_ids, name="task"), name="beta")
        if priors is None:
            self.priors_ = pd.Series(np.full(k, 1.0 / k), index=pd.Index(coded.classes))
        else:
            self.priors_ = priors
        self.loss_history_: List[float] = list(learned["loss_history"])
        return self


def _series(name: str, value: Any, what: str) -> pd.Series:
    if not isinstance(value, pd.Series):
        raise TypeError(f"{name} must be a pandas Series indexed by {what}, got {type(value).__name__}")
    if value.index.has_duplicates:
        raise ValueError(f"{name} names {what} {value.index[value.index.duplicated()][0]!r} twice")
    return value


def _means(name: str, value: Any, ids: pd.Index, what: str) -> Optional[np.ndarray]:
    """A prior mean per id of ``ids`` from a Series indexed by them (crowd-kit's
    ``alphas_priors_mean``/``betas_priors_mean``), or None for the default (1)."""
    if value is None:
        return None
    value = _series(name, value, what)
    means = value.reindex(ids).to_numpy(dtype=np.float64)
    missing = np.flatnonzero(np.isnan(means))
    if len(missing):
        raise ValueError(f"{name} has no value for {what} {ids[missing[0]]!r} (it needs one per {what} of data)")
    return np.ascontiguousarray(means)


def _check_count(name: str, value: Any, minimum: int = 1) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


class KOS(_Base):
    """KOS (Karger, Oh & Shah 2011) for two labels, as crowd-kit 1.4: the first label in
    ``data`` is +1, the other −1; one message per label starts from N(1, 1) drawn by numpy's
    legacy generator seeded with ``random_state`` in row order (crowd-kit's draws, so the
    same run), then ``n_iter`` rounds of item and worker messages, stopped early once a sum
    passes 1e300. A task's label is the sign of its final sum (a sum of exactly 0, where
    crowd-kit raises KeyError, gives the first label).

    Attributes (after ``fit``): ``labels_`` (Series indexed by sorted task, ``agg_label``).
    """

    def __init__(self, n_iter: int = 100, random_state: int = 0):
        self.n_iter = n_iter
        self.random_state = random_state


    def fit(self, data: pd.DataFrame) -> "KOS":
        """Fits the model to ``data`` (exactly two distinct labels; a frame of 0 rows gives
        empty ``labels_``, as in crowd-kit)."""
        _check_count("n_iter", self.n_iter, minimum=0)
        if is_empty(data):
            self.labels_ = pd.Series([], dtype=object, name="agg_label")
            return self
        coded = encode(data)
        if len(coded.classes) != 2:
            raise ValueError(
                f"KOS aggregation method is for binary classification only: data has "
                f"{len(coded.classes)} labels {list(coded.classes)[:5]}"
            )
        labels, _, _ = _run("kos", coded, n_iter=int(self.n_iter), random_state=_seed32(self.random_state))
        self.labels_ = _labels(coded, labels).sort_index()
        return self


class MACE(_Base):
    """MACE (Hovy et al. 2013), as crowd-kit 1.4: each worker knows the answer or spams
    from its own label distribution; variational Bayes (``method="vb"``, Beta(``alpha``,
    ``beta``) and Dirichlet(10) priors) or EM (``"em"``, counts smoothed by 0.01/K), ``n_iter``
    rounds from crowd-kit's start (numpy's legacy generator, ``random_state``,
    ``default_noise``).

    Restarts: crowd-kit 1.4.2 starts every restart from the same ``random_state``, so its
    ``n_restarts`` repeats one run; here restart r starts from ``random_state + r`` and the
    most likely run is kept (restart 0 is crowd-kit's run; ``n_restarts=1`` is crowd-kit's
    result exactly). crowd-kit's M-step also credits strategy counts in sorted worker and
    label order to parameters in first-appearance order (a mismatch wherever the two orders
    differ); here they stay aligned. ``smoothing`` and ``verbose`` are accepted for
    crowd-kit's signature and, as there, unused.

    Attributes (after ``fit``): ``labels_``, ``probas_`` (tasks and labels in order of
    first appearance), ``spamming_`` (workers × 2: [spamming, knowing] weights),
    ``thetas_`` (workers × labels: each worker's spamming distribution),
    ``theta_priors_``/``strategy_priors_`` (VB's priors; None under EM), ``smoothing_``,
    ``log_marginal_likelihood_`` and ``restart_`` (which restart was kept).
    """

    def __init__(
        self,
        n_restarts: int = 10,
        n_iter: int = 50,
        method: str = "vb",
        smoothing: float = 0.1,
        default_noise: float = 0.5,
        alpha: float = 0.5,
        beta: float = 0.5,
        random_state: int = 0,
        verbose: int = 0,
    ):
        self.n_restarts = n_restarts
        self.n_iter = n_iter
        self.method = method
        self.smoothing = smoothing
        self.default_noise = default_noise
        self.alpha = alpha
        self.beta = beta
        self.random_state = random_state
        self.verbose = verbose


    def fit(self, data: pd.DataFrame) -> "MACE":
        """Fits the model to ``data``."""
        _check_count("n_restarts", self.n_restarts)
        _check_count("n_iter", self.n_iter, minimum=0)
        if self.method not in ("vb", "em"):
            raise ValueError(f"method={self.method!r} is not one of 'vb', 'em'")
        coded = encode(data)
        labels, probas, learned = _run(
            "mace",
            coded,
            n_restarts=int(self.n_restarts),
            n_iter=int(self.n_iter),
            method=str(self.method),
            default_noise=float(self.default_noise),
            alpha=float(self.alpha),
            beta=float(self.beta),
            random_state=_seed32(self.random_state),
        )
        self.probas_ = pd.DataFrame(probas, index=pd.Index(coded.task_ids, name="task"), columns=pd.Index(coded.classes))
        self.labels_ = _labels(coded, labels)
        self.spamming_, self.thetas_ = learned["spamming"], learned["thetas"]
        lml, restart = learned["log_marginal_likelihood"], int(learned["restart"])
        r, k = len(coded.worker_ids), len(coded.classes)
        vb = self.method == "vb"
        self.theta_priors_ = np.tile([float(self.alpha), float(self.beta)], (r, 1)) if vb else None
        self.strategy_priors_ = np.full((r, k), 10.0) if vb else None
        self.smoothing_ = 0.01 / k
        self.log_marginal_likelihood_, self.restart_ = lml, restart
        return self


class MMSR(_Base):
    """M-MSR (Ma & Olshevsky 2020), as crowd-kit 1.4: each worker's skill from robust
    rank-one completion of the workers' agreement matrix (dense, workers × workers), started
    from crowd-kit's draws (numpy's legacy generator, ``random_state``); then a vote
    weighted by ``log((M − 1) p / (1 − p))``, which is negative for a worker below chance.

    ``fit(data)`` learns ``skills_`` (Series indexed by worker in order of first
    appearance, named ``skill``) and ``loss_history_``; ``predict``/``predict_score`` set
    ``labels_`` and ``scores_`` as crowd-kit's skill-weighted majority vote does: per task
    the weight sums divided by their total (sorted tasks and labels), the label the largest
    of those (where the total is negative this is the label of least weight, as crowd-kit).
    """

    def __init__(self, n_iter: int = 10000, tol: float = 1e-10, random_state: Optional[int] = 0):
        self.n_iter = n_iter
        self.tol = tol
        self.random_state = random_state


    def fit(self, data: pd.DataFrame) -> "MMSR":
        """Learns each worker's skill from ``data``."""
        _check_count("n_iter", self.n_iter, minimum=0)
        if self.random_state is None:
            raise ValueError("random_state=None (a fresh seed) is not supported: give an int for reproducible runs")
        coded = encode(data)
        _, _, learned = _run(
            "mmsr", coded, n_iter=int(self.n_iter), tol=float(self.tol), random_state=_seed32(self.random_state)
        )
        self.skills_ = pd.Series(learned["skills"], index=pd.Index(coded.worker_ids, name="worker"), name="skill")
        self.loss_history_: List[float] = list(learned["loss_history"])
        return self

    def _apply(self, data: pd.DataFrame) -> "MMSR":
        if not hasattr(self, "skills_"):
            raise ValueError("MMSR is not fitted yet: call fit(data) first")
        coded = encode(data)
        weights = self.skills_.reindex(coded.worker_ids).to_numpy(dtype=np.float64)
        missing = np.flatnonzero(np.isnan(weights))
        if len(missing):
            raise ValueError(f"worker {coded.worker_ids[missing[0]]!r} of data has no skill: fit on data with every worker")
        sums = np.zeros((len(coded.task_ids), len(coded.classes)))
        np.add.at(sums, (coded.tasks, coded.labels), weights[coded.workers])
        frame = pd.DataFrame(sums, index=pd.Index(coded.task_ids, name="task"), columns=pd.Index(coded.classes, name="label"))
        frame = frame.sort_index(axis=0).sort_index(axis=1)
        self.scores_ = frame.div(frame.sum(axis=1), axis=0)
        # crowd-kit's idxmax over the sorted labels (a vote with negative weights, which the
        # core's majority vote refuses, so computed here).
        values = self.scores_.columns.to_numpy()[np.argmax(self.scores_.to_numpy(), axis=1)]
        self.labels_ = pd.Series(values, index=self.scores_.index, name="agg_label")
        return self

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """The skill-weighted label of each task of ``data``."""
        return self._apply(data).labels_

    def predict_score(self, data: pd.DataFrame) -> pd.DataFrame:
        """The skill-weighted scores of each task of ``data`` (crowd-kit's ``scores_``)."""
        return self._apply(data).scores_

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:  # type: ignore[override]
        """``fit(data)``, then ``predict(data)``."""
        return self.fit(data).predict(data)

    def fit_predict_score(self, data: pd.DataFrame) -> pd.DataFrame:
        """``fit(data)``, then ``predict_score(data)``."""
        return self.fit(data).predict_score(data)


def _seed32(seed: Any) -> int:
    """numpy's legacy seed: an int in [0, 2**32)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"random_state={seed!r}: expected an int between 0 and 2**32 - 1")
    return int(seed)


class BinaryRelevance(_Base):
    """Binary relevance for multi-label answers, as crowd-kit 1.4: each label is its own
    yes/no question, aggregated by a copy of ``base_aggregator`` (default ``MajorityVote()``;
    any conal or crowd-kit classification aggregator with ``fit_predict``); a task's labels
    are those whose aggregate is yes.

    ``data``: columns ``task``, ``worker``, ``label``, where each ``label`` is a list (or
    tuple, set) of the labels the worker chose; an empty list chooses none.

    Attributes (after ``fit``): ``labels_`` (Series indexed by task: the list of its labels,
    in sorted label order; tasks in the order the first label's aggregator gives them, as
    crowd-kit), ``aggregators_`` (dict: label → its fitted aggregator). Unlike crowd-kit,
    whose ``aggregators_`` is one dict shared by every instance, each instance has its own.
    """

    def __init__(self, base_aggregator: Any = None):
        self.base_aggregator = base_aggregator

    def fit(self, data: pd.DataFrame) -> "BinaryRelevance":
        """Fits one aggregator per label found in ``data``."""
        base = MajorityVote() if self.base_aggregator is None else self.base_aggregator
        if not callable(getattr(base, "fit_predict", None)):
            raise TypeError(
                f"base_aggregator must be a classification aggregator with fit_predict, got {type(base).__name__}"
            )
        frame = check_frame(data, allow_empty=True)
        chosen = frame["label"].tolist()
        for row, value in enumerate(chosen):
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise ValueError(
                    f"column 'label', row {row}: {value!r} is not a list of labels (BinaryRelevance "
                    f"takes a list, tuple or set of labels per answer)"
                )
        sizes = np.fromiter((len(set(v)) for v in chosen), dtype=np.int64, count=len(chosen))
        flat = [x for v in chosen for x in set(v)]
        try:
            classes = sorted(set(flat))
        except TypeError:  # labels that do not sort: first appearance
            classes = list(dict.fromkeys(flat))
        member = np.zeros((len(chosen), len(classes)), dtype=np.int64)
        if flat:
            rows = np.repeat(np.arange(len(chosen)), sizes)
            member[rows, pd.Index(classes).get_indexer(flat)] = 1
        self.aggregators_: dict = {}
        chosen_by_task: dict = {}
        for c, label in enumerate(classes):
            single = pd.DataFrame({"task": frame["task"].to_numpy(), "worker": frame["worker"].to_numpy(), "label": member[:, c]})
            aggregator = _clone(base)
            yes = aggregator.fit_predict(single)
            self.aggregators_[label] = aggregator
            for task, value in yes.items():
                chosen_by_task.setdefault(task, [])
                if value:
                    chosen_by_task[task].append(label)
        if chosen_by_task:
            self.labels_ = pd.Series(chosen_by_task, name="agg_label")
            self.labels_.index.name = "task"
        else:
            self.labels_ = pd.Series(chosen_by_task, dtype=np.float64, name="agg_label")
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:  # type: ignore[override]
        """``fit(data)``, then ``labels_``."""
        return self.fit(data).labels_


class _Pairwise(_Base):
    """What the pairwise aggregators share: ``fit``, ``fit_predict`` (→ ``scores_``) and
    ``confidence_intervals``."""

    _method = ""
    _needs_worker = False
    _index_name: Optional[str] = None

    def fit(self, data: pd.DataFrame) -> Any:
        """Fits the scores to the comparisons in ``data`` (columns ``left``, ``right``,
        ``label``, and ``worker`` where the method models workers; ``label`` is the chosen
        item, or ``"tie"``/``"equal"`` for neither)."""
        frame = check_comparisons(data, self._needs_worker)
        self.loss_history_: List[float] = []
        if len(frame) == 0:
            self._coded = None
            self._set_empty()
            return self
        self._coded = encode_comparisons(frame, self._needs_worker)
        scores, learned, _ = _conal.rank(self._method, self._coded, self._params())
        self._set(scores, learned)
        return self

    def _set_empty(self) -> None:
        index = pd.Index([], name=self._index_name) if self._index_name else None
        self.scores_ = pd.Series([], index=index, dtype=np.float64, name="agg_score")

    def _scores(self, values: np.ndarray) -> pd.Series:
        index = pd.Index(self._coded.item_ids, name=self._index_name)
        return pd.Series(values, index=index, name="agg_score")

    def _set(self, scores: np.ndarray, learned: dict) -> None:
        self.scores_ = self._scores(scores)
        self.loss_history_ = [float(v) for v in learned.get("loss_history", [])]

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:  # type: ignore[override]
        """``fit(data)``, then ``scores_``."""
        return self.fit(data).scores_

    def confidence_intervals(self, level: float = 0.95, n_resamples: int = 200, random_state: int = 0) -> pd.DataFrame:
        """Each item's score with a confidence interval at ``level``, by the bootstrap over
        comparisons (each of ``n_resamples`` resamples weighs every comparison by a
        Poisson(1) draw and refits; the interval is normal on the log scale with the
        resamples' spread; on generated Bradley-Terry data the 95 % intervals hold the true
        score 95 % of the time). Returns a DataFrame indexed as ``scores_`` with columns
        ``score``, ``lower``, ``upper``. Not part of crowd-kit."""
        if not hasattr(self, "scores_"):
            raise ValueError("call fit(data) before confidence_intervals()")
        if self._coded is None:
            return pd.DataFrame({"score": [], "lower": [], "upper": []}, index=self.scores_.index, dtype=np.float64)
        scores, _, bounds = _conal.rank(
            self._method, self._coded, self._params(), level, int(n_resamples), int(random_state)
        )
        lower, upper = bounds
        index = self.scores_.index
        return pd.DataFrame({"score": scores, "lower": lower, "upper": upper}, index=index)


class BradleyTerry(_Pairwise):
    """Bradley-Terry for pairwise comparisons, as crowd-kit 1.4: item ``i`` beats ``j``
    with probability ``p_i / (p_i + p_j)``; the scores ``p`` (summing to 1) maximise the
    likelihood of the wins, found by Hunter's MM algorithm from uniform scores.

    ``data``: columns ``left``, ``right``, ``label`` (the chosen item; ``worker`` and other
    columns are ignored). Stops after ``n_iter`` iterations or once the scores move by less
    than ``tol`` (L1 norm). crowd-kit's check compares the new scores with themselves, so
    with ``tol > 0`` it stops after the second iteration whatever the data; conal stops
    when the scores have converged (with ``tol=0`` both run ``n_iter`` iterations and agree
    to rounding).

    ``ties``: a label ``"tie"`` or ``"equal"`` (naming neither item) counts for nothing
    (``"drop"``, the default, as crowd-kit's Bradley-Terry) or as half a win for each item
    (``"half"``). A label that names neither item nor a tie, or an item compared with
    itself, is a ValueError naming the row.

    Attributes (after ``fit``): ``scores_`` (Series indexed by item, sorted, named
    ``agg_score``; NaN for an item with no decisive comparison), ``loss_history_`` (how far
    the scores moved at each iteration). ``confidence_intervals()`` adds bootstrap intervals.

    Example::

        >>> df = pd.DataFrame({"worker": ["w1"] * 3, "left": ["a", "b", "c"],
        ...                    "right": ["b", "c", "a"], "label": ["a", "b", "a"]})
        >>> BradleyTerry(n_iter=100).fit_predict(df).idxmax()
        'a'
    """

    _method = "bt"

    def __init__(self, n_iter: int, tol: float = 1e-5, ties: str = "drop"):
        self.n_iter = n_iter
        self.tol = tol
        self.ties = ties


class NoisyBradleyTerry(_Pairwise):
    """Noisy Bradley-Terry, crowd-kit 1.4's model: worker ``w`` compares by strength with
    probability ``skill_w`` (``P(i wins) = σ(s_i − s_j)``) and otherwise picks the left
    item with probability ``bias_w``; strengths are pulled towards an anchor at 0 by
    ``regularization_ratio``. ``scores_`` is ``σ(s_i)``, the chance of beating the anchor.

    ``data``: columns ``worker``, ``left``, ``right``, ``label``. Fitted by EM (closed-form
    steps, each raising the objective) from the start crowd-kit draws with
    ``random_state``, until the objective grows by less than ``tol`` relative to its size or
    after ``n_iter`` iterations.

    Differs from crowd-kit's numbers on purpose: crowd-kit's L-BFGS-B gets a gradient that
    disagrees with its objective (each worker's skill and bias terms overwritten rather than
    summed and one index off, the regulariser's sign reversed), and leaves the anchor free,
    so that its scores move with the random start; conal fixes the anchor at 0 and reaches
    the objective's maximum. A tie (``"tie"``/``"equal"``) counts for nothing (``ties=
    "drop"``) or half a win each (``"half"``); crowd-kit counts it as a win of the right
    item.

    Attributes (after ``fit``): ``scores_`` (indexed by item, index named ``label``),
    ``skills_`` (named ``skill``) and ``biases_`` (named ``bias``) indexed by worker,
    ``loss_history_`` (the negative objective at each iteration).
    """

    _method = "noisy-bt"
    _needs_worker = True
    _index_name = "label"

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        regularization_ratio: float = 1e-5,
        random_state: int = 0,
        ties: str = "drop",
    ):
        self.n_iter = n_iter
        self.tol = tol
        self.regularization_ratio = regularization_ratio
        self.random_state = random_state
        self.ties = ties

    def _set_empty(self) -> None:
        super()._set_empty()
        self.skills_ = pd.Series([], dtype=np.float64, name="skill")
        self.biases_ = pd.Series([], dtype=np.float64, name="bias")

    def _set(self, scores: np.ndarray, learned: dict) -> None:
        super()._set(scores, learned)
        workers = pd.Index(self._coded.worker_ids)
        self.skills_ = pd.Series(learned["skills"], index=workers, name="skill")
        self.biases_ = pd.Series(learned["biases"], index=workers, name="bias")


class _Segmentation(_Base):
    """What the segmentation aggregators share: ``fit`` → ``segmentations_`` (a Series
    indexed by task, sorted, named ``agg_segmentation``, of 2-D boolean arrays)."""

    _method = ""

    def _segment(self, frame: pd.DataFrame, **params: Any) -> "_Segmentation":
        if len(frame) == 0:
            self.segmentations_ = pd.Series([], dtype=object, name="agg_segmentation")
            self.loss_history_: List[float] = []
            return self
        coded = encode_masks(frame)
        masks, learned = _conal.segment(self._method, coded, params)
        self.segmentations_ = pd.Series(masks, index=pd.Index(coded.task_ids, name="task"), name="agg_segmentation", dtype=object)
        if "loss_history" in learned:
            self.loss_history_ = [float(v) for v in learned["loss_history"]]
        return self

    def fit_predict(self, data: pd.DataFrame, *args: Any, **kwargs: Any) -> pd.Series:  # type: ignore[override]
        """``fit(data)``, then ``segmentations_``."""
        return self.fit(data, *args, **kwargs).segmentations_


class SegmentationMajorityVote(_Segmentation):
    """Segmentation majority vote, as crowd-kit 1.4: a pixel is in a task's mask when the
    workers who put it in weigh at least half of all (each worker weighs 1, or its skill
    with ``fit(data, skills)``; ``on_missing_skill``/``default_skill`` as in
    ``MajorityVote``).

    ``data``: columns ``task``, ``worker``, ``segmentation`` (a 2-D boolean or 0/1 array;
    every mask of a task has the same shape, else a ValueError naming the row). Attribute:
    ``segmentations_`` (Series indexed by task of boolean arrays)."""

    _method = "seg-mv"

    def __init__(self, default_skill: Optional[float] = None, on_missing_skill: str = "error"):
        self.default_skill = default_skill
        self.on_missing_skill = on_missing_skill

    def fit(self, data: pd.DataFrame, skills: Optional[pd.Series] = None) -> "SegmentationMajorityVote":
        """Aggregates the masks of ``data``, weighting workers by ``skills`` when given."""
        frame = check_masks(data)
        if skills is None or len(frame) == 0:
            return self._segment(frame)
        if not isinstance(skills, pd.Series):
            raise TypeError(f"skills must be a pandas Series indexed by worker, got {type(skills).__name__}")
        mode = self.on_missing_skill
        if mode not in ("error", "ignore", "value"):
            raise ValueError(f"on_missing_skill={mode!r} is not one of 'error', 'ignore', 'value'")
        if mode == "value" and self.default_skill is None:
            raise ValueError('default_skill must be given with on_missing_skill="value"')
        weights = skills.reindex(frame["worker"]).to_numpy(dtype=np.float64, copy=True)
        missing = np.isnan(weights)
        if missing.any():
            rows = np.flatnonzero(missing)
            if mode == "error":
                row = int(rows[0])
                raise ValueError(
                    f"column 'worker', row {row}: worker {frame['worker'].iloc[row]!r} has no skill "
                    f"({len(rows)} masks of workers without a skill; give every worker a skill, or "
                    f"on_missing_skill='ignore' or 'value')"
                )
            if mode == "value":
                weights[missing] = float(self.default_skill)
            else:
                kept = ~missing
                lost = set(frame["task"]) - set(frame["task"][kept])
                if lost:
                    raise ValueError(
                        f"{len(lost)} tasks have no mask from a worker with a skill; give those "
                        f"workers a skill or use on_missing_skill='value'"
                    )
                frame, weights = frame[kept], weights[kept]
        bad = np.flatnonzero(~np.isfinite(weights))
        if len(bad):
            raise ValueError(f"column 'worker', row {int(bad[0])}: skill {weights[bad[0]]} is not a finite number")
        # One weight per row: each row is its own worker for the core's weighted vote.
        rows = frame.assign(worker=np.arange(len(frame)))
        return self._segment(rows, skills=weights)


class SegmentationRASA(_Segmentation):
    """Segmentation RASA, as crowd-kit 1.4: a vote weighted by each worker's closeness to it
    (``log(1/(d + 1e-5) + 1)``, ``d`` the Jaccard distance of the worker's mask to the vote,
    normalised), alternated from equal weights until the vote's relative squared change is
    below ``tol`` or ``n_iter`` rounds; computed in numpy's summation order, so the masks
    equal crowd-kit's. ``loss_history_`` is the last task's, as crowd-kit keeps it. With
    ``n_iter=0`` each task's mask is the equal-weight vote (crowd-kit returns the weighted
    sums themselves, not a mask)."""

    _method = "seg-rasa"

    def __init__(self, n_iter: int = 10, tol: float = 1e-5):
        self.n_iter = n_iter
        self.tol = tol

    def fit(self, data: pd.DataFrame) -> "SegmentationRASA":
        """Aggregates the masks of ``data`` (columns task, worker, segmentation)."""
        return self._segment(check_masks(data), n_iter=self.n_iter, tol=self.tol)


class SegmentationEM(_Segmentation):
    """Segmentation EM, as crowd-kit 1.4 (Jung-Lin Lee et al. 2018): per-pixel posteriors of
    being in the mask and each worker's chance of a correct mark, alternated over the pixels
    any worker marked, until the evidence lower bound per pixel grows by less than ``tol`` or
    ``n_iter`` rounds; a pixel is in when its posterior exceeds 0.5. Computed as crowd-kit
    computes it (numpy's summation order, its NaN and infinity rules), so the masks equal
    crowd-kit's. ``loss_history_`` is the last task's, as crowd-kit keeps it."""

    _method = "seg-em"
    eps = 1e-15

    def __init__(self, n_iter: int = 10, tol: float = 1e-5):
        self.n_iter = n_iter
        self.tol = tol

    def fit(self, data: pd.DataFrame) -> "SegmentationEM":
        """Aggregates the masks of ``data`` (columns task, worker, segmentation)."""
        return self._segment(check_masks(data), n_iter=self.n_iter, tol=self.tol)


_EMBEDDING_COLUMNS = ("task", "worker", "output", "embedding")


def _closest_frames(frame: pd.DataFrame, scores: np.ndarray, closest: np.ndarray, task_ids: pd.Index, task_codes: np.ndarray) -> tuple:
    """crowd-kit's ``scores_`` (every answer: output, score, embedding, indexed by task) and
    ``embeddings_and_outputs_`` (each task's closest answer, tasks sorted)."""
    tasks = task_ids.take(task_codes)
    scored = pd.DataFrame(
        {"output": frame["output"].to_numpy(), "score": scores, "embedding": frame["embedding"].to_numpy()},
        index=pd.Index(tasks, name="task"),
    )
    chosen = closest[closest >= 0]
    best = pd.DataFrame(
        {"output": frame["output"].to_numpy()[chosen], "embedding": frame["embedding"].to_numpy()[chosen]},
        index=pd.Index(task_ids[closest >= 0], name="task"),
    )
    return scored, best


def _embedding_series(table: np.ndarray, task_ids: pd.Index) -> pd.Series:
    return pd.Series(list(table), index=pd.Index(task_ids, name="task"), dtype=object)


class ClosestToAverage(_Base):
    """Closest to average, as crowd-kit 1.4: each task's embedding is the mean of its
    answers' embeddings (known ones from ``true_embeddings`` take their place; or give
    ``aggregated_embeddings``), and the task's answer is the one at the smallest
    ``distance(embedding, aggregate)``.

    ``data``: columns ``task``, ``worker``, ``output`` (the answer) and ``embedding`` (a
    vector of numbers, the same length for every row). ``distance`` is any callable of two
    vectors, called once per answer as crowd-kit calls it (scipy's ``euclidean`` and
    ``sqeuclidean`` are computed by conal's core instead). Attributes: ``scores_`` (every
    answer's output, score and embedding, indexed by task) and ``embeddings_and_outputs_``
    (each task's closest answer)."""

    def __init__(self, distance: Any):
        self.distance = distance

    def fit(self, data: pd.DataFrame, aggregated_embeddings: Optional[pd.Series] = None, true_embeddings: Optional[pd.Series] = None) -> "ClosestToAverage":
        """Finds each task's closest answer."""
        frame = check_columns(data, _EMBEDDING_COLUMNS, "embedded answers")
        if true_embeddings is not None and not true_embeddings.index.is_unique:
            raise ValueError("Incorrect data in true_embeddings: multiple true embeddings for a single task are not supported.")
        coded = encode_embeddings(frame)
        dim = coded.values.shape[1]
        params: dict = {}
        if aggregated_embeddings is not None:
            params["aggregated_embeddings"] = task_table(aggregated_embeddings, coded.task_ids, dim, "aggregated_embeddings")
        elif true_embeddings is not None:
            params["true_embeddings"] = task_table(true_embeddings, coded.task_ids, dim, "true_embeddings")
        known = {_scipy_distance(name): name for name in ("euclidean", "sqeuclidean")}
        native = known.get(self.distance)
        if native is not None:
            params["distance"] = native
        averages, scores, closest, _ = _conal.embed("closest-to-average", coded, params)
        if native is None:
            scores = np.array(
                [float(self.distance(e, averages[t])) for e, t in zip(coded.values, coded.task)], dtype=np.float64
            )
            closest = _first_minimum(scores, coded.task, len(coded.task_ids))
        self.scores_, self.embeddings_and_outputs_ = _closest_frames(frame, scores, closest, coded.task_ids, coded.task)
        return self

    def fit_predict_scores(self, data: pd.DataFrame, aggregated_embeddings: Optional[pd.Series] = None) -> pd.DataFrame:
        """``fit``, then ``scores_``."""
        return self.fit(data, aggregated_embeddings).scores_

    def fit_predict(self, data: pd.DataFrame, aggregated_embeddings: Optional[pd.Series] = None) -> pd.DataFrame:  # type: ignore[override]
        """``fit``, then ``embeddings_and_outputs_``."""
        return self.fit(data, aggregated_embeddings).embeddings_and_outputs_


def _scipy_distance(name: str) -> Any:
    try:
        from scipy.spatial import distance
    except ImportError:  # scipy is optional: without it every distance is a Python callable
        return None
    return getattr(distance, name)


def _first_minimum(scores: np.ndarray, tasks: np.ndarray, n_tasks: int) -> np.ndarray:
    """Each task's first row with the smallest score (NaN skipped, as pandas' idxmin); −1
    for a task with none."""
    order = np.lexsort((np.arange(len(scores)), np.where(np.isnan(scores), np.inf, scores), tasks))
    best = np.full(n_tasks, -1, dtype=np.int64)
    valid = ~np.isnan(scores[order])
    first = np.unique(tasks[order][valid], return_index=True)
    best[first[0]] = order[valid][first[1]]
    return best


class _ClosestAnswer(_Base):
    """What RASA and HRRASA share after ``fit``: each answer's cosine distance to its task's
    aggregate (``scores_``) and each task's closest answer (``embeddings_and_outputs_``)."""

    def _apply(self, data: pd.DataFrame) -> Any:
        frame = check_columns(data, _EMBEDDING_COLUMNS, "embedded answers")
        self.scores_, self.embeddings_and_outputs_ = _closest_frames(
            frame, self._scores, self._closest, self._coded.task_ids, self._coded.task
        )
        return self

    def fit_predict_scores(self, data: pd.DataFrame, true_embeddings: Optional[pd.Series] = None) -> pd.DataFrame:
        """``fit``, then every answer's cosine distance to its task's aggregate."""
        return self.fit(data, true_embeddings)._apply(data).scores_

    def fit_predict(self, data: pd.DataFrame, true_embeddings: Optional[pd.Series] = None) -> pd.DataFrame:  # type: ignore[override]
        """``fit``, then each task's closest answer (``embeddings_and_outputs_``)."""
        return self.fit(data, true_embeddings)._apply(data).embeddings_and_outputs_


class RASA(_ClosestAnswer):
    """RASA on embeddings (Li & Fukumoto 2019), as crowd-kit 1.4: each task's embedding is
    the skill-weighted mean of its answers' embeddings; each worker's skill is the upper
    ``alpha/2`` chi-squared quantile of its number of answers over its summed squared
    distances to the aggregates (at least 1e-5); alternated from equal skills until the
    aggregates' relative squared change is below ``tol`` or ``n_iter`` rounds. Each task's
    answer is the one closest to its aggregate in cosine distance.

    ``data``: columns ``task``, ``worker``, ``embedding`` (and ``output`` for ``fit_predict``
    and ``fit_predict_scores``). Attributes: ``aggregated_embeddings_`` (by task),
    ``skills_`` (by worker, sorted), ``prior_skills_`` (crowd-kit's order: most answers
    first, named ``count``), ``loss_history_``; after ``fit_predict``, ``scores_`` and
    ``embeddings_and_outputs_`` as ``ClosestToAverage`` gives them."""

    def __init__(self, n_iter: int = 100, tol: float = 1e-9, alpha: float = 0.05):
        self.n_iter = n_iter
        self.tol = tol
        self.alpha = alpha

    def fit(self, data: pd.DataFrame, true_embeddings: Optional[pd.Series] = None) -> "RASA":
        """Learns the skills and the aggregates."""
        frame = check_columns(data, ("task", "worker", "embedding"), "embedded answers")
        if true_embeddings is not None and not true_embeddings.index.is_unique:
            raise ValueError("Incorrect data in true_embeddings: multiple true embeddings for a single task are not supported.")
        coded = encode_embeddings(frame)
        params: dict = {"n_iter": self.n_iter, "tol": self.tol, "alpha": self.alpha}
        if true_embeddings is not None:
            params["true_embeddings"] = task_table(true_embeddings, coded.task_ids, coded.values.shape[1], "true_embeddings")
        aggregated, scores, closest, learned = _conal.embed("rasa", coded, params)
        workers = pd.Index(coded.worker_ids, name="worker")
        self.skills_ = pd.Series(learned["skills"], index=workers).sort_index()
        counts = frame["worker"].value_counts()
        self.prior_skills_ = pd.Series(learned["prior_skills"], index=workers, name="count").reindex(counts.index)
        self.aggregated_embeddings_ = _embedding_series(aggregated, coded.task_ids)
        self.loss_history_ = [float(v) for v in learned["loss_history"]]
        self._coded, self._scores, self._closest = coded, scores, closest
        return self



class TextRASA(_Base):
    """RASA on texts, as crowd-kit 1.4's ``TextRASA``: each answer's text is embedded by
    ``encoder`` (a callable text → vector, e.g. a sentence-embedding model), RASA weighs the
    workers, and each task's text is the answer closest to its aggregate.

    ``data``: columns ``task``, ``worker``, ``text``. ``encoder`` is called once per
    distinct text (crowd-kit calls it once per row; the same results for a deterministic
    encoder, and a fraction of the calls when answers repeat). ``true_objects``: known texts
    by task (crowd-kit fails on a Series here; conal encodes it). Attributes: ``texts_`` (by
    task, named ``agg_text``) after ``fit_predict``, and RASA's (``skills_``, ``loss_history_``,
    …)."""

    def __init__(self, encoder: Any, n_iter: int = 100, tol: float = 1e-5, alpha: float = 0.05):
        self.encoder = encoder
        self.n_iter = n_iter
        self.tol = tol
        self.alpha = alpha
        self._rasa = RASA(n_iter, tol, alpha)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_rasa":
            raise AttributeError(name)
        return getattr(self._rasa, name)

    def _encode(self, data: pd.DataFrame) -> pd.DataFrame:
        frame = check_columns(data, ("task", "worker", "text"), "texts")
        texts = frame["text"]
        bad = np.flatnonzero(~texts.map(lambda t: isinstance(t, str) and t.strip() != "").to_numpy())
        if len(bad):
            raise ValueError(f"column 'text', row {int(bad[0])}: {texts.iloc[bad[0]]!r} is not a non-empty text")
        codes, distinct = pd.factorize(texts)
        vectors = [np.asarray(self.encoder(t), dtype=np.float64) for t in distinct]
        return pd.DataFrame(
            {
                "task": frame["task"].to_numpy(),
                "worker": frame["worker"].to_numpy(),
                "output": texts.to_numpy(),
                "embedding": [vectors[c] for c in codes],
            }
        )

    def _true(self, true_objects: Optional[pd.Series]) -> Optional[pd.Series]:
        if true_objects is None:
            return None
        return true_objects.map(lambda t: np.asarray(self.encoder(t), dtype=np.float64))

    def fit(self, data: pd.DataFrame, true_objects: Optional[pd.Series] = None) -> "TextRASA":
        """Learns the workers' skills and the aggregates from the encoded texts."""
        self._rasa.fit(self._encode(data), self._true(true_objects))
        return self

    def fit_predict_scores(self, data: pd.DataFrame, true_objects: Optional[pd.Series] = None) -> pd.DataFrame:
        """``fit``, then every answer's cosine distance to its task's aggregate."""
        return self._rasa.fit_predict_scores(self._encode(data), self._true(true_objects))

    def fit_predict(self, data: pd.DataFrame, true_objects: Optional[pd.Series] = None) -> pd.Series:  # type: ignore[override]
        """``fit``, then each task's text (``texts_``)."""
        chosen = self._rasa.fit_predict(self._encode(data), self._true(true_objects))
        self.texts_ = chosen["output"].rename("agg_text")
        return self.texts_


def glue_similarity(hyp: str, ref: Any) -> float:
    """crowd-kit's default output similarity for HRRASA: nltk's sentence GLEU of ``ref``
    against ``hyp`` split into words, called as crowd-kit calls it (with the other answer's
    text as the hypothesis, so its n-grams are of characters)."""
    try:
        import nltk.translate.gleu_score as gleu
    except ImportError as e:  # nltk comes with crowd-kit, not with conal
        raise ImportError(
            "HRRASA's default output similarity is nltk's GLEU (pip install nltk), or pass "
            "output_similarity=a function of two outputs"
        ) from e
    return float(gleu.sentence_gleu([hyp.split()], ref))


class HRRASA(_ClosestAnswer):
    """HRRASA (Li 2020), as crowd-kit 1.4: RASA whose weights are each worker's global skill
    times a local skill per answer — its closeness to the task's other answers, ``lambda_emb``
    × the mean of ``exp(−|e − e'|² / (|e|² |e'|²))`` plus ``lambda_out`` × the mean
    ``output_similarity(output, other_output)`` (default crowd-kit's ``glue_similarity``) —
    and each task's answer is the one closest to its aggregate in cosine distance. Tasks with
    one answer take no part in the skills; their aggregate is that answer.

    ``data``: columns ``task``, ``worker``, ``embedding``, ``output``. ``output_similarity`` is
    called once per ordered pair of a task's answers by different workers, as crowd-kit calls
    it; the rest runs in conal's core. (crowd-kit 1.4.2's own ``HRRASA`` fails with pandas
    2 on vector embeddings: it casts a Series of arrays to float64.) Attributes as crowd-kit's: ``aggregated_embeddings_``,
    ``skills_``, ``prior_skills_``, ``weights_`` (by task and worker; crowd-kit appends the
    one-answer tasks' rows as columns), ``loss_history_``; with
    ``calculate_ranks``, ``ranks_`` (task, output, rank = skill × exp(−d / (|e|² |a|²)) + local
    skill: crowd-kit multiplies a Series by worker with one by row, which leaves its ranks NaN)."""

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-9,
        lambda_emb: float = 0.5,
        lambda_out: float = 0.5,
        alpha: float = 0.05,
        calculate_ranks: bool = False,
        output_similarity: Any = glue_similarity,
    ):
        self.n_iter = n_iter
        self.tol = tol
        self.lambda_emb = lambda_emb
        self.lambda_out = lambda_out
        self.alpha = alpha
        self.calculate_ranks = calculate_ranks
        self.output_similarity = output_similarity

    def _output_means(self, frame: pd.DataFrame, coded: Any) -> np.ndarray:
        """Each answer's mean output similarity to its task's other workers' answers."""
        means = np.zeros(len(frame))
        outputs = frame["output"].to_numpy()
        workers = coded.worker
        order = np.argsort(coded.task, kind="stable")
        bounds = np.flatnonzero(np.diff(coded.task[order])) + 1
        for rows in np.split(order, bounds):
            if len(rows) < 2:
                continue
            for r in rows:
                total = 0.0
                for q in rows:
                    if workers[q] != workers[r]:
                        total += self.output_similarity(outputs[r], outputs[q])
                means[r] = total / (len(rows) - 1)
        return means

    def fit(self, data: pd.DataFrame, true_embeddings: Optional[pd.Series] = None) -> "HRRASA":
        """Learns the skills and the aggregates."""
        frame = check_columns(data, ("task", "worker", "embedding", "output"), "embedded answers")
        if true_embeddings is not None and not true_embeddings.index.is_unique:
            raise ValueError("Incorrect data in true_embeddings: multiple true embeddings for a single task are not supported.")
        coded = encode_embeddings(frame)
        params: dict = {
            "n_iter": self.n_iter,
            "tol": self.tol,
            "lambda_emb": self.lambda_emb,
            "lambda_out": self.lambda_out,
            "alpha": self.alpha,
        }
        if self.lambda_out != 0:
            params["output_similarity"] = self._output_means(frame, coded)
        if true_embeddings is not None:
            params["true_embeddings"] = task_table(true_embeddings, coded.task_ids, coded.values.shape[1], "true_embeddings")
        aggregated, scores, closest, learned = _conal.embed("hrrasa", coded, params)
        counts = np.bincount(coded.task, minlength=len(coded.task_ids))
        multi = counts > 1
        # crowd-kit's order: the tasks with several answers (sorted), then the others.
        task_order = np.concatenate([np.flatnonzero(multi), np.flatnonzero(~multi)])
        self.aggregated_embeddings_ = pd.Series(
            list(aggregated[task_order]), index=pd.Index(coded.task_ids[task_order], name="task"), dtype=object
        )
        workers = pd.Index(coded.worker_ids, name="worker")
        skills = pd.Series(learned["skills"], index=workers)
        known = skills.notna()
        self.skills_ = pd.concat([skills[known].sort_index(), skills[~known]])
        kept_rows = multi[coded.task]
        counts_by_worker = frame["worker"][kept_rows].value_counts()
        prior = pd.Series(learned["prior_skills"], index=workers, name="count")
        self.prior_skills_ = pd.concat([prior.reindex(counts_by_worker.index), prior[prior.isna()]])
        if (~multi).any():
            # crowd-kit appends the one-answer tasks' workers with pd.concat, which drops
            # the names.
            self.skills_.index.name = None
            self.prior_skills_.index.name = None
            self.prior_skills_.name = None
        self.weights_ = pd.DataFrame(
            {"weight": learned["weights"]},
            index=pd.MultiIndex.from_arrays([frame["task"].to_numpy(), frame["worker"].to_numpy()], names=["task", "worker"]),
        )
        self.loss_history_ = [float(v) for v in learned["loss_history"]]
        if self.calculate_ranks:
            agg_rows = aggregated[coded.task]
            distance_ = np.sum((coded.values - agg_rows) ** 2, axis=1)
            distance_[distance_ == 0.0] = 1e-5
            norms = np.sum(coded.values**2, axis=1) * np.sum(agg_rows**2, axis=1)
            rank = learned["skills"][coded.worker] * np.exp(-distance_ / norms) + learned["local_skills"]
            self.ranks_ = pd.DataFrame({"task": frame["task"].to_numpy(), "output": frame["output"].to_numpy(), "rank": rank})
        self._coded, self._scores, self._closest = coded, scores, closest
        return self



class TextHRRASA(TextRASA):
    """HRRASA on texts, as crowd-kit 1.4's ``TextHRRASA``: texts embedded by ``encoder``
    (once per distinct text), HRRASA with the texts as outputs, ``texts_`` each task's chosen
    text (named ``agg_text``)."""

    def __init__(
        self,
        encoder: Any,
        n_iter: int = 100,
        tol: float = 1e-5,
        lambda_emb: float = 0.5,
        lambda_out: float = 0.5,
        alpha: float = 0.05,
        calculate_ranks: bool = False,
        output_similarity: Any = glue_similarity,
    ):
        self.encoder = encoder
        self.n_iter = n_iter
        self.tol = tol
        self.lambda_emb = lambda_emb
        self.lambda_out = lambda_out
        self.alpha = alpha
        self.calculate_ranks = calculate_ranks
        self.output_similarity = output_similarity
        self._rasa = HRRASA(n_iter, tol, lambda_emb, lambda_out, alpha, calculate_ranks, output_similarity)


class _CodedTexts:
    """Tokenised texts for the core: ``task`` code per row (tasks sorted), ``offsets`` into
    ``tokens`` (word ids), ``words`` (the vocabulary, the empty word first)."""

    def __init__(self, task: np.ndarray, offsets: np.ndarray, tokens: np.ndarray, words: list, task_ids: pd.Index):
        self.task, self.offsets, self.tokens, self.words, self.task_ids = task, offsets, tokens, words, task_ids

    @property
    def task_names(self) -> list[str]:
        return [str(t) for t in self.task_ids]


class ROVER(_Base):
    """ROVER (Fiscus 1997), as crowd-kit 1.4: each task's texts, split into words by
    ``tokenizer``, are aligned one after another into a word transition network; the text
    is each place's most frequent word (ties: the longer, then the greater word), joined by
    ``detokenizer``. The alignment makes crowd-kit's choices, so the texts are crowd-kit's.

    ``data``: columns ``task``, ``worker``, ``text`` (the answers in row order: the first
    row of a task starts the network). ``tokenizer`` (text → list of words) is called once
    per distinct text, ``detokenizer`` (list of words → text) once per task. ``silent`` is
    accepted for crowd-kit's signature (there is no progress bar to show: tasks take
    microseconds). Attribute: ``texts_`` (by task, sorted, named ``agg_text``)."""

    def __init__(self, tokenizer: Any, detokenizer: Any, silent: bool = True):
        self.tokenizer = tokenizer
        self.detokenizer = detokenizer
        self.silent = silent

    def fit(self, data: pd.DataFrame) -> "ROVER":
        """Aligns each task's texts."""
        frame = check_columns(data, ("task", "text"), "texts")
        if len(frame) == 0:
            self.texts_ = pd.Series([], index=pd.Index([], name="task"), dtype=object, name="agg_text")
            return self
        task_codes, task_ids = _sorted_codes(frame["task"].to_numpy())
        text_codes, distinct = pd.factorize(frame["text"])
        if (text_codes < 0).any():
            row = int(np.flatnonzero(text_codes < 0)[0])
            raise ValueError(f"column 'text', row {row}: no text (a missing value)")
        tokenized = [list(self.tokenizer(t)) for t in distinct]
        for words in tokenized:
            bad = [w for w in words if not isinstance(w, str)]
            if bad:
                raise TypeError(f"tokenizer must return a list of strings; got {type(bad[0]).__name__} {bad[0]!r}")
        vocabulary: dict = {"": 0}
        per_text = [np.array([vocabulary.setdefault(w, len(vocabulary)) for w in words], dtype=np.int64) for words in tokenized]
        lengths = np.array([len(per_text[c]) for c in text_codes], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        tokens = np.concatenate([per_text[c] for c in text_codes]) if offsets[-1] else np.zeros(0, dtype=np.int64)
        words = list(vocabulary)
        coded = _CodedTexts(task_codes, offsets, tokens.astype(np.int64), [str(w) for w in words], task_ids)
        chosen = _conal.aggregate_texts("rover", coded, {})
        texts = [self.detokenizer([words[w] for w in ids]) for ids in chosen]
        self.texts_ = pd.Series(texts, index=pd.Index(task_ids, name="task"), name="agg_text")
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:  # type: ignore[override]
        """``fit``, then ``texts_``."""
        return self.fit(data).texts_


def _clone(aggregator: Any) -> Any:
    """A new, unfitted aggregator with the same parameters: conal's from its constructor's
    parameters, another library's (crowd-kit's) from its public, non-fitted attributes, as
    crowd-kit's ``clone_aggregator`` does."""
    if isinstance(aggregator, _Base):
        return type(aggregator)(**aggregator._params())
    params = {k: v for k, v in vars(aggregator).items() if not (k.startswith("_") or k.endswith("_"))}
    return type(aggregator)(**params)
