"""Agreement and quality metrics of crowd labels, crowd-kit compatible: the functions of
``crowdkit.metrics`` with the same parameters and return types, computed by conal's core::

    from conal.metrics import alpha_krippendorff, uncertainty, consistency, accuracy_on_aggregates

and one crowd-kit lacks, ``spammer_score`` (Raykar & Yu 2011).
"""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from . import _conal
from ._data import accuracy_by_worker, encode

__all__ = ["alpha_krippendorff", "uncertainty", "consistency", "accuracy_on_aggregates", "spammer_score"]


def alpha_krippendorff(answers: pd.DataFrame) -> float:
    """Krippendorff's alpha with the nominal distance (crowd-kit's default, through NLTK):
    1 − observed / expected disagreement over the tasks with two labels or more."""
    return float(_conal.krippendorff_alpha(encode(answers)))


def uncertainty(
    answers: pd.DataFrame,
    workers_skills: Optional[pd.Series] = None,
    aggregator: Any = None,
    compute_by: str = "task",
    aggregate: bool = True,
) -> Union[float, pd.Series]:
    """Label uncertainty: the entropy of each task's (or worker's, ``compute_by="worker"``)
    label distribution, each label weighing its worker's skill for the class given and
    (1 − skill)/(K − 1) for the others. Skills: ``workers_skills`` (Series indexed by
    worker), else ``aggregator.fit(answers).skills_``, else 1. The mean with ``aggregate``,
    else a Series indexed by task (worker)."""
    if compute_by not in ("task", "worker"):
        raise ValueError(f"compute_by={compute_by!r} is not 'task' or 'worker'")
    if workers_skills is None and aggregator is not None:
        aggregator.fit(answers)
        if not hasattr(aggregator, "skills_"):
            raise ValueError(f"{type(aggregator).__name__} has no skills_: give workers_skills")
        workers_skills = aggregator.skills_
    coded = encode(answers)
    skills = None
    if workers_skills is not None:
        if not isinstance(workers_skills, pd.Series):
            raise TypeError(f"workers_skills must be a pandas Series indexed by worker, got {type(workers_skills).__name__}")
        skills = workers_skills.reindex(coded.worker_ids).to_numpy(dtype=np.float64, copy=True)
        missing = np.flatnonzero(np.isnan(skills))
        if len(missing):
            raise ValueError(f"workers_skills has no skill for worker {coded.worker_ids[missing[0]]!r}")
    values = _conal.uncertainty(coded, skills, compute_by == "worker")
    ids = coded.task_ids if compute_by == "task" else coded.worker_ids
    result = pd.Series(values, index=pd.Index(ids, name=compute_by)).sort_index()
    if aggregate:
        return float(result.mean())
    return result


def accuracy_on_aggregates(
    answers: pd.DataFrame,
    aggregator: Any = None,
    aggregates: Optional[pd.Series] = None,
    by: Optional[str] = None,
) -> Union[float, pd.Series]:
    """The share of labels equal to the aggregated label of their task (``aggregates``, a
    Series indexed by task, else ``aggregator.fit_predict(answers)``): over all labels, or
    per worker with ``by="worker"`` (a Series indexed by worker)."""
    if aggregates is None and aggregator is None:
        raise ValueError("give aggregator or aggregates")
    if aggregates is None:
        aggregates = aggregator.fit_predict(answers)
    if by not in (None, "worker"):
        raise ValueError(f"by={by!r} is not None or 'worker'")
    coded = encode(answers)
    chosen = pd.Series(aggregates).reindex(coded.task_ids)
    known = chosen.notna().to_numpy()
    truth = coded.classes.get_indexer(chosen.to_numpy()).astype(np.int64)
    # An aggregate that is no label of answers is known and never matched.
    truth[known & (truth < 0)] = len(coded.classes)
    truth[~known] = -1
    per_worker = accuracy_by_worker(coded, truth)
    if by == "worker":
        return per_worker
    # Over all labels: each worker's share weighted by its labels of known tasks.
    counted = known[coded.tasks]
    n = np.bincount(coded.workers[counted], minlength=len(coded.worker_ids))
    weights = pd.Series(n, index=pd.Index(coded.worker_ids, name="worker")).reindex(per_worker.index)
    return float((per_worker * weights).sum() / max(weights.sum(), 1))


def consistency(
    answers: pd.DataFrame,
    workers_skills: Optional[pd.Series] = None,
    aggregator: Any = None,
    by_task: bool = False,
) -> Union[float, pd.Series]:
    """Consistency, as crowd-kit's: per task, the posterior probability of the aggregated
    label (``aggregator.fit_predict(answers)``; default conal's ``MajorityVote()``, which
    gives crowd-kit's labels and skills) when each label is right with its worker's skill
    and otherwise uniform over the other labels. Skills: ``workers_skills`` (Series indexed
    by worker), else ``aggregator.skills_``. The mean over tasks, or with ``by_task`` a
    Series indexed by task."""
    if aggregator is None:
        from .aggregation import MajorityVote

        aggregator = MajorityVote()
    aggregated = aggregator.fit_predict(answers)
    if workers_skills is None:
        if not hasattr(aggregator, "skills_"):
            raise ValueError(f"{type(aggregator).__name__} has no skills_: give workers_skills")
        workers_skills = aggregator.skills_
    if not isinstance(workers_skills, pd.Series):
        raise TypeError(f"workers_skills must be a pandas Series indexed by worker, got {type(workers_skills).__name__}")
    coded = encode(answers)
    skills = workers_skills.reindex(coded.worker_ids).to_numpy(dtype=np.float64, copy=True)
    missing = np.flatnonzero(np.isnan(skills))
    if len(missing):
        raise ValueError(f"workers_skills has no skill for worker {coded.worker_ids[missing[0]]!r}")
    chosen = pd.Series(aggregated).reindex(coded.task_ids)
    codes = coded.classes.get_indexer(chosen.to_numpy()).astype(np.int64)
    bad = np.flatnonzero(codes < 0)
    if len(bad):
        task = coded.task_ids[bad[0]]
        raise ValueError(f"the aggregate of task {task!r} is {chosen.iloc[bad[0]]!r}, not one of the labels in answers")
    values = _conal.consistency(coded, skills, codes)
    result = pd.Series(values, index=pd.Index(coded.task_ids, name="task")).sort_index()
    if by_task:
        return result
    return float(result.mean())


def spammer_score(answers: pd.DataFrame) -> pd.Series:
    """Each worker's spammer score (Raykar & Yu, NIPS 2011) from its Dawid-Skene confusion
    matrix A (``DawidSkene()`` fitted on ``answers``): ``1/(K(K−1)) Σ_{c<c'} Σ_l (A[c][l] −
    A[c'][l])²``: 0 for a worker who answers alike whatever the true label, 1 for one who
    tells every label apart. A Series indexed by worker, named ``spammer_score``."""
    coded = encode(answers)
    return pd.Series(
        _conal.spammer_scores(coded), index=pd.Index(coded.worker_ids, name="worker"), name="spammer_score"
    ).sort_index()
