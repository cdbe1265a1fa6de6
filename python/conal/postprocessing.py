"""Post-processing of crowd labels, crowd-kit compatible: ``crowdkit.postprocessing``'s
``entropy_threshold`` with the same parameters and result, its entropies computed by conal's
core::

    from conal.postprocessing import entropy_threshold   # was: from crowdkit.postprocessing ...
    kept = entropy_threshold(answers)                     # answers: task, worker, label
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
import pandas as pd

from ._data import check_frame
from .metrics import uncertainty

__all__ = ["entropy_threshold"]


def entropy_threshold(
    answers: pd.DataFrame,
    workers_skills: Optional[pd.Series] = None,
    percentile: int = 10,
    min_answers: int = 2,
) -> pd.DataFrame:
    """Drops the labels of workers who answer too much alike: among the workers with at
    least ``min_answers`` labels, those whose label entropy (``conal.metrics.uncertainty``
    per worker, weighted by ``workers_skills`` when given) is at or below the
    ``percentile``-th percentile of those entropies. A worker clicking one button on every
    task has entropy 0 and goes first.

    Returns ``answers`` (every column) without the dropped workers' rows, as crowd-kit does,
    and warns, as crowd-kit does, when half of the rows or more are dropped. With no worker
    at ``min_answers`` nothing is dropped (crowd-kit fails on an empty percentile).
    """
    frame = check_frame(answers, "answers", allow_empty=True)
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile={percentile!r}: expected a number from 0 to 100")
    counts = frame.groupby("worker")["label"].count()
    eligible = frame[frame["worker"].isin(counts.index[counts >= min_answers])]
    if len(eligible) == 0:
        return answers.copy(deep=False)
    entropies = uncertainty(eligible, workers_skills, compute_by="worker", aggregate=False)
    cutoff = np.percentile(entropies.to_numpy(), percentile)
    removed = entropies.index[entropies.to_numpy() <= cutoff]
    kept = answers[~answers["worker"].isin(removed)]
    if kept.shape[0] <= answers.shape[0] // 2:
        warnings.warn(
            f"entropy_threshold removed {answers.shape[0] - kept.shape[0]} of {answers.shape[0]} labels "
            f"(half or more); this may lower the quality of the aggregate: try a lower percentile or "
            f"a higher min_answers",
            stacklevel=2,
        )
    return kept
