"""Type stubs of the native module (the public API is conal.aggregation, conal.learning and
conal.metrics). It only converts: every number comes from conal's Rust core."""

from typing import Any, Callable, Optional, Sequence

import numpy as np
import numpy.typing as npt

from ._data import Coded, CodedComparisons, CodedEmbeddings, CodedMasks

__version__: str

Codes = npt.NDArray[np.int64]

def aggregate(
    method: str, coded: Coded, params: dict[str, Any], agreement: bool = False,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.float64], dict[str, Any]]:
    """Any method of the registry (``aggregation_methods()``) by name, with crowd-kit's
    parameter names: (label code per task, posteriors, what it learned by name)."""
def aggregation_methods() -> list[tuple[str, str, list[tuple[str, str]]]]: ...
def rank(
    method: str, coded: CodedComparisons, params: dict[str, Any], confidence: Optional[float] = None,
    resamples: int = 200, seed: int = 0,
) -> tuple[
    npt.NDArray[np.float64], dict[str, Any], Optional[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]
]:
    """A ranking method (``bt``, ``noisy-bt``) on coded comparisons: (score per item, what it
    learned by name, and with ``confidence`` the bootstrap intervals' lower and upper bounds)."""
def segment(
    method: str, coded: CodedMasks, params: dict[str, Any],
) -> tuple[list[npt.NDArray[np.bool_]], dict[str, Any]]:
    """A segmentation method (``seg-mv``, ``seg-rasa``, ``seg-em``) on coded masks: (one
    boolean mask per task, what it learned by name)."""
def embed(
    method: str, coded: CodedEmbeddings, params: dict[str, Any],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64], dict[str, Any]]:
    """An embedding method (``closest-to-average``, ``rasa``) on coded embeddings:
    (aggregates tasks × dim, each row's distance, each task's closest row or −1, what it
    learned by name)."""
def aggregate_texts(method: str, coded: Any, params: dict[str, Any]) -> list[npt.NDArray[np.uint32]]:
    """A text method (``rover``) on tokenised texts: each task's word ids."""
def krippendorff_alpha(coded: Coded) -> float: ...
def uncertainty(
    coded: Coded, skills: Optional[npt.NDArray[np.float64]], by_worker: bool,
) -> npt.NDArray[np.float64]: ...
def consistency(
    coded: Coded, skills: npt.NDArray[np.float64], aggregated: Codes,
) -> npt.NDArray[np.float64]: ...
def worker_accuracy(coded: Coded, truth: Codes) -> npt.NDArray[np.float64]: ...
def spammer_scores(coded: Coded) -> npt.NDArray[np.float64]: ...

class Fitted:
    classes: list[str]
    workers: list[str]
    method: str
    n_features: int
    def predict_proba(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...
    def settings(self) -> dict[str, Any]: ...
    def history(self) -> list[dict[str, Any]]: ...
    def annotators(self) -> dict[str, Any]: ...
    def save(self, path: str, overwrite: bool = False) -> None: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def _from_bytes(data: bytes) -> "Fitted": ...

def fit(
    method: str, x: npt.NDArray[np.float32], tasks: Codes, workers: Codes, labels: Codes,
    task_ids: Sequence[Any], worker_ids: Sequence[Any], classes: list[str], *,
    n_jobs: Optional[int] = None, progress: Optional[Callable[[int, int, str], None]] = None,
    recipe: Optional[str] = None, epochs: Optional[int] = None, batch_size: Optional[int] = None,
    lr: Optional[float] = None, seed: int = 0, select: Optional[str] = None,
    holdout: Optional[float] = None, ensemble: Optional[int] = None, n_units: Optional[int] = None,
    dropout: Optional[float] = None, head: Optional[str] = None, device: Optional[str] = None,
    emb_dim: Optional[int] = None,
    scale: Optional[float] = None, confusion: Optional[str] = None,
    regularizer: Optional[str] = None, reg_lambda: Optional[float] = None,
) -> Fitted: ...
def load(path: str) -> Fitted: ...
def sort_labels(labels: list[str]) -> list[str]: ...
def _matrix_address(x: npt.NDArray[np.float32]) -> int: ...
