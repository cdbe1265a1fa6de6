"""Dirichlet pseudo-counts and known workers for DawidSkene and OneCoinDawidSkene (beyond
crowd-kit): zero pseudo-counts change no number, the forms (number, pair, dict, Series,
DataFrame in errors_'s layout) mean what their docstrings say, known workers keep their
matrices, and bad priors are ValueErrors naming what is wrong."""

import numpy as np
import pandas as pd
import pytest

import conal.aggregation as ours


def small() -> pd.DataFrame:
    # Worker a gives "no" to t1 and t2; worker b gives "yes" to t2.
    return pd.DataFrame({"task": ["t1", "t2", "t2"], "worker": ["a", "a", "b"], "label": ["no", "no", "yes"]})


@pytest.mark.parametrize("cls", [ours.DawidSkene, ours.OneCoinDawidSkene])
def test_zero_pseudo_counts_change_nothing(cls, generated):
    plain = cls().fit(generated)
    zeros = cls(class_prior=0.0, confusion_prior=(0.0, 0.0)).fit(generated)
    pd.testing.assert_frame_equal(plain.probas_, zeros.probas_, check_exact=True)
    pd.testing.assert_frame_equal(plain.errors_, zeros.errors_, check_exact=True)
    assert plain.loss_history_ == zeros.loss_history_


def test_pseudo_counts_at_zero_iterations_are_counts():
    # Majority vote: t1 = (no 1, yes 0), t2 = (0.5, 0.5): class counts (1.5, 0.5) + (1, 3).
    ds = ours.DawidSkene(n_iter=0, class_prior={"no": 1, "yes": 3}, confusion_prior=(1.0, 0.5)).fit(small())
    assert ds.priors_["no"] == pytest.approx(2.5 / 6) and ds.priors_["yes"] == pytest.approx(3.5 / 6)
    # Worker a gave "no": counts (true no: 1.5, true yes: 0.5) plus 1 right, 0.5 wrong.
    assert ds.errors_.loc[("a", "no"), "no"] == pytest.approx(2.5 / 3)
    assert ds.errors_.loc[("a", "no"), "yes"] == pytest.approx(0.5)
    # The same pseudo-counts as a table in errors_'s layout (index: label given, columns: true).
    table = pd.DataFrame([[1.0, 0.5], [0.5, 1.0]], index=["no", "yes"], columns=["no", "yes"])
    again = ours.DawidSkene(n_iter=0, class_prior=pd.Series({"no": 1.0, "yes": 3.0}), confusion_prior=table).fit(small())
    pd.testing.assert_frame_equal(ds.errors_, again.errors_)
    pd.testing.assert_series_equal(ds.priors_, again.priors_)


def test_a_confusion_prior_pulls_sparse_workers_towards_reliable(generated):
    # Workers with few labels get a diagonal-heavy matrix: their mean accuracy entry rises.
    plain = ours.DawidSkene().fit(generated)
    prior = ours.DawidSkene(confusion_prior=2.0).fit(generated)

    def diagonal(errors):
        rows = errors.reset_index()
        return np.mean([row[row["label"]] for _, row in rows.iterrows()])

    assert diagonal(prior.errors_) > diagonal(plain.errors_)


@pytest.mark.parametrize("cls", [ours.DawidSkene, ours.OneCoinDawidSkene])
def test_known_workers_keep_their_matrices(cls):
    # c is known to give the other label: t3, labelled only by c as "yes", is "no".
    df = pd.DataFrame(
        {"task": ["t1", "t2", "t1", "t3"], "worker": ["a", "a", "b", "c"], "label": ["no", "yes", "no", "yes"]}
    )
    fitted = cls().fit(df, known_workers={"c": 0.0, "nobody": 0.9})
    assert fitted.labels_["t3"] == "no"
    assert fitted.errors_.loc[("c", "yes"), "no"] == pytest.approx(1.0)
    # A previous fit's errors_ rows as known matrices: the worker's rows come back unchanged.
    first = ours.DawidSkene().fit(df)
    rows = first.errors_.loc[["a"]]
    full = rows.reindex(pd.MultiIndex.from_product([["a"], ["no", "yes"]], names=["worker", "label"]), fill_value=0.0)
    full = full / full.sum()  # columns (true labels) sum to 1 over the labels given
    again = ours.DawidSkene().fit(df, known_workers=full)
    np.testing.assert_allclose(
        again.errors_.loc[rows.index].to_numpy(), full.loc[rows.index].clip(lower=1e-10).to_numpy(), atol=1e-9
    )


def test_bad_priors_are_named():
    with pytest.raises(ValueError, match="class_prior names 'maybe'"):
        ours.DawidSkene(class_prior={"maybe": 1}).fit(small())
    with pytest.raises(ValueError, match="confusion_prior"):
        ours.DawidSkene(confusion_prior=-1.0).fit(small())
    with pytest.raises(ValueError, match=r"known_workers\['a'\] = 1.5"):
        ours.DawidSkene().fit(small(), known_workers={"a": 1.5})
    bad = pd.DataFrame(
        [[0.5, 0.0], [0.4, 1.0]],
        index=pd.MultiIndex.from_tuples([("a", "no"), ("a", "yes")], names=["worker", "label"]),
        columns=["no", "yes"],
    )
    with pytest.raises(ValueError, match="known_workers"):
        ours.DawidSkene().fit(small(), known_workers=bad)
    with pytest.raises(TypeError, match="confusion_prior"):
        ours.OneCoinDawidSkene(confusion_prior=[1, 2, 3]).fit(small())
