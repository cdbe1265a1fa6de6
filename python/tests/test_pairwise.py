"""Pairwise comparisons: ``BradleyTerry`` and ``NoisyBradleyTerry`` beside crowd-kit 1.4.2's
on crowd-kit's own examples and on generated comparisons with known strengths, their errors,
ties, and bootstrap confidence intervals."""

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_series_equal

import conal.aggregation as ours
from conftest import require

ck = require("crowdkit.aggregation")

COLUMNS = ["worker", "task", "left", "right", "label"]
ABC = pd.DataFrame(
    [["w1", "t1", "a", "b", "a"], ["w1", "t2", "b", "c", "b"], ["w1", "t3", "c", "a", "a"]], columns=COLUMNS
)
CYCLE = pd.DataFrame(
    [["w1", "t1", "a", "b", "a"], ["w1", "t2", "b", "c", "b"], ["w1", "t3", "c", "a", "c"]], columns=COLUMNS
)


def generated(n_comparisons=60_000, n_items=80, n_workers=40, seed=0):
    """Comparisons by workers of varied skill (chance of comparing by strength) and bias
    (chance of "left" otherwise), with the planted strengths."""
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 1, n_items)
    skill = rng.uniform(0.3, 1, n_workers)
    bias = rng.uniform(0.2, 0.8, n_workers)
    i = rng.integers(0, n_items, n_comparisons)
    j = (i + rng.integers(1, n_items, n_comparisons)) % n_items
    w = rng.integers(0, n_workers, n_comparisons)
    by_strength = rng.random(n_comparisons) < skill[w]
    p_left = 1 / (1 + np.exp(strength[j] - strength[i]))
    left_won = np.where(by_strength, rng.random(n_comparisons) < p_left, rng.random(n_comparisons) < bias[w])
    items = np.array([f"i{k}" for k in range(n_items)], dtype=object)
    df = pd.DataFrame({"worker": [f"w{k}" for k in w], "left": items[i], "right": items[j]})
    df["label"] = np.where(left_won, df["left"], df["right"])
    truth = pd.Series(strength, index=items)
    skills = pd.Series(skill, index=[f"w{k}" for k in range(n_workers)])
    return df, truth, skills


def test_crowd_kits_examples_give_crowd_kits_scores():
    empty = pd.DataFrame([], columns=COLUMNS)
    assert_series_equal(ours.BradleyTerry(n_iter=1).fit(empty).scores_, ck.BradleyTerry(n_iter=1).fit(empty).scores_)
    for data, n_iter in [(ABC, 0), (ABC, 10), (CYCLE, 10), (CYCLE, 100500)]:
        want = ck.BradleyTerry(n_iter=n_iter, tol=0 if n_iter < 1000 else 1e-5).fit(data).scores_
        got = ours.BradleyTerry(n_iter=n_iter, tol=0 if n_iter < 1000 else 1e-5).fit(data).scores_
        assert_series_equal(got, want, rtol=0, atol=1e-12)
    assert ours.BradleyTerry(n_iter=10, tol=0).fit(ABC).scores_.round(3).tolist() == [0.935, 0.065, 0.0]


def test_bradley_terry_equals_crowd_kit_iteration_for_iteration():
    df, _, _ = generated()
    for n_iter in (1, 7, 100):
        want = ck.BradleyTerry(n_iter=n_iter, tol=0).fit(df).scores_
        got = ours.BradleyTerry(n_iter=n_iter, tol=0).fit(df).scores_
        assert_series_equal(got, want, rtol=0, atol=1e-12)


def test_bradley_terry_stops_when_converged_where_crowd_kit_stops_after_two_iterations():
    df, _, _ = generated()
    converged = ours.BradleyTerry(n_iter=100_000, tol=1e-14).fit(df).scores_
    ck_default = ck.BradleyTerry(n_iter=100).fit(df).scores_
    ours_default = ours.BradleyTerry(n_iter=100).fit(df)
    assert_series_equal(ck_default, ck.BradleyTerry(n_iter=2, tol=0).fit(df).scores_, rtol=0, atol=0)
    assert (ck_default - converged).abs().max() > 1e-4
    assert (ours_default.scores_ - converged).abs().max() < 1e-5
    assert ours_default.loss_history_[-1] < 1e-5 and len(ours_default.loss_history_) > 2


