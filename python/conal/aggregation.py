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

from typing import Any, List, Optional

import numpy as np
import pandas as pd

from . import _conal
from ._data import Coded, encode

__all__ = ["MajorityVote", "DawidSkene", "GLAD"]


def _probas(coded: Coded, posteriors: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        posteriors,
        index=pd.Index(coded.task_ids, name="task"),
        columns=pd.Index(coded.classes, name="label"),
    )


def _labels(probas: pd.DataFrame) -> pd.Series:
    # The first most probable label in column order, as crowd-kit's idxmax.
    values = probas.columns.to_numpy()[np.argmax(probas.to_numpy(), axis=1)]
    return pd.Series(values, index=probas.index, name="agg_label")


def _args(coded: Coded) -> tuple:
    return (
        coded.tasks,
        coded.workers,
        coded.labels,
        len(coded.task_ids),
        len(coded.worker_ids),
        len(coded.classes),
    )


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
        return {}


class MajorityVote(_Base):
    """Majority vote: each task's label distribution is its vote shares; the label is the
    most voted one (ties: the first in column order, as crowd-kit).

    Attributes (after ``fit``): ``labels_`` (Series indexed by task, named ``agg_label``),
    ``probas_`` (DataFrame task × label), ``skills_`` (each worker's agreement with the
    aggregate, Series indexed by worker, named ``skill``).
    """

    def __init__(self, on_missing_skill: str = "error", default_skill: Optional[float] = None):
        self.on_missing_skill = on_missing_skill
        self.default_skill = default_skill

    def _params(self) -> dict:
        return {"on_missing_skill": self.on_missing_skill, "default_skill": self.default_skill}

    def fit(self, data: pd.DataFrame, skills: Optional[pd.Series] = None) -> "MajorityVote":
        """Fits the model to ``data`` (columns task, worker, label)."""
        if skills is not None:
            raise ValueError(
                "weighted majority vote (skills=) is not supported yet; use crowdkit's or "
                "pass skills=None"
            )
        coded = encode(data)
        self.probas_ = _probas(coded, _conal.majority_vote(*_args(coded)))
        self.labels_ = _labels(self.probas_)
        self.skills_ = _agreement(coded, self.probas_)
        return self


def _agreement(coded: Coded, probas: pd.DataFrame) -> pd.Series:
    """Each worker's share of labels equal to the aggregate (crowd-kit's ``get_accuracy``;
    the core has already refused repeated (task, worker) pairs), indexed by sorted worker."""
    chosen = np.argmax(probas.to_numpy(), axis=1)
    right = (coded.labels == chosen[coded.tasks]).astype(np.float64)
    n = len(coded.worker_ids)
    share = np.bincount(coded.workers, weights=right, minlength=n) / np.bincount(coded.workers, minlength=n)
    skills = pd.Series(share, index=pd.Index(coded.worker_ids, name="worker"), name="skill")
    return skills.sort_index()


