"""conal.aggregation against crowd-kit 1.4 on the same DataFrames: the same labels (ties
aside), posteriors within 1e-6, the same shapes, index names and column layout."""

import numpy as np
import pandas as pd
import pytest

import conal.aggregation as ours

ck = pytest.importorskip("crowdkit.aggregation")

SETS = ["generated", "music", "labelme"]


def same_layout(a, b):
    assert type(a) is type(b)
    assert list(a.index) == list(b.index)
    assert a.index.names == b.index.names
    if isinstance(a, pd.DataFrame):
        assert list(a.columns) == list(b.columns)
        assert a.columns.name == b.columns.name
    else:
        assert a.name == b.name


@pytest.mark.parametrize("name", SETS)
def test_majority_vote_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    theirs, mine = ck.MajorityVote().fit(df), ours.MajorityVote().fit(df)
    same_layout(mine.probas_, theirs.probas_)
    np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-12)
    same_layout(mine.labels_, theirs.labels_)
    assert (mine.labels_ == theirs.labels_).all()
    skills = theirs.skills_
    same_layout(mine.skills_, skills)
    np.testing.assert_allclose(mine.skills_.to_numpy(dtype=float), skills.to_numpy(dtype=float), atol=1e-12)


@pytest.mark.parametrize("name", SETS)
def test_dawid_skene_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    theirs, mine = ck.DawidSkene(n_iter=100).fit(df), ours.DawidSkene(n_iter=100).fit(df)
    same_layout(mine.probas_, theirs.probas_)
    np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-6)
    agree = (mine.labels_ == theirs.labels_).mean()
    # Labels may differ only where the posterior is tied within 1e-6.
    p = theirs.probas_.to_numpy()
    top2 = np.sort(p, axis=1)[:, -2:]
    ties = (top2[:, 1] - top2[:, 0]) < 1e-6
    assert ((mine.labels_ == theirs.labels_).to_numpy() | ties).all(), f"agreement {agree}"
    same_layout(mine.priors_, theirs.priors_)
    np.testing.assert_allclose(mine.priors_.to_numpy(), theirs.priors_.to_numpy(), atol=1e-6)
    assert mine.errors_.shape == theirs.errors_.shape
    assert list(mine.errors_.index) == list(theirs.errors_.index)
    assert mine.errors_.index.names == theirs.errors_.index.names
    assert list(mine.errors_.columns) == list(theirs.errors_.columns)
    np.testing.assert_allclose(mine.errors_.to_numpy(), theirs.errors_.to_numpy(), atol=1e-6)
    assert len(mine.loss_history_) == len(theirs.loss_history_)
    np.testing.assert_allclose(mine.loss_history_, theirs.loss_history_, atol=1e-6)


def test_dawid_skene_true_labels_as_crowd_kit(generated):
    gold = pd.Series({"t0": "cat", "t1": "dog", "t2": "owl"})
    theirs = ck.DawidSkene(n_iter=50).fit(generated, true_labels=gold)
    mine = ours.DawidSkene(n_iter=50).fit(generated, true_labels=gold)
    np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-6)
    assert mine.labels_.loc["t2"] == "owl"


@pytest.mark.parametrize("name", SETS)
def test_glad_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    theirs, mine = ck.GLAD().fit(df), ours.GLAD().fit(df)
    same_layout(mine.probas_, theirs.probas_)
    same_layout(mine.labels_, theirs.labels_)
    agreement = (mine.labels_ == theirs.labels_).mean()
    assert agreement >= 0.995, f"GLAD labels agree on {agreement:.4f} of tasks"
    same_layout(mine.alphas_, theirs.alphas_)
    same_layout(mine.betas_, theirs.betas_)
    # The same stopping round, at nearly the same expected log-likelihood (the M-steps'
    # conjugate gradients differ in the last digits, so Q agrees to a few parts in 1,000).
    assert len(mine.loss_history_) == len(theirs.loss_history_)
    np.testing.assert_allclose(mine.loss_history_, theirs.loss_history_, rtol=5e-3)


def test_fit_predict_returns_what_crowd_kit_returns(generated):
    labels = ours.DawidSkene().fit_predict(generated)
    assert isinstance(labels, pd.Series) and labels.name == "agg_label"
    probas = ours.MajorityVote().fit_predict_proba(generated)
    assert isinstance(probas, pd.DataFrame)
    np.testing.assert_allclose(probas.sum(axis=1), 1.0)


def test_categorical_and_integer_columns(generated):
    cat = generated.astype({"task": "category", "worker": "category", "label": "category"})
    a = ours.DawidSkene().fit_predict(generated)
    b = ours.DawidSkene().fit_predict(cat)
    assert (a.to_numpy() == b.to_numpy()).all()
    codes = generated.apply(lambda c: pd.factorize(c)[0])
    c = ours.MajorityVote().fit_predict(codes)
    assert c.dtype.kind == "i"
