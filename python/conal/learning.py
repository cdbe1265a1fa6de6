"""Learning from crowds, scikit-learn shaped: estimators that train a classifier from the
labels a crowd gave, with keyword parameters (``get_params``/``set_params``), ``fit(X,
answers)``, ``predict(X)`` and ``predict_proba(X)``.

``X`` holds one row of features per task: a float array whose rows are the tasks (then
``answers.task`` holds row numbers, or ``tasks=`` names the rows) or a DataFrame indexed by
task id. ``answers`` is a DataFrame with columns ``task``, ``worker``, ``label``.

The defaults are the command line's: CoNAL's tuned recipe (a cross-fitted ensemble of 10
models, the authors' Music settings). ``save(path)`` writes the checkpoint directory
``conal train --save-dir`` writes; :func:`load` reads one, so ``conal test`` and
``conal inspect`` work on a model fitted here and the reverse.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from . import _conal
from ._data import check_frame, encode

__all__ = ["CoNAL", "CrowdLayer", "AnnotMix", "MaDL", "AggregatedClassifier", "load"]


class _Bar:
    """Progress on stderr: a bar redrawn in place on a terminal; elsewhere (a log file, a
    captured stream, a notebook's pipe) one plain line every few seconds and a last one."""

    #: Seconds between two lines when stderr is not a terminal.
    EVERY = 5.0

    def __init__(self, name: str):
        self.name = name
        self.start = time.monotonic()
        self.last = -float("inf")
        try:
            self.tty = sys.stderr.isatty()
        except (AttributeError, ValueError):
            self.tty = False

    def __call__(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        finished = done >= total
        if self.tty:
            width = 24
            filled = width * done // max(total, 1)
            line = f"\r{self.name} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {message}"
            sys.stderr.write(line[:120])
            if finished:
                sys.stderr.write(f"  ({now - self.start:.1f} s)\n")
        elif finished or now - self.last >= self.EVERY:
            self.last = now
            end = f" ({now - self.start:.1f} s)" if finished else ""
            sys.stderr.write(f"{self.name} {done}/{total} {message}{end}\n")
        sys.stderr.flush()


def _features(X: Any, tasks: Optional[Sequence[Any]]) -> tuple[np.ndarray, pd.Index]:
    """float32 C-contiguous features (converted once, not copied when already so) and the
    task id of each row."""
    if isinstance(X, pd.DataFrame):
        if tasks is not None:
            raise ValueError("give tasks= only with an array X; a DataFrame's index names its rows")
        index = pd.Index(X.index)
        values = X.to_numpy()
    else:
        values = np.asarray(X)
        index = pd.Index(list(tasks)) if tasks is not None else pd.RangeIndex(len(values))
    if values.ndim != 2:
        raise ValueError(f"X must be 2-dimensional (tasks × features), got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise TypeError(f"X must hold real numbers, got dtype {values.dtype}")
    if len(index) != len(values):
        raise ValueError(f"tasks= names {len(index)} rows, X has {len(values)}")
    if index.has_duplicates:
        raise ValueError(f"task {index[index.duplicated()][0]!r} names two rows of X")
    x = np.ascontiguousarray(values, dtype=np.float32)
    # Checked in blocks of rows, so that the check's temporary stays small beside X.
    step = max(1, (1 << 20) // max(1, x.shape[1]))
    for start in range(0, len(x), step):
        block = x[start : start + step]
        if not np.isfinite(block).all():
            row, col = np.argwhere(~np.isfinite(block))[0]
            row += start
            raise ValueError(f"X row {row} (task {index[row]!r}), column {col}: value is not finite ({x[row, col]})")
    return x, index


class _Estimator:
    """The scikit-learn estimator protocol over one conal method."""

    _method = "conal"
    _names: tuple = ()

    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters."""
        return {name: getattr(self, name) for name in self._names}

    def set_params(self, **params: Any) -> "_Estimator":
        """Sets constructor parameters; unknown names are a ValueError."""
        for name, value in params.items():
            if name not in self._names:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r} (it has {list(self._names)})")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    def _method_name(self) -> str:
        return self._method

    def _settings(self) -> dict:
        """The constructor's settings as the core's keyword arguments (None: its default)."""
        def num(value: Any, kind: type) -> Any:
            return None if value is None else kind(value)

        return dict(
            recipe=self.recipe,
            epochs=num(self.epochs, int),
            batch_size=num(self.batch_size, int),
            lr=num(self.lr, float),
            seed=int(self.seed),
            select=self.select,
            holdout=float(self.holdout),
            ensemble=num(self.ensemble, int),
            n_units=int(self.n_units),
            dropout=float(self.dropout),
            head=self.head,
            device=self.device,
        )

    def fit(self, X: Any, answers: pd.DataFrame, tasks: Optional[Sequence[Any]] = None) -> "_Estimator":
        """Trains on the features ``X`` of the tasks and the crowd's ``answers``.

        The GIL is released while training; Ctrl-C stops it within a second with
        ``KeyboardInterrupt``.
        """
        x, index = _features(X, tasks)
        frame = check_frame(answers, "answers")
        labels = frame["label"]
        present = labels.dropna().unique()
        names = [str(v) for v in present]
        if len(set(names)) != len(names):
            raise ValueError("two labels have the same text; labels must be distinct as strings")
        order = _conal.sort_labels(names)
        by_name = dict(zip(names, present))
        classes = [by_name[n] for n in order]
        coded = encode(frame, classes=classes, tasks=index)
        callback = _Bar(type(self).__name__) if self.progress else None
        self._fitted = _conal.fit(
            self._method_name(),
            x,
            coded.tasks,
            coded.workers,
            coded.labels,
            index,
            coded.worker_ids,
            [str(c) for c in coded.classes],
            n_jobs=None if self.n_jobs is None else int(self.n_jobs),
            progress=callback,
            **self._settings(),
        )
        self._report = None
        self.classes_ = np.asarray(classes, dtype=object if not _uniform(classes) else None)
        self.workers_ = np.asarray(list(coded.worker_ids), dtype=object)
        self.n_features_in_ = x.shape[1]
        return self

    def _check_fitted(self) -> None:
        if getattr(self, "_fitted", None) is None:
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(X, answers) first")

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one row per row of ``X``, columns in ``classes_`` order."""
        self._check_fitted()
        x, _ = _features(X, None if isinstance(X, pd.DataFrame) else range(len(np.asarray(X))))
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} features, the model was trained on {self.n_features_in_}")
        return self._fitted.predict_proba(x)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row of ``X`` (values of ``classes_``)."""
        self._check_fitted()
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def save(self, path: str, overwrite: bool = False) -> None:
        """Writes the checkpoint directory ``conal train --save-dir`` writes (``conal test``,
        ``conal inspect`` and ``conal.load`` read it). A directory that already holds a run,
        or a file at ``path``, is a ``FileExistsError`` naming it unless ``overwrite=True``,
        which replaces a run once the new one is completely written; a directory another
        process is writing is a ``ValueError`` naming that process. Fitted estimators also
        pickle (``pickle``, ``joblib``, ``copy.deepcopy``) to the same predictions."""
        self._check_fitted()
        self._fitted.save(str(path), bool(overwrite))

    @property
    def history_(self) -> pd.DataFrame:
        """The metrics of every training epoch (of the first ensemble member)."""
        self._check_fitted()
        return pd.DataFrame(self._fitted.history())


class _CrowdModel(_Estimator):
    """What every crowd model reports about its annotators (of the first ensemble member)."""

    def _annotators(self) -> dict:
        self._check_fitted()
        if getattr(self, "_report", None) is None:
            self._report = self._fitted.annotators()
        return self._report

    @property
    def annotator_confusions_(self) -> np.ndarray:
        """Each worker's confusion (R × K × K probabilities, ``workers_`` order; row = true
        class, column = label given): the model's own matrix for CoNAL and CrowdLayer, the
        mean of the worker's per-task matrices over the tasks it labelled for Annot-Mix and
        MaDL (``annotator_basis_`` says which)."""
        return self._annotators()["confusions"]

    @property
    def annotator_basis_(self) -> str:
        """``"model"`` or ``"mean-over-items"``: where ``annotator_confusions_`` come from."""
        return self._annotators()["basis"]

    @property
    def worker_stats_(self) -> pd.DataFrame:
        """Per worker: labels given, reliability (expected accuracy under its confusion and
        the model's class prior) and, for CoNAL, ω (weight of the common confusion)
        mean/min/max."""
        r = self._annotators()
        frame = pd.DataFrame(
            {
                "labels": r["labels"],
                "reliability": r["reliability"],
                "omega_mean": r["omega_mean"],
                "omega_min": r["omega_min"],
                "omega_max": r["omega_max"],
            },
            index=pd.Index(self.workers_, name="worker"),
        )
        return frame


def _names(saved: list) -> np.ndarray:
    """Saved names as integers when all are plainly written integers, else as strings."""
    try:
        numbers = [int(v) for v in saved]
    except ValueError:
        return np.asarray(saved, dtype=object)
    if all(str(n) == v for n, v in zip(numbers, saved)):
        return np.asarray(numbers)
    return np.asarray(saved, dtype=object)


def _uniform(values: list) -> bool:
    return len({type(v) for v in values}) == 1 and not isinstance(values[0], str)


_COMMON = ("recipe", "epochs", "batch_size", "lr", "seed", "select", "holdout", "ensemble",
           "n_units", "dropout", "head", "device", "n_jobs", "progress")

_COMMON_DOC = """
    Parameters (all keyword; ``None`` takes the command line's default):
        recipe: "tuned" (a cross-fitted ensemble of 10, the default), "paper" (one model
            with the CoNAL authors' settings) or "benchmark" (one model with the Annot-Mix
            benchmark's: deep head, RAdam, cosine annealing, 50 epochs of batches of 64, last
            epoch; the default of AnnotMix and MaDL).
        epochs, batch_size, lr: training length, items per step, Adam's learning rate
            (defaults: 200, 1024, 0.01).
        seed: seed of every random choice (default 0).
        select: model selection, "crowd-holdout" (default; no true label used) or "last".
        holdout: fraction of labelled tasks held out for selection (default 0.15).
        ensemble: members of the ensemble (default: the recipe's).
        n_units, dropout: the classifier's hidden units (128) and dropout (0.5).
        head: the classifier, "music" (batch norm on input and hidden layer), "labelme"
            (no batch norm), "deep" (the Annot-Mix benchmark's 256 → 128 MLP) or "linear"
            (multinomial logistic regression on the standardised features: small or easy
            crowds); default: the recipe's ("music", "deep" with the benchmark recipe).
        device: "cpu", or a GPU backend the build has.
        n_jobs: threads for tensor math (default: one per core).
        progress: show a progress line on stderr (default True).
"""


class CoNAL(_CrowdModel):
    __doc__ = (
        """CoNAL (Chu, Ma & Wang, AAAI 2021): the classifier's class probabilities pass
    through a common confusion matrix shared by all workers and an individual one per
    worker, mixed per (task, worker) by ω.

    After ``fit``: ``classes_``, ``workers_``, ``common_confusion_`` (K × K, raw: a
    worker's label logits are ``p @ W``), ``worker_confusions_`` (R × K × K, raw),
    ``common_probabilities_`` / ``worker_probabilities_`` (row-softmax: row = true class),
    ``worker_stats_`` (DataFrame: labels and ω per worker).
"""
        + _COMMON_DOC
        + """        emb_dim: size of the auxiliary network's embeddings (default 80).
        scale: λ of the regulariser pulling W_r towards W_g (default 1e-5).
"""
    )
    _method = "conal"
    _names = _COMMON + ("emb_dim", "scale")

    def __init__(self, *, recipe: str = "tuned", epochs: Optional[int] = None, batch_size: Optional[int] = None,
                 lr: Optional[float] = None, seed: int = 0, select: Optional[str] = None, holdout: float = 0.15,
                 ensemble: Optional[int] = None, n_units: int = 128, dropout: float = 0.5, head: Optional[str] = None,
                 device: str = "cpu",
                 n_jobs: Optional[int] = None, progress: bool = True, emb_dim: Optional[int] = None,
                 scale: Optional[float] = None):
        self.recipe, self.epochs, self.batch_size, self.lr, self.seed = recipe, epochs, batch_size, lr, seed
        self.select, self.holdout, self.ensemble, self.n_units, self.dropout = select, holdout, ensemble, n_units, dropout
        self.head = head
        self.device, self.n_jobs, self.progress, self.emb_dim, self.scale = device, n_jobs, progress, emb_dim, scale

    def _settings(self) -> dict:
        settings = super()._settings()
        settings["emb_dim"] = None if self.emb_dim is None else int(self.emb_dim)
        settings["scale"] = None if self.scale is None else float(self.scale)
        return settings

    @property
    def common_confusion_(self) -> np.ndarray:
        """The raw common matrix W_g (K × K)."""
        return self._annotators()["common"]

    @property
    def worker_confusions_(self) -> np.ndarray:
        """The raw individual matrices W_r (R × K × K, ``workers_`` order)."""
        return self._annotators()["raw"]

    @property
    def common_probabilities_(self) -> np.ndarray:
        """Row-softmax of W_g: row = true class, column = label given."""
        return self._annotators()["common_probabilities"]

    @property
    def worker_probabilities_(self) -> np.ndarray:
        """Row-softmax of each W_r (``annotator_confusions_``)."""
        return self.annotator_confusions_


class CrowdLayer(_CrowdModel):
    __doc__ = (
        """CrowdLayer (Rodrigues & Pereira, AAAI 2018): the classifier followed by one layer
    per worker mapping its class probabilities to the worker's labels.
"""
        + _COMMON_DOC
        + """        kind: the per-worker layer, "mw" (a K × K matrix, default), "vw", "vb" or "vwb".
        confusion: "free" (MW's matrices map probabilities to logits, Rodrigues & Pereira's;
            default) or "stochastic" (row-stochastic confusions, GeoCrowdNet's; mw only).
        regularizer: GeoCrowdNet's volume term added to the loss, "geo-f" (of the batch's
            class probabilities) or "geo-w" (of the stacked confusions; needs
            confusion="stochastic"); default None. ``CrowdLayer(confusion="stochastic",
            regularizer="geo-f", recipe="benchmark")`` is GeoCrowdNet-F as the Annot-Mix
            benchmark trains it.
        reg_lambda: its weight λ (default 1e-3).
"""
    )
    _names = _COMMON + ("kind", "confusion", "regularizer", "reg_lambda")

    def __init__(self, *, recipe: str = "tuned", epochs: Optional[int] = None, batch_size: Optional[int] = None,
                 lr: Optional[float] = None, seed: int = 0, select: Optional[str] = None, holdout: float = 0.15,
                 ensemble: Optional[int] = None, n_units: int = 128, dropout: float = 0.5, head: Optional[str] = None,
                 device: str = "cpu",
                 n_jobs: Optional[int] = None, progress: bool = True, kind: str = "mw", confusion: str = "free",
                 regularizer: Optional[str] = None, reg_lambda: Optional[float] = None):
        self.recipe, self.epochs, self.batch_size, self.lr, self.seed = recipe, epochs, batch_size, lr, seed
        self.select, self.holdout, self.ensemble, self.n_units, self.dropout = select, holdout, ensemble, n_units, dropout
        self.head = head
        self.device, self.n_jobs, self.progress, self.kind = device, n_jobs, progress, kind
        self.confusion, self.regularizer, self.reg_lambda = confusion, regularizer, reg_lambda

    def _method_name(self) -> str:
        if self.kind not in ("mw", "vw", "vb", "vwb"):
            raise ValueError(f"kind must be one of 'mw', 'vw', 'vb', 'vwb', got {self.kind!r}")
        return f"crowdlayer-{self.kind}"

    def _settings(self) -> dict:
        settings = super()._settings()
        if self.confusion not in ("free", "stochastic"):
            raise ValueError(f"confusion must be 'free' or 'stochastic', got {self.confusion!r}")
        if self.regularizer not in (None, "geo-f", "geo-w"):
            raise ValueError(f"regularizer must be None, 'geo-f' or 'geo-w', got {self.regularizer!r}")
        settings["confusion"] = self.confusion
        settings["regularizer"] = self.regularizer
        settings["reg_lambda"] = None if self.reg_lambda is None else float(self.reg_lambda)
        return settings


class _BenchmarkEstimator(_CrowdModel):
    """The common parameters, with the Annot-Mix benchmark's recipe as the default."""

    _names = _COMMON

    def __init__(self, *, recipe: str = "benchmark", epochs: Optional[int] = None, batch_size: Optional[int] = None,
                 lr: Optional[float] = None, seed: int = 0, select: Optional[str] = None, holdout: float = 0.15,
                 ensemble: Optional[int] = None, n_units: int = 128, dropout: float = 0.5, head: Optional[str] = None,
                 device: str = "cpu",
                 n_jobs: Optional[int] = None, progress: bool = True):
        self.recipe, self.epochs, self.batch_size, self.lr, self.seed = recipe, epochs, batch_size, lr, seed
        self.select, self.holdout, self.ensemble, self.n_units, self.dropout = select, holdout, ensemble, n_units, dropout
        self.head = head
        self.device, self.n_jobs, self.progress = device, n_jobs, progress


class AnnotMix(_BenchmarkEstimator):
    __doc__ = (
        """Annot-Mix (Herde et al., ECAI 2024): the classifier plus an annotator model giving a
    confusion matrix per (task, worker) pair, trained with mixup over (features, worker,
    label) triples. Its default recipe is the Annot-Mix benchmark's ("benchmark").
"""
        + _COMMON_DOC
    )
    _method = "annot-mix"


class MaDL(_BenchmarkEstimator):
    __doc__ = (
        """MaDL (Herde, Huseljic & Sick, TMLR 2023): the classifier plus an annotator model
    giving a confusion matrix per (task, worker) pair from interacting task and worker
    embeddings, each label's loss weighted down where many workers are alike. Its default
    recipe is the Annot-Mix benchmark's ("benchmark").
"""
        + _COMMON_DOC
    )
    _method = "madl"


class AggregatedClassifier(_Estimator):
    __doc__ = (
        """The classifier alone, trained on one label per task: the crowd's labels
    aggregated by majority vote (default), Dawid-Skene or GLAD.
"""
        + _COMMON_DOC
        + """        labels: "mv", "ds" or "glad".
"""
    )
    _names = _COMMON + ("labels",)

    def __init__(self, *, recipe: str = "tuned", epochs: Optional[int] = None, batch_size: Optional[int] = None,
                 lr: Optional[float] = None, seed: int = 0, select: Optional[str] = None, holdout: float = 0.15,
                 ensemble: Optional[int] = None, n_units: int = 128, dropout: float = 0.5, head: Optional[str] = None,
                 device: str = "cpu",
                 n_jobs: Optional[int] = None, progress: bool = True, labels: str = "mv"):
        self.recipe, self.epochs, self.batch_size, self.lr, self.seed = recipe, epochs, batch_size, lr, seed
        self.select, self.holdout, self.ensemble, self.n_units, self.dropout = select, holdout, ensemble, n_units, dropout
        self.head = head
        self.device, self.n_jobs, self.progress, self.labels = device, n_jobs, progress, labels

    def _method_name(self) -> str:
        if self.labels not in ("mv", "ds", "glad"):
            raise ValueError(f"labels must be one of 'mv', 'ds', 'glad', got {self.labels!r}")
        return self.labels


def load(path: str) -> _Estimator:
    """Reads a checkpoint directory (``conal train --save-dir``, or an estimator's ``save``)
    into a fitted estimator of the matching class. Its ``classes_`` and ``workers_`` are the
    names saved there: integers when every name is one written plainly (``"3"``, not
    ``"03"``), as a model fitted on integer labels saves them; else strings."""
    fitted = _conal.load(str(path))
    method = fitted.method
    if method == "conal":
        est: _Estimator = CoNAL(progress=False)
    elif method.startswith("crowdlayer-"):
        est = CrowdLayer(progress=False, kind=method.split("-", 1)[1])
    elif method == "annot-mix":
        est = AnnotMix(progress=False)
    elif method == "madl":
        est = MaDL(progress=False)
    else:
        est = AggregatedClassifier(progress=False, labels=method if method in ("mv", "ds", "glad") else "mv")
    settings = fitted.settings()
    est._fitted = fitted
    est._report = None
    est.classes_ = _names(fitted.classes)
    est.workers_ = _names(fitted.workers)
    est.n_features_in_ = int(fitted.n_features)
    est.seed = int(settings["seed"])
    est.recipe = settings["recipe"]
    est.head = settings["head"]
    if isinstance(est, CrowdLayer):
        est.confusion = settings.get("confusion", "free")
        if "regularizer" in settings:
            est.regularizer, est.reg_lambda = settings["regularizer"], float(settings["reg_lambda"])
    return est