def test_noisy_bradley_terry_ranks_as_well_as_crowd_kit_and_finds_skills():
    df, truth, skills = generated(n_comparisons=8_000, n_items=30, n_workers=15)
    mine = ours.NoisyBradleyTerry().fit(df)
    theirs = ck.NoisyBradleyTerry().fit(df)
    ours_rho = truth.corr(mine.scores_, method="spearman")
    their_rho = truth.corr(theirs.scores_, method="spearman")
    assert ours_rho >= 0.96 and ours_rho >= their_rho - 0.002, (ours_rho, their_rho)
    assert skills.corr(mine.skills_) > 0.9
    # crowd-kit's gradient overwrites each worker's skill term rather than summing it: its
    # skills do not follow the planted ones.
    assert skills.corr(mine.skills_) > skills.corr(theirs.skills_) + 0.5
    assert mine.scores_.index.name == "label" and mine.scores_.name == "agg_score"
    assert mine.skills_.name == "skill" and mine.biases_.name == "bias"
    assert list(mine.skills_.index) == list(theirs.skills_.index)
    assert list(mine.scores_.index) == list(theirs.scores_.index)
    assert np.all(np.diff(mine.loss_history_) <= 1e-9)


@pytest.mark.parametrize("cls", [ours.BradleyTerry, ours.NoisyBradleyTerry])
def test_zero_iterations_list_every_item(cls):
    scores = cls(n_iter=0).fit_predict(CYCLE)
    assert list(scores.index) == ["a", "b", "c"]


def test_bad_rows_are_named():
    bad = ABC.copy()
    bad.loc[1, "label"] = "z"
    with pytest.raises(ValueError, match=r"row 1: the label is neither the left item \"b\""):
        ours.BradleyTerry(n_iter=10).fit(bad)
    same = ABC.copy()
    same.loc[2, "right"] = "c"
    with pytest.raises(ValueError, match="row 2: item \"c\" is compared with itself"):
        ours.NoisyBradleyTerry().fit(same)
    with pytest.raises(KeyError, match="'right'"):
        ours.BradleyTerry(n_iter=10).fit(ABC.drop(columns="right"))
    with pytest.raises(KeyError, match="'worker'"):
        ours.NoisyBradleyTerry().fit(ABC.drop(columns="worker"))
    with pytest.raises(ValueError, match="ties"):
        ours.BradleyTerry(n_iter=10, ties="both").fit(ABC)
    # Bradley-Terry does not need to know who compared.
    assert ours.BradleyTerry(n_iter=10).fit(ABC.drop(columns=["worker", "task"])).scores_.idxmax() == "a"


def test_ties_count_for_nothing_or_half_a_win():
    df = pd.DataFrame({"left": ["a", "a", "b", "a"], "right": ["b", "b", "a", "b"], "label": ["a", "b", "tie", "equal"]})
    dropped = ours.BradleyTerry(n_iter=100).fit_predict(df)
    assert dropped.tolist() == pytest.approx([0.5, 0.5])
    lopsided = pd.concat([df, pd.DataFrame({"left": ["a"], "right": ["b"], "label": ["a"]})])
    dropped = ours.BradleyTerry(n_iter=1000, tol=0).fit_predict(lopsided)
    halved = ours.BradleyTerry(n_iter=1000, tol=0, ties="half").fit_predict(lopsided)
    assert dropped["a"] == pytest.approx(2 / 3) and halved["a"] == pytest.approx(3 / 5)


def test_confidence_intervals_hold_the_scores():
    df, _, _ = generated(n_comparisons=20_000, n_items=30)
    bt = ours.BradleyTerry(n_iter=1000).fit(df)
    ci = bt.confidence_intervals(level=0.9, n_resamples=100)
    assert list(ci.columns) == ["score", "lower", "upper"] and list(ci.index) == list(bt.scores_.index)
    assert np.allclose(ci["score"], bt.scores_)
    assert ((ci["lower"] < ci["score"]) & (ci["score"] < ci["upper"])).all()
    wider = bt.confidence_intervals(level=0.99, n_resamples=100)
    assert ((wider["upper"] - wider["lower"]) > (ci["upper"] - ci["lower"])).all()
    again = bt.confidence_intervals(level=0.9, n_resamples=100)
    assert ci.equals(again)
    with pytest.raises(ValueError, match="level"):
        bt.confidence_intervals(level=1.5)
