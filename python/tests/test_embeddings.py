"""Embedded answers: ``ClosestToAverage`` and ``RASA`` beside crowd-kit 1.4.2's on generated
embeddings (the same chosen answers; scores, skills and aggregates equal to 1e-12), with
known true embeddings, and their errors."""

import numpy as np
import pandas as pd
import pytest

import conal.aggregation as ours
from conftest import require

ck = require("crowdkit.aggregation")
distance = require("scipy.spatial.distance")


def generated(n_tasks=150, n_workers=20, per=4, dim=12, seed=0):
    """Answers as noisy copies of each task's true vector; each worker has its own noise."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0.05, 1.0, n_workers)
    rows = []
    for t in range(n_tasks):
        truth = rng.normal(size=dim)
        for w in rng.choice(n_workers, per, replace=False):
            rows.append([f"t{t}", f"w{w}", f"answer {t}/{w}", truth + rng.normal(scale=noise[w], size=dim)])
    return pd.DataFrame(rows, columns=["task", "worker", "output", "embedding"]), noise


def assert_same_choice(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.index) == list(want.index) and got.index.name == want.index.name == "task"
    assert list(got.columns) == list(want.columns)
    assert (got["output"].to_numpy() == want["output"].to_numpy()).all()


@pytest.mark.parametrize("how", ["euclidean", "cosine", "callable"])
def test_closest_to_average_as_crowd_kit(how):
    df, _ = generated()
    dist = (lambda u, v: float(np.abs(u - v).sum())) if how == "callable" else getattr(distance, how)
    theirs = ck.ClosestToAverage(distance=dist).fit(df)
    mine = ours.ClosestToAverage(distance=dist).fit(df)
    assert_same_choice(mine.embeddings_and_outputs_, theirs.embeddings_and_outputs_)
    assert list(mine.scores_.columns) == list(theirs.scores_.columns) == ["output", "score", "embedding"]
    assert np.allclose(mine.scores_["score"], theirs.scores_["score"], rtol=1e-12, atol=1e-15)
    true = pd.Series([np.ones(12)] * 2, index=["t0", "t3"])
    theirs = ck.ClosestToAverage(distance=dist).fit(df, true_embeddings=true)
    mine = ours.ClosestToAverage(distance=dist).fit(df, true_embeddings=true)
    assert np.allclose(mine.scores_["score"], theirs.scores_["score"], rtol=1e-12, atol=1e-15)


def test_rasa_as_crowd_kit():
    df, noise = generated()
    theirs = ck.RASA().fit(df)
    mine = ours.RASA().fit(df)
    assert list(mine.skills_.index) == list(theirs.skills_.index) and mine.skills_.index.name == "worker"
    assert np.allclose(mine.skills_, theirs.skills_, rtol=1e-12)
    assert list(mine.prior_skills_.index) == list(theirs.prior_skills_.index)
    assert mine.prior_skills_.name == theirs.prior_skills_.name
    assert np.allclose(mine.prior_skills_, theirs.prior_skills_, rtol=1e-12)
    assert list(mine.aggregated_embeddings_.index) == list(theirs.aggregated_embeddings_.index)
    for a, b in zip(mine.aggregated_embeddings_, theirs.aggregated_embeddings_):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-14)
    assert_same_choice(ours.RASA().fit_predict(df), ck.RASA().fit_predict(df))
    scores = ours.RASA().fit_predict_scores(df)
    assert np.allclose(scores["score"], ck.RASA().fit_predict_scores(df)["score"], rtol=1e-12, atol=1e-15)
    # The skills follow the workers' noise: the quietest workers are the most skilled.
    workers = pd.Series(noise, index=[f"w{k}" for k in range(20)])
    assert mine.skills_.corr(1 / workers**2, method="spearman") > 0.9
    assert mine.loss_history_ and mine.loss_history_[-1] < 1e-9


def test_rasa_with_known_embeddings_and_few_rounds():
    df, _ = generated(n_tasks=40, seed=1)
    true = pd.Series([np.zeros(12) + 0.5] * 3, index=["t0", "t1", "t7"])
    for params in [dict(n_iter=1), dict(n_iter=3, alpha=0.1), dict(tol=1e-3)]:
        theirs = ck.RASA(**params).fit(df, true_embeddings=true)
        mine = ours.RASA(**params).fit(df, true_embeddings=true)
        assert np.allclose(mine.skills_, theirs.skills_, rtol=1e-12)
        for a, b in zip(mine.aggregated_embeddings_, theirs.aggregated_embeddings_):
            assert np.allclose(a, b, rtol=1e-12, atol=1e-14)


def test_bad_embeddings_are_named():
    df, _ = generated(n_tasks=3)
    short = df.copy()
    short.at[5, "embedding"] = np.zeros(11)
    with pytest.raises(ValueError, match=r"row 5: an embedding of shape \(11,\)"):
        ours.RASA().fit(short)
    nan = df.copy()
    nan.at[2, "embedding"] = np.full(12, np.nan)
    with pytest.raises(ValueError, match="row 2: the embedding's number 0 is NaN"):
        ours.ClosestToAverage(distance=distance.euclidean).fit(nan)
    with pytest.raises(KeyError, match="'output'"):
        ours.ClosestToAverage(distance=distance.euclidean).fit(df.drop(columns="output"))
    twice = pd.Series([np.zeros(12)] * 2, index=["t0", "t0"])
    with pytest.raises(ValueError, match="multiple true embeddings"):
        ours.RASA().fit(df, true_embeddings=twice)


def test_text_rasa_as_crowd_kit():
    rng = np.random.default_rng(3)
    words = ["red", "green", "blue", "cat", "dog", "sun", "moon", "tree"]
    table = {w: rng.normal(size=6) for w in words}

    def encoder(text):
        return np.sum([table[w] for w in text.split()], axis=0)

    rows = []
    for t in range(60):
        truth = " ".join(rng.choice(words, 3))
        for w in range(4):
            text = truth if rng.random() < 0.6 + 0.1 * w else " ".join(rng.choice(words, 3))
            rows.append([f"t{t}", f"w{w}", text])
    df = pd.DataFrame(rows, columns=["task", "worker", "text"])
    calls = []
    counted = lambda text: (calls.append(text), encoder(text))[1]
    theirs = ck.TextRASA(encoder=encoder).fit_predict(df, None)
    mine = ours.TextRASA(encoder=counted)
    got = mine.fit_predict(df)
    assert list(got.index) == list(theirs.index) and got.name == theirs.name == "agg_text"
    assert (got.to_numpy() == theirs.to_numpy()).all()
    assert len(calls) == df["text"].nunique() < len(df)
    assert np.allclose(mine.skills_, ck.TextRASA(encoder=encoder).fit(df, None).skills_, rtol=1e-12)
    with pytest.raises(ValueError, match="row 1: '' is not a non-empty text"):
        ours.TextRASA(encoder=encoder).fit(df.assign(text=["red"] + [""] * (len(df) - 1)))


def _crowd_kit_hrrasa():
    """crowd-kit's HRRASA module, made to run with pandas 2: its ``_aggregate_embeddings``
    casts a Series of arrays to float64, which pandas 2 refuses; the module is given a pandas
    whose ``Series`` drops that cast for object Series (nothing else of crowd-kit changes)."""
    import types

    import crowdkit.aggregation.embeddings.hrrasa as module

    class PandasWithoutTheCast(types.ModuleType):
        def __getattr__(self, name):
            return getattr(pd, name)

        @staticmethod
        def Series(data=None, *args, dtype=None, **kwargs):
            if isinstance(data, pd.Series) and data.dtype == object:
                return pd.Series(data, *args, **kwargs)
            return pd.Series(data, *args, dtype=dtype, **kwargs)

    module.pd = PandasWithoutTheCast("pandas")
    return module.HRRASA


def test_hrrasa_as_crowd_kit():
    reference = _crowd_kit_hrrasa()
    df, noise = generated(n_tasks=60)
    solo = pd.DataFrame([["solo", "w3", "only", np.ones(12)], ["solo2", "wX", "alone", np.full(12, 2.0)]], columns=df.columns)
    df = pd.concat([df, solo], ignore_index=True)
    theirs = reference().fit(df)
    mine = ours.HRRASA().fit(df)
    assert list(mine.skills_.index) == list(theirs.skills_.index)
    assert np.allclose(mine.skills_, theirs.skills_, rtol=1e-12, equal_nan=True)
    assert list(mine.prior_skills_.index) == list(theirs.prior_skills_.index)
    assert np.allclose(mine.prior_skills_, theirs.prior_skills_, rtol=1e-12, equal_nan=True)
    assert list(mine.aggregated_embeddings_.index) == list(theirs.aggregated_embeddings_.index)
    for a, b in zip(mine.aggregated_embeddings_, theirs.aggregated_embeddings_):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-14)
    assert np.allclose(mine.loss_history_, theirs.loss_history_, rtol=1e-9)
    assert_same_choice(ours.HRRASA().fit_predict(df), reference().fit_predict(df))
    workers = pd.Series(noise, index=[f"w{k}" for k in range(20)])
    assert mine.skills_.dropna().corr(1 / workers**2, method="spearman") > 0.8


def test_text_hrrasa_as_crowd_kit():
    _crowd_kit_hrrasa()
    rng = np.random.default_rng(4)
    words = ["red", "green", "blue", "cat", "dog", "sun"]
    table = {w: rng.normal(size=5) for w in words}
    encoder = lambda text: np.sum([table[w] for w in text.split()], axis=0)
    rows = []
    for t in range(25):
        truth = " ".join(rng.choice(words, 3))
        for w in range(3):
            rows.append([f"t{t}", f"w{w}", truth if rng.random() < 0.7 else " ".join(rng.choice(words, 3))])
    df = pd.DataFrame(rows, columns=["task", "worker", "text"])
    want = ck.TextHRRASA(encoder=encoder).fit_predict(df, None)
    got = ours.TextHRRASA(encoder=encoder).fit_predict(df)
    assert list(got.index) == list(want.index) and got.name == want.name
    assert (got.to_numpy() == want.to_numpy()).all()
