"""Shared fixtures: the real data sets (skipped without them, failed in CI), a generated
crowd, and the small table crowd the Rust tests use."""

import importlib
import os
import pathlib

import numpy as np
import pandas as pd
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TABLE = REPO / "tests" / "fixtures" / "old-table"


def require(module: str):
    """A reference library the parity tests compare against (crowd-kit, …). Without it they
    say SKIPPED; under CONAL_REQUIRE_PYTHON (CI) a library that is missing or fails to
    import fails the run instead, so that parity cannot pass silently."""
    try:
        return importlib.import_module(module)
    except Exception as e:  # an ImportError, or any error the library raises on import
        if os.environ.get("CONAL_REQUIRE_PYTHON"):
            raise RuntimeError(f"{module} cannot be imported ({type(e).__name__}: {e}) and "
                               f"CONAL_REQUIRE_PYTHON is set") from e
        pytest.skip(f"SKIPPED: {module} cannot be imported ({e})", allow_module_level=True)


def data_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("CONAL_DATA_DIR", REPO.parent / "shared" / "data"))


def need(sub: str) -> pathlib.Path:
    path = data_dir() / sub
    if not path.is_dir():
        if os.environ.get("CONAL_REQUIRE_DATA"):
            pytest.fail(f"{path} not found and CONAL_REQUIRE_DATA is set")
        pytest.skip(f"SKIPPED: {path} not found (set CONAL_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def music() -> pd.DataFrame:
    d = need("music_genre")
    raw = pd.read_csv(d / "music_genre_mturk.csv", usecols=["id", "annotator", "class"])
    return raw.rename(columns={"id": "task", "annotator": "worker", "class": "label"})


@pytest.fixture(scope="session")
def labelme() -> pd.DataFrame:
    d = need("labelme")
    m = np.loadtxt(d / "answers.txt", dtype=np.int64)
    tasks, workers = np.nonzero(m >= 0)
    return pd.DataFrame({"task": tasks, "worker": workers, "label": m[tasks, workers]})


@pytest.fixture(scope="session")
def generated() -> pd.DataFrame:
    """2,000 tasks × 5 labels from 100 workers of varying skill, 4 string classes."""
    rng = np.random.default_rng(0)
    n, k, r = 2000, 4, 100
    truth = rng.integers(0, k, n)
    skill = rng.uniform(0.3, 0.95, r)
    tasks = np.repeat(np.arange(n), 5)
    workers = np.concatenate([rng.choice(r, 5, replace=False) for _ in range(n)])
    right = rng.random(len(tasks)) < skill[workers]
    labels = np.where(right, truth[tasks], rng.integers(0, k, len(tasks)))
    names = np.array(["cat", "dog", "owl", "yak"])
    return pd.DataFrame({"task": [f"t{t}" for t in tasks], "worker": [f"w{w}" for w in workers],
                         "label": names[labels]})


@pytest.fixture(scope="session")
def table():
    answers = pd.read_csv(TABLE / "answers.csv")
    features = pd.read_csv(TABLE / "features.csv", header=None, index_col=0)
    features.index.name = "task"
    test = pd.read_csv(TABLE / "test_features.csv", header=None, index_col=0)
    gold = pd.read_csv(TABLE / "test_gold.csv").set_index("task")["label"]
    return answers, features, test, gold.loc[test.index]
