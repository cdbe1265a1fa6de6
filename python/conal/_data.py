"""Conversion of crowd-kit style DataFrames to the integer codes the native module takes.

Only conversion lives here: every check of the values themselves (missing values, ranges,
repeated pairs) is done by the Rust core, whose messages name the column and the row.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Sequence

import numpy as np
import pandas as pd

from . import _conal

COLUMNS = ("task", "worker", "label")


class Coded(NamedTuple):
    """A crowd-label frame as codes: ``tasks[j]`` indexes ``task_ids`` and so on."""

    tasks: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    task_ids: pd.Index
    worker_ids: pd.Index
    classes: pd.Index
    # Soft answers (rows × classes probabilities, the rows' order), or None for labels.
    soft: Optional[np.ndarray] = None

    # The sizes the native module reads beside the codes (it takes a Coded as it is).
    @property
    def n_tasks(self) -> int:
        return len(self.task_ids)

    @property
    def n_workers(self) -> int:
        return len(self.worker_ids)

    @property
    def n_classes(self) -> int:
        return len(self.classes)


class MissingColumnError(KeyError, ValueError):
    """A frame lacks a column it needs. A KeyError, as pandas' and crowd-kit's column
    look-ups raise (code written for crowd-kit catches that), and a ValueError, as conal
    raises for every other bad input; printed as its message (a plain KeyError would print
    it quoted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def check_frame(data: Any, name: str = "data", allow_empty: bool = False) -> pd.DataFrame:
    """The frame's task, worker and label columns; TypeError, MissingColumnError or (0
    rows, unless ``allow_empty``) ValueError otherwise."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas DataFrame with columns task, worker, label; got "
            f"{type(data).__name__}"
        )
    soft = soft_columns(data)
    missing = [c for c in COLUMNS if c not in data.columns and not (c == "label" and soft)]
    if missing:
        raise MissingColumnError(
            f"{name} has no column {missing[0]!r} (expected columns task, worker, label; "
            f"found {list(map(str, data.columns))})"
        )
    if len(data) == 0 and not allow_empty:
        raise ValueError(f"{name} has 0 rows: no crowd labels to learn from")
    if soft:
        return data[["task", "worker", *soft]]
    return data[list(COLUMNS)]


SOFT_PREFIX = "p_"


def soft_columns(data: Any) -> list:
    """The ``p_<class>`` columns of a frame that has them in place of a ``label`` column: soft
    answers, a probability per class (the naming ``conal aggregate`` writes posteriors in)."""
    if not isinstance(data, pd.DataFrame) or "label" in data.columns:
        return []
    return [c for c in data.columns if isinstance(c, str) and c.startswith(SOFT_PREFIX) and len(c) > len(SOFT_PREFIX)]


def encode_soft(frame: pd.DataFrame, classes: Sequence[Any] | None) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """(label codes: each row's most probable class, the classes, rows × classes
    probabilities) from a frame's ``p_<class>`` columns; a value that is missing, negative or
    not a number, or a row that does not sum to 1 (within 1e-6), is a ValueError naming the
    row and the column."""
    columns = soft_columns(frame)
    names = pd.Index([c[len(SOFT_PREFIX):] for c in columns])
    if classes is not None:
        unknown = [c for c in names if c not in list(map(str, classes))]
        if unknown:
            raise ValueError(f"column 'p_{unknown[0]}': {unknown[0]!r} is not one of the classes {list(classes)}")
    try:
        probs = frame[columns].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"the p_<class> columns must hold probabilities (numbers): {e}") from None
    bad = ~np.isfinite(probs) | (probs < 0)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise ValueError(
            f"column {columns[col]!r}, row {row}: {probs[row, col]} is not a probability (a finite number ≥ 0)"
        )
    sums = probs.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if len(off):
        row = int(off[0])
        raise ValueError(f"row {row}: the p_<class> columns sum to {sums[row]}, not 1 (a soft answer is a probability per class)")
    if classes is not None:
        order = [list(names).index(str(c)) if str(c) in list(names) else -1 for c in classes]
        full = np.zeros((len(probs), len(classes)))
        for j, at in enumerate(order):
            if at >= 0:
                full[:, j] = probs[:, at]
        probs, names = full, pd.Index(list(classes))
    return np.argmax(probs, axis=1).astype(np.int64), names, np.ascontiguousarray(probs)


def is_empty(data: Any) -> bool:
    """Whether a crowd-label frame (checked as by ``check_frame``) has no rows: crowd-kit's
    aggregators then return empty results instead of raising, and so do ours that it does
    this for."""
    return len(check_frame(data, allow_empty=True)) == 0


def factorize(values: pd.Series, sort: bool = False) -> tuple[np.ndarray, pd.Index]:
    """Codes (−1 for a missing value) and the distinct values, in order of first
    appearance unless ``sort``."""
    codes, uniques = pd.factorize(values, sort=sort)
    return codes.astype(np.int64, copy=False), pd.Index(uniques)


def encode(
    data: pd.DataFrame,
    classes: Sequence[Any] | None = None,
    tasks: pd.Index | None = None,
    allow_soft: bool = False,
) -> Coded:
    """Codes for a crowd-label frame. ``classes`` fixes the class list (a label outside it
    is an error); ``tasks`` fixes the task list (a task outside it is an error). With
    ``allow_soft``, a frame of ``p_<class>`` columns in place of ``label`` gives soft answers;
    without, it is a MissingColumnError that says which classes take them."""
    frame = check_frame(data)
    if soft_columns(frame) and not allow_soft:
        raise MissingColumnError(
            "data has no column 'label' but p_<class> columns: soft answers (a probability per "
            "class) are aggregated by MajorityVote, Wawa, DawidSkene and OneCoinDawidSkene; this one "
            "takes one label per answer"
        )
    if tasks is None:
        task_codes, task_ids = factorize(frame["task"])
    else:
        task_codes = tasks.get_indexer(frame["task"]).astype(np.int64)
        bad = np.flatnonzero(task_codes < 0)
        if len(bad):
            row = int(bad[0])
            raise ValueError(
                f"column 'task', row {row}: task {frame['task'].iloc[row]!r} is not a row of X "
                f"(give X as a DataFrame indexed by task id, or tasks=)"
            )
        task_ids = tasks
    worker_codes, worker_ids = factorize(frame["worker"])
    if soft_columns(frame):
        label_codes, label_ids, soft = encode_soft(frame, classes)
        return Coded(task_codes, worker_codes, label_codes, task_ids, worker_ids, label_ids, soft)
    if classes is None:
        label_codes, label_ids = factorize(frame["label"])
    else:
        label_ids = pd.Index(list(classes))
        label_codes = label_ids.get_indexer(frame["label"]).astype(np.int64)
        bad = np.flatnonzero((label_codes < 0) & frame["label"].notna().to_numpy())
        if len(bad):
            row = int(bad[0])
            raise ValueError(
                f"column 'label', row {row}: label {frame['label'].iloc[row]!r} is not one of "
                f"the classes {list(label_ids)}"
            )
    return Coded(task_codes, worker_codes, label_codes, task_ids, worker_ids, label_ids)


def accuracy_by_worker(coded: Coded, truth: np.ndarray) -> pd.Series:
    """Each worker's share of labels equal to its task's class in ``truth`` (one class code
    per task of ``coded.task_ids``; −1 where unknown) among its labels of known tasks
    (crowd-kit's ``get_accuracy(by="worker")``, computed by the core), indexed by sorted
    worker; a worker without a known task is left out."""
    values = _conal.worker_accuracy(coded, np.ascontiguousarray(truth, dtype=np.int64))
    skills = pd.Series(values, index=pd.Index(coded.worker_ids, name="worker"))
    return skills.dropna().sort_index()


PAIR_COLUMNS = ("left", "right", "label")
TIE_LABELS = ("tie", "equal")


class CodedComparisons(NamedTuple):
    """A comparison frame as codes: ``left[r]`` and ``right[r]`` index ``item_ids``,
    ``worker[r]`` indexes ``worker_ids``; ``outcome[r]`` is 0 (the left item won), 1 (the
    right one), 2 (a tie) or 3 (the label names neither: the core names the row)."""

    left: np.ndarray
    right: np.ndarray
    worker: np.ndarray
    outcome: np.ndarray
    item_ids: pd.Index
    worker_ids: pd.Index

    # The ids as text, which the core reads to name items and workers in its messages.
    @property
    def item_names(self) -> list[str]:
        return [str(i) for i in self.item_ids]

    @property
    def worker_names(self) -> list[str]:
        return [str(w) for w in self.worker_ids]


def check_comparisons(data: Any, worker: bool) -> pd.DataFrame:
    """The frame itself when it has the left, right and label columns (and worker, where
    ``worker``); TypeError or MissingColumnError otherwise. Not a frame of those columns: on
    ten million rows, selecting them copied every id (a second)."""
    columns = (("worker",) if worker else ()) + PAIR_COLUMNS
    return check_columns(data, columns, "pairwise comparisons")


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Codes of ``values`` into their distinct values sorted as crowd-kit's ``np.unique``
    sorts them (in order of first appearance where they do not compare, e.g. mixed types):
    one hashing pass, then the few distinct values sorted and the codes renumbered (twice
    as fast as ``np.unique`` and a look-up per column on a million comparisons)."""
    codes, uniques = pd.factorize(values)
    try:
        order = np.argsort(uniques, kind="stable")
    except TypeError:
        return codes.astype(np.int64, copy=False), pd.Index(uniques)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], pd.Index(uniques[order] if isinstance(uniques, np.ndarray) else uniques.take(order))


def encode_comparisons(data: pd.DataFrame, worker: bool) -> CodedComparisons:
    """Codes for a comparison frame: items sorted (crowd-kit's order), workers sorted; a
    label equal to the left or right item is its win, one of ``TIE_LABELS`` naming neither
    item a tie."""
    frame = check_comparisons(data, worker)
    left = frame["left"].to_numpy()
    right = frame["right"].to_numpy()
    label = frame["label"].to_numpy()
    n = len(frame)
    item_codes, item_ids = _sorted_codes(np.concatenate([left, right]))
    if worker:
        worker_codes, worker_ids = _sorted_codes(frame["worker"].to_numpy())
    else:
        worker_ids = pd.Index([None])
        worker_codes = np.zeros(n, dtype=np.int64)
    left_won = label == left
    right_won = ~left_won & (label == right)
    outcome = np.full(n, 3, dtype=np.int8)
    outcome[right_won] = 1
    outcome[left_won] = 0
    neither = np.flatnonzero(outcome == 3)
    if len(neither):
        outcome[neither[pd.Series(label[neither]).isin(TIE_LABELS).to_numpy()]] = 2
    return CodedComparisons(item_codes[:n], item_codes[n:], worker_codes, outcome, item_ids, worker_ids)


class CodedMasks(NamedTuple):
    """A segmentation frame as codes: row ``r`` is worker ``worker[r]``'s mask of task
    ``task[r]`` (tasks sorted, as crowd-kit's groupby sorts them), ``masks[r]`` as the frame
    holds it. The core reads a C-contiguous 2-D boolean array in place and asks
    ``conform(r)`` for any other row's (checked, converted)."""

    task: np.ndarray
    worker: np.ndarray
    masks: np.ndarray
    task_ids: pd.Index
    worker_ids: pd.Index

    def conform(self, row: int) -> np.ndarray:
        """Row ``row``'s mask as a C-contiguous 2-D boolean array; a ValueError naming the
        row when it is not a 2-D array of booleans or 0/1 numbers."""
        a = np.asarray(self.masks[row])
        if a.ndim != 2:
            raise ValueError(
                f"column 'segmentation', row {row}: a mask must be a 2-D array (height × width), "
                f"got {a.ndim} dimensions"
            )
        if a.dtype != np.bool_:
            if not (np.issubdtype(a.dtype, np.number) and np.isin(a, (0, 1)).all()):
                raise ValueError(
                    f"column 'segmentation', row {row}: a mask must hold booleans or 0/1, got "
                    f"{a.dtype} values such as {a.ravel()[~np.isin(a.ravel(), (0, 1))][:1].tolist()}"
                )
            a = a.astype(bool)
        return np.ascontiguousarray(a)

    @property
    def task_names(self) -> list[str]:
        return [str(t) for t in self.task_ids]

    @property
    def worker_names(self) -> list[str]:
        return [str(w) for w in self.worker_ids]


MASK_COLUMNS = ("task", "worker", "segmentation")


def check_masks(data: Any) -> pd.DataFrame:
    """The frame itself when it has task, worker and segmentation columns; TypeError or
    MissingColumnError otherwise."""
    return check_columns(data, MASK_COLUMNS, "segmentations")


def encode_masks(frame: pd.DataFrame) -> CodedMasks:
    """Codes for a segmentation frame (checked by ``check_masks``); the masks stay as the frame
    holds them (``CodedMasks.conform`` checks any that is not a 2-D boolean array; the core
    checks that a task's masks share a shape)."""
    task_codes, task_ids = _sorted_codes(frame["task"].to_numpy())
    worker_codes, worker_ids = factorize(frame["worker"])
    return CodedMasks(task_codes, worker_codes, frame["segmentation"].to_numpy(), task_ids, worker_ids)


class CodedEmbeddings(NamedTuple):
    """An embedding frame as codes: row ``r`` is worker ``worker[r]``'s answer to task
    ``task[r]`` (tasks sorted, as crowd-kit's groupby sorts them), ``values[r]`` its
    embedding."""

    task: np.ndarray
    worker: np.ndarray
    values: np.ndarray
    task_ids: pd.Index
    worker_ids: pd.Index

    @property
    def task_names(self) -> list[str]:
        return [str(t) for t in self.task_ids]

    @property
    def worker_names(self) -> list[str]:
        return [str(w) for w in self.worker_ids]


def check_columns(data: Any, columns: Sequence[str], what: str) -> pd.DataFrame:
    """The frame itself when it has ``columns``; TypeError or MissingColumnError otherwise."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame with columns {', '.join(columns)}; got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise MissingColumnError(
            f"data has no column {missing[0]!r} ({what} need columns {', '.join(columns)}; found "
            f"{list(map(str, data.columns))})"
        )
    return data


def encode_embeddings(frame: pd.DataFrame) -> CodedEmbeddings:
    """Codes for an embedding frame (columns task, worker, embedding): every embedding a 1-D
    array of numbers of one length, else a ValueError naming the row."""
    task_codes, task_ids = _sorted_codes(frame["task"].to_numpy())
    worker_codes, worker_ids = factorize(frame["worker"])
    rows = [np.asarray(e, dtype=np.float64) for e in frame["embedding"]]
    dim = rows[0].shape if rows else (0,)
    for row, e in enumerate(rows):
        if e.ndim != 1 or e.shape != dim:
            raise ValueError(
                f"column 'embedding', row {row}: an embedding of shape {e.shape}, where row 0's is "
                f"{dim} (every embedding must be a vector of the same length)"
            )
    values = np.stack(rows) if rows else np.zeros((0, 0))
    return CodedEmbeddings(task_codes, worker_codes, values, task_ids, worker_ids)


def task_table(series: Any, task_ids: pd.Index, dim: int, name: str) -> np.ndarray:
    """A Series of embeddings by task as a tasks × dim table, NaN rows for tasks it lacks."""
    if not isinstance(series, pd.Series):
        raise TypeError(f"{name} must be a pandas Series of embeddings indexed by task, got {type(series).__name__}")
    if not series.index.is_unique:
        raise ValueError(f"Incorrect data in {name}: multiple true embeddings for a single task are not supported.")
    table = np.full((len(task_ids), dim), np.nan)
    at = task_ids.get_indexer(series.index)
    for i, value in zip(at, series.to_numpy()):
        if i >= 0:
            v = np.asarray(value, dtype=np.float64)
            if v.shape != (dim,):
                raise ValueError(f"{name}: an embedding of shape {v.shape}, the answers' are ({dim},)")
            table[i] = v
    return table