class DawidSkene(_Base):
    """Dawid-Skene (1979): one confusion matrix per worker, EM from majority vote, as
    crowd-kit 1.4 computes it.

    Parameters: ``n_iter`` (most EM iterations, default 100), ``tol`` (stop when the
    evidence lower bound per label grows by less, default 1e-5), ``initial_error_strategy``
    (not supported yet: must be None).

    Attributes (after ``fit``): ``labels_``, ``probas_``, ``priors_`` (Series indexed by
    label, named ``prior``), ``errors_`` (DataFrame indexed by (worker, label given) with a
    column per true label: ``errors_.loc[(worker, given), true]`` is the probability that
    the worker gives ``given`` to a task of class ``true``), ``loss_history_`` (the ELBO per
    label after each iteration).
    """

    def __init__(self, n_iter: int = 100, tol: float = 1e-5, initial_error_strategy: Optional[str] = None):
        self.n_iter = n_iter
        self.tol = tol
        self.initial_error_strategy = initial_error_strategy

    def _params(self) -> dict:
        return {"n_iter": self.n_iter, "tol": self.tol, "initial_error_strategy": self.initial_error_strategy}

    def fit(
        self,
        data: pd.DataFrame,
        true_labels: Optional[pd.Series] = None,
        initial_error: Optional[pd.DataFrame] = None,
    ) -> "DawidSkene":
        """Fits the model to ``data``; ``true_labels`` (Series indexed by task) fix the
        posteriors of the tasks they name, as crowd-kit does."""
        if initial_error is not None or self.initial_error_strategy is not None:
            raise ValueError("initial_error is not supported yet; pass initial_error=None")
        _check_count("n_iter", self.n_iter)
        coded = encode(data)
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
        posteriors, priors, errors, history = _conal.dawid_skene(
            *_args(coded), int(self.n_iter), float(self.tol), gold_tasks, gold_labels
        )
        self.probas_ = _probas(coded, posteriors)
        self.labels_ = _labels(self.probas_)
        self.priors_ = pd.Series(priors, index=pd.Index(coded.classes, name="label"), name="prior")
        # crowd-kit's layout: one row per (worker, label given) pair seen in data, in order of
        # first appearance; a column per true label.
        k = len(coded.classes)
        _, first = np.unique(coded.workers * k + coded.labels, return_index=True)
        first.sort()
        w, l = coded.workers[first], coded.labels[first]
        values = errors[w, :, l]  # [pair, true label]
        index = pd.MultiIndex.from_arrays(
            [coded.worker_ids[w], coded.classes[l]], names=["worker", "label"]
        )
        self.errors_ = pd.DataFrame(values, index=index, columns=pd.Index(coded.classes))
        self.loss_history_: List[float] = list(history)
        return self


class GLAD(_Base):
    """GLAD (Whitehill et al. 2009), multi-class as crowd-kit 1.4: worker ability α × task
    easiness e^β, EM with a conjugate-gradient M-step.

    Parameters as crowd-kit's: ``n_iter`` (100), ``tol`` (1e-5), ``silent`` (True: no
    progress bar), ``labels_priors``, ``alphas_priors_mean``, ``betas_priors_mean`` (not
    supported yet: must be None), ``m_step_max_iter`` (25), ``m_step_tol`` (1e-2).

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

    def _params(self) -> dict:
        return {"n_iter": self.n_iter, "tol": self.tol, "m_step_max_iter": self.m_step_max_iter, "m_step_tol": self.m_step_tol}

    def fit(self, data: pd.DataFrame) -> "GLAD":
        """Fits the model to ``data`` (columns task, worker, label)."""
        for name in ("labels_priors", "alphas_priors_mean", "betas_priors_mean"):
            if getattr(self, name) is not None:
                raise ValueError(f"{name} is not supported yet (conal's GLAD uses crowd-kit's defaults); pass None")
        _check_count("n_iter", self.n_iter)
        _check_count("m_step_max_iter", self.m_step_max_iter)
        coded = encode(data)
        posteriors, alphas, betas, history = _conal.glad(
            *_args(coded),
            int(self.n_iter),
            float(self.tol),
            int(self.m_step_max_iter),
            float(self.m_step_tol),
        )
        probas = _probas(coded, posteriors)
        probas = probas.sort_index(axis=0).sort_index(axis=1)
        probas.columns.name = "variable"
        self.probas_ = probas
        self.labels_ = _labels(probas)
        self.alphas_ = pd.Series(alphas, index=pd.Index(coded.worker_ids, name="worker"), name="alpha")
        self.betas_ = pd.Series(betas, index=pd.Index(coded.task_ids, name="task"), name="beta")
        k = len(coded.classes)
        self.priors_ = pd.Series(np.full(k, 1.0 / k), index=pd.Index(coded.classes))
        self.loss_history_: List[float] = list(history)
        return self


def _check_count(name: str, value: Any) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
