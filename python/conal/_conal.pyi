"""Type stubs of the native module (the public API is conal.aggregation and conal.learning)."""

from typing import Any, Callable, Optional

import numpy as np
import numpy.typing as npt

__version__: str

def majority_vote(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int,
    weights: Optional[npt.NDArray[np.float64]] = None,
) -> npt.NDArray[np.float64]: ...
def dawid_skene(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int, n_iter: int, tol: float,
    gold_tasks: npt.NDArray[np.int64], gold_labels: npt.NDArray[np.int64],
    initial: Optional[tuple[str, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]] = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], list[float]]: ...
def one_coin_dawid_skene(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int, n_iter: int, tol: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], list[float]]: ...
def zero_based_skill(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int, n_iter: int, lr_init: float,
    lr_steps_to_reduce: int, lr_reduce_factor: float, eps: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def kos(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int, n_iter: int, random_state: int,
) -> tuple[npt.NDArray[np.float64], int]: ...
def mace(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int, n_restarts: int, n_iter: int, method: str,
    default_noise: float, alpha: float, beta: float, random_state: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], float, int]: ...
def m_msr(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int, n_iter: int, tol: float, random_state: int,
) -> tuple[npt.NDArray[np.float64], list[float]]: ...
def krippendorff_alpha(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int,
) -> float: ...
def uncertainty(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int,
    skills: Optional[npt.NDArray[np.float64]], by_worker: bool,
) -> npt.NDArray[np.float64]: ...
def consistency(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int,
    skills: npt.NDArray[np.float64], aggregated: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]: ...
def spammer_scores(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int,
) -> npt.NDArray[np.float64]: ...
def glad(
    tasks: npt.NDArray[np.int64], workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64],
    n_tasks: int, n_workers: int, n_classes: int, n_iter: int, tol: float,
    m_step_max_iter: int, m_step_tol: float,
    class_priors: Optional[npt.NDArray[np.float64]] = None,
    ability_means: Optional[npt.NDArray[np.float64]] = None,
    difficulty_means: Optional[npt.NDArray[np.float64]] = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], list[float]]: ...
def default_params(method: str) -> str: ...
def sort_labels(labels: list[str]) -> list[str]: ...
def _matrix_address(x: npt.NDArray[np.float32]) -> int: ...
def fit(
    method: str, params: str, x: npt.NDArray[np.float32], tasks: npt.NDArray[np.int64],
    workers: npt.NDArray[np.int64], labels: npt.NDArray[np.int64], task_ids: list[str],
    worker_ids: list[str], classes: list[str], n_jobs: Optional[int],
    progress: Optional[Callable[[int, int, str], Any]],
) -> Fitted: ...
def load(path: str) -> Fitted: ...

class Fitted:
    classes: list[str]
    workers: list[str]
    method: str
    def predict_proba(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...
    def config_json(self) -> str: ...
    def history_json(self) -> str: ...
    def confusions(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], Optional[str]]: ...
    def save(self, path: str, overwrite: bool = False) -> None: ...
