"""Soft answers (a probability per class in p_<class> columns, in place of a label) for
MajorityVote, Wawa, DawidSkene and OneCoinDawidSkene: one-hot rows give the labels' numbers bit for
bit, probabilities count as fractions of a label (known answers), a class that takes one
label per answer says so, and rows that are not probabilities are named."""

import numpy as np
import pandas as pd
import pytest

import conal.aggregation as ours



def one_hot(df: pd.DataFrame) -> pd.DataFrame:
    # The columns in the labels' order of first appearance: the class order the labels
    # give (ties and sums over classes follow it).
    classes = pd.unique(df["label"])
    out = df[["task", "worker"]].copy()
    for c in classes:
        out[f"p_{c}"] = (df["label"] == c).astype(float)
    return out


@pytest.mark.parametrize("cls", [ours.MajorityVote, ours.DawidSkene, ours.OneCoinDawidSkene])
def test_one_hot_rows_are_the_labels(cls, generated):
    hard, soft = cls().fit(generated), cls().fit(one_hot(generated))
    pd.testing.assert_series_equal(hard.labels_.sort_index(), soft.labels_.sort_index())
    pd.testing.assert_frame_equal(
        hard.probas_.sort_index().sort_index(axis=1), soft.probas_.sort_index().sort_index(axis=1), check_exact=True
    )
    if hasattr(hard, "errors_"):
        pd.testing.assert_frame_equal(hard.errors_.sort_index(), soft.errors_.sort_index(), check_exact=True)


def test_one_hot_rows_are_the_labels_for_wawa(generated):
    hard, soft = ours.Wawa(), ours.Wawa()
    pd.testing.assert_frame_equal(
        hard.fit_predict_proba(generated), soft.fit_predict_proba(one_hot(generated)), check_exact=True
    )
    pd.testing.assert_series_equal(hard.skills_, soft.skills_, check_exact=True)


def test_probabilities_are_fractions_of_a_label():
    df = pd.DataFrame({"task": ["t", "t"], "worker": ["a", "b"], "p_no": [0.6, 0.3], "p_yes": [0.4, 0.7]})
    mv = ours.MajorityVote().fit(df)
    assert mv.labels_["t"] == "yes"
    assert mv.probas_.loc["t", "no"] == pytest.approx(0.45)
    ds = ours.DawidSkene(n_iter=0).fit(df)
    assert ds.errors_.loc[("a", "no"), "no"] == pytest.approx(0.6)
    assert set(ds.errors_.index) == {("a", "no"), ("a", "yes"), ("b", "no"), ("b", "yes")}


def test_a_model_labellers_probabilities_help_dawid_skene():
    """Generated crowds of 400 items: 3 people right 65 % of the time, and a model that labels
    every item with a calibrated probability (sure in [0.5, 1], right that often). Dawid-Skene
    with the model's probabilities beats it with the model's labels, majority vote with them,
    and dropping the model (means over 6 crowds)."""
    scores = {"soft": [], "labels": [], "vote": [], "dropped": []}
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n, rows = 400, []
        truth = rng.integers(0, 2, n)
        for i in range(n):
            for w in range(3):
                y = truth[i] if rng.random() < 0.65 else 1 - truth[i]
                rows.append((f"t{i}", f"p{w}", 1.0 - y, float(y)))
            sure = rng.uniform(0.5, 1.0)
            y = truth[i] if rng.random() < sure else 1 - truth[i]
            rows.append((f"t{i}", "model", sure if y == 0 else 1 - sure, sure if y == 1 else 1 - sure))
        soft = pd.DataFrame(rows, columns=["task", "worker", "p_0", "p_1"])
        hard = soft[["task", "worker"]].assign(label=np.where(soft["p_1"] > 0.5, "1", "0"))
        want = pd.Series(truth.astype(str), index=[f"t{i}" for i in range(n)])

        def accuracy(labels):
            return float((labels.reindex(want.index) == want).mean())

        scores["soft"].append(accuracy(ours.DawidSkene().fit_predict(soft)))
        scores["labels"].append(accuracy(ours.DawidSkene().fit_predict(hard)))
        scores["vote"].append(accuracy(ours.MajorityVote().fit_predict(hard)))
        scores["dropped"].append(accuracy(ours.DawidSkene().fit_predict(hard[hard["worker"] != "model"])))
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    assert mean["soft"] > mean["labels"] + 0.015, mean
    assert mean["soft"] > mean["vote"] + 0.02, mean
    assert mean["soft"] > mean["dropped"] + 0.04, mean


def test_classes_without_a_soft_form_say_so():
    df = pd.DataFrame({"task": ["t", "t"], "worker": ["a", "b"], "p_no": [0.6, 0.3], "p_yes": [0.4, 0.7]})
    for cls in (ours.GLAD, ours.ZeroBasedSkill, ours.KOS):
        with pytest.raises(KeyError, match="soft answers"):
            cls().fit(df)
    with pytest.raises(KeyError, match="'label'"):
        ours.MajorityVote().fit(df[["task", "worker"]])


def test_rows_that_are_not_probabilities_are_named():
    df = pd.DataFrame({"task": ["t", "t"], "worker": ["a", "b"], "p_no": [0.6, 0.3], "p_yes": [0.4, 0.8]})
    with pytest.raises(ValueError, match="row 1: the p_<class> columns sum to 1.1"):
        ours.DawidSkene().fit(df)
    with pytest.raises(ValueError, match="column 'p_no', row 0"):
        ours.MajorityVote().fit(df.assign(p_no=[-0.1, 0.2]))
    with pytest.raises(ValueError, match="column 'p_yes', row 1"):
        ours.MajorityVote().fit(df.assign(p_yes=[0.4, np.nan]))
