"""conal.aggregation where crowd-kit 1.4.2's own contract has edges: a missing column is a
KeyError, ``n_iter=0`` is the initial estimate, a frame of 0 rows gives empty results,
several true labels per task count as crowd-kit counts them, and ``initial_error`` laid out
as crowd-kit lays it out is taken. Each case runs crowd-kit beside conal on the same frame."""

import numpy as np
import pandas as pd
import pytest

import conal.aggregation as ours
from conftest import require

ck = require("crowdkit.aggregation")

# Every class and the calls that read the frame, as crowd-kit's own edge tests call them.
CALLS = [
    ("MajorityVote", "fit_predict"),
    ("MajorityVote", "fit_predict_proba"),
    ("Wawa", "fit_predict"),
    ("Wawa", "fit_predict_proba"),
    ("ZeroBasedSkill", "fit_predict"),
    ("ZeroBasedSkill", "fit_predict_proba"),
    ("DawidSkene", "fit_predict"),
    ("OneCoinDawidSkene", "fit_predict_proba"),
    ("GLAD", "fit_predict"),
    ("KOS", "fit_predict"),
    ("MACE", "fit_predict"),
    ("MMSR", "fit_predict"),
    ("MMSR", "fit_predict_score"),
]
ONE_ROW = {"task": ["t1"], "worker": ["w1"], "label": ["no"]}


@pytest.mark.parametrize("column", ["task", "worker", "label"])
@pytest.mark.parametrize("cls,call", CALLS)
def test_a_missing_column_is_a_key_error_as_in_crowd_kit(cls, call, column):
    data = pd.DataFrame({c: v for c, v in ONE_ROW.items() if c != column})
    # crowd-kit's GLAD and KOS fail otherwise (AttributeError, or KOS's "binary only" on a
    # frame without a task column); the others raise KeyError, as ours do for all.
    with pytest.raises(Exception if cls in ("GLAD", "KOS") else KeyError):
        getattr(getattr(ck, cls)(), call)(data)
    with pytest.raises(KeyError) as caught:
        getattr(getattr(ours, cls)(), call)(data)
    # Also a ValueError, as every other bad input, with the message printed unquoted.
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"data has no column '{column}' (expected columns")


@pytest.mark.parametrize("column", ["task", "worker", "label"])
def test_gold_majority_vote_missing_columns(column, generated):
    data = pd.DataFrame({c: v for c, v in ONE_ROW.items() if c != column})
    gold = pd.Series({"t1": "no"})
    with pytest.raises(KeyError):
        ours.GoldMajorityVote().fit(data, gold)
    fitted = ours.GoldMajorityVote().fit(pd.DataFrame(ONE_ROW), gold)
    for call in ("predict", "predict_proba"):
        with pytest.raises(KeyError):
            getattr(fitted, call)(data)


def first_labels(df, n):
    return df[df.task.isin(df.task.unique()[:n])]


@pytest.mark.parametrize("cls", ["DawidSkene", "OneCoinDawidSkene", "GLAD"])
def test_zero_iterations_are_the_initial_estimate_as_in_crowd_kit(cls, generated):
    df = first_labels(generated, 300)
    theirs, mine = getattr(ck, cls)(n_iter=0).fit(df), getattr(ours, cls)(n_iter=0).fit(df)
    assert (mine.labels_.sort_index() == theirs.labels_.sort_index()).all()
    np.testing.assert_allclose(
        mine.probas_.sort_index().to_numpy(), theirs.probas_.sort_index().to_numpy(), atol=1e-9
    )
    assert list(mine.loss_history_) == list(theirs.loss_history_) == []
    if cls != "GLAD":
        np.testing.assert_allclose(mine.priors_.to_numpy(), theirs.priors_.to_numpy(), atol=1e-12)
        np.testing.assert_allclose(
            mine.errors_.to_numpy(), theirs.errors_.loc[mine.errors_.index, mine.errors_.columns].to_numpy(),
            atol=1e-9,
        )
    else:
        np.testing.assert_array_equal(mine.alphas_.to_numpy(), theirs.alphas_.sort_index().to_numpy())


def test_zero_iterations_with_known_labels_and_initial_errors(generated):
    df = first_labels(generated, 300)
    gold = df.drop_duplicates("task").set_index("task")["label"].iloc[:40]
    theirs = ck.DawidSkene(n_iter=0).fit(df, true_labels=gold)
    mine = ours.DawidSkene(n_iter=0).fit(df, true_labels=gold)
    np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-12)
    assert (mine.probas_.loc[gold.index].idxmax(axis=1) == gold).all()
    counts = ck.DawidSkene(n_iter=3).fit(df).errors_ * 10
    theirs = ck.DawidSkene(n_iter=0, initial_error_strategy="addition").fit(df, initial_error=counts)
    mine = ours.DawidSkene(n_iter=0, initial_error_strategy="addition").fit(df, initial_error=counts)
    np.testing.assert_allclose(
        mine.errors_.to_numpy(), theirs.errors_.loc[mine.errors_.index, mine.errors_.columns].to_numpy(), atol=1e-9
    )


@pytest.mark.parametrize("cls", ["ZeroBasedSkill", "MMSR"])
def test_zero_iterations_of_the_skill_methods_as_in_crowd_kit(cls, generated):
    df = first_labels(generated, 300)
    theirs, mine = getattr(ck, cls)(n_iter=0), getattr(ours, cls)(n_iter=0)
    want, got = theirs.fit_predict(df), mine.fit_predict(df)
    np.testing.assert_allclose(
        mine.skills_.sort_index().to_numpy(dtype=float), theirs.skills_.sort_index().to_numpy(dtype=float), atol=1e-9
    )
    assert (got.sort_index() == want.sort_index()).all()


def test_negative_iterations_are_refused():
    with pytest.raises(ValueError, match="n_iter must be at least 0, got -1"):
        ours.DawidSkene(n_iter=-1).fit(pd.DataFrame(ONE_ROW))


EMPTY = pd.DataFrame([], columns=["task", "worker", "label"])


def test_an_empty_frame_gives_dawid_skenes_empty_results_as_in_crowd_kit():
    for cls in ("DawidSkene", "OneCoinDawidSkene"):
        theirs, mine = getattr(ck, cls)(n_iter=10).fit(EMPTY), getattr(ours, cls)(n_iter=10).fit(EMPTY)
        for name in ("probas_", "errors_"):
            pd.testing.assert_frame_equal(getattr(mine, name), getattr(theirs, name))
        # crowd-kit's own test: these exact empty Series.
        pd.testing.assert_series_equal(mine.priors_, pd.Series(dtype=float, name="prior"))
        pd.testing.assert_series_equal(mine.labels_, pd.Series(dtype=float, name="agg_label"))


@pytest.mark.parametrize("cls", ["MajorityVote", "Wawa", "KOS"])
def test_an_empty_frame_gives_empty_labels_as_in_crowd_kit(cls):
    want, got = getattr(ck, cls)().fit_predict(EMPTY), getattr(ours, cls)().fit_predict(EMPTY)
    assert got.empty and want.empty and got.name == want.name == "agg_label"
    if cls != "KOS":
        want, got = getattr(ck, cls)().fit_predict_proba(EMPTY), getattr(ours, cls)().fit_predict_proba(EMPTY)
        assert got.empty and want.empty
        assert got.index.name == want.index.name and got.columns.name == want.columns.name


def test_an_empty_frame_gives_gold_majority_vote_empty_results():
    gold = pd.Series(dtype=float)
    for call in ("fit_predict", "fit_predict_proba"):
        want = getattr(ck.GoldMajorityVote(), call)(EMPTY, gold)
        got = getattr(ours.GoldMajorityVote(), call)(EMPTY, gold)
        assert got.empty and want.empty
    assert ours.GoldMajorityVote().fit(EMPTY, gold).skills_.empty


@pytest.mark.parametrize("cls", ["ZeroBasedSkill", "GLAD", "MACE", "MMSR"])
def test_an_empty_frame_is_refused_where_crowd_kit_fails(cls):
    # crowd-kit divides by zero here; conal says what is wrong.
    with pytest.raises(ValueError, match="0 rows"):
        getattr(ours, cls)().fit(EMPTY)


def test_gold_majority_vote_with_several_true_labels_per_task(generated):
    df = first_labels(generated, 400)
    tasks = df.task.unique()
    # Tasks 0–99 accept two labels (their first and second worker's), 100–149 one.
    firsts = df.groupby("task", sort=False).label.nth(0)
    seconds = df.groupby("task", sort=False).label.nth(1)
    firsts.index, seconds.index = df.task.loc[firsts.index], df.task.loc[seconds.index]
    gold = pd.concat([firsts.loc[tasks[:150]], seconds.loc[tasks[:100]]])
    assert gold.index.has_duplicates
    theirs, mine = ck.GoldMajorityVote().fit(df, gold), ours.GoldMajorityVote().fit(df, gold)
    pd.testing.assert_series_equal(mine.skills_, theirs.skills_, check_exact=False, atol=1e-12)
    want, got = theirs.predict_proba(df), mine.predict_proba(df)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-12)
    assert (mine.predict(df) == theirs.predict(df)).all()


def test_initial_error_with_columns_that_are_not_labels_as_in_crowd_kit(generated):
    df = first_labels(generated, 300)
    counts = ck.DawidSkene(n_iter=3).fit(df).errors_ * 10
    # crowd-kit's own test sets entries with a tuple key, which adds a column: ignored.
    counts[("w1", "cat"), "dog"] = 1.0
    theirs = ck.DawidSkene(n_iter=20, initial_error_strategy="addition").fit(df, initial_error=counts)
    mine = ours.DawidSkene(n_iter=20, initial_error_strategy="addition").fit(df, initial_error=counts)
    # crowd-kit carries the extra column into probas_ (as NaN); the labels' columns agree.
    np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_[mine.probas_.columns].to_numpy(), atol=1e-6)
    assert (mine.labels_ == theirs.labels_).all()


def test_zero_rounds_of_kos_as_in_crowd_kit(generated):
    df = first_labels(generated, 300)
    df = df.assign(label=np.where(df.label == "cat", "cat", "other"))
    for seed in (0, 5):
        want = ck.KOS(n_iter=0, random_state=seed).fit_predict(df)
        got = ours.KOS(n_iter=0, random_state=seed).fit_predict(df)
        assert (got == want).all()


def multi_label(n_tasks=600, seed=3):
    """Each task holds 1–3 of six labels; five workers per task tick each true label with
    their skill and each other label with 10 %."""
    rng = np.random.default_rng(seed)
    names = ["car", "cat", "dog", "house", "tree", "yak"]
    rows = []
    for t in range(n_tasks):
        truth = set(rng.choice(6, rng.integers(1, 4), replace=False))
        for w in rng.choice(40, 5, replace=False):
            skill = 0.55 + 0.4 * (w % 10) / 10
            ticked = [names[c] for c in range(6) if rng.random() < (skill if c in truth else 0.1)]
            rows.append((f"t{t}", f"w{w}", ticked))
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


@pytest.mark.parametrize("base", ["MajorityVote", "DawidSkene", "OneCoinDawidSkene", "Wawa"])
def test_binary_relevance_as_crowd_kit(base):
    df = multi_label()
    theirs = ck.BinaryRelevance(getattr(ck, base)()).fit(df)
    mine = ours.BinaryRelevance(getattr(ours, base)()).fit(df)
    assert list(mine.labels_.index) == list(theirs.labels_.index)
    assert mine.labels_.index.name == theirs.labels_.index.name and mine.labels_.name == theirs.labels_.name
    assert list(mine.labels_) == list(theirs.labels_)
    assert sorted(mine.aggregators_) == sorted(theirs.aggregators_)
    assert type(mine.aggregators_["cat"]) is getattr(ours, base)


def test_binary_relevance_takes_crowd_kits_aggregators_and_says_what_is_wrong():
    df = multi_label(100)
    want = ck.BinaryRelevance(ck.DawidSkene(n_iter=7)).fit_predict(df)
    got = ours.BinaryRelevance(ck.DawidSkene(n_iter=7)).fit_predict(df)
    assert list(got) == list(want)
    # The default is majority vote; the copies keep the base's parameters.
    assert isinstance(ours.BinaryRelevance().fit(df).aggregators_["cat"], ours.MajorityVote)
    assert ours.BinaryRelevance(ours.DawidSkene(n_iter=3)).fit(df).aggregators_["yak"].n_iter == 3
    with pytest.raises(ValueError, match=r"column 'label', row 1: 'cat' is not a list of labels"):
        ours.BinaryRelevance().fit(pd.DataFrame({"task": ["a", "a"], "worker": ["x", "y"], "label": [["cat"], "cat"]}))
    with pytest.raises(TypeError, match="base_aggregator must be a classification aggregator"):
        ours.BinaryRelevance(42).fit(df)
    assert ours.BinaryRelevance().fit_predict(df.iloc[:0]).empty


def five_by_five():
    """Five tasks, five workers, yes/no, one label missing (w3 on t1)."""
    given = {
        "t1": ["no", "yes", None, "yes", "no"],
        "t2": ["yes", "yes", "yes", "no", "no"],
        "t3": ["yes", "no", "no", "yes", "no"],
        "t4": ["yes"] * 5,
        "t5": ["yes", "no", "no", "no", "no"],
    }
    rows = [(t, f"w{w + 1}", l) for t, labels in given.items() for w, l in enumerate(labels) if l]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


@pytest.mark.parametrize("n_iter", [0, 1, 2])
def test_dawid_skene_step_by_step_as_crowd_kit(n_iter):
    df = five_by_five()
    theirs, mine = ck.DawidSkene(n_iter).fit(df), ours.DawidSkene(n_iter).fit(df)
    pd.testing.assert_frame_equal(mine.probas_, theirs.probas_, check_like=True, atol=1e-9)
    pd.testing.assert_frame_equal(mine.errors_, theirs.errors_, check_like=True, atol=1e-9)
    pd.testing.assert_series_equal(mine.priors_, theirs.priors_, atol=1e-9)
    pd.testing.assert_series_equal(mine.labels_, theirs.labels_)


@pytest.mark.parametrize("n_iter", [0, 1, 2])
def test_known_labels_fix_their_tasks_at_every_step(n_iter, generated):
    df = first_labels(generated, 300)
    gold = df.drop_duplicates("task").set_index("task")["label"].iloc[::7]
    mine = ours.DawidSkene(n_iter).fit(df, gold)
    theirs = ck.DawidSkene(n_iter).fit(df, gold)
    for task, label in gold.items():
        assert mine.probas_.loc[task, label] == 1.0
    assert (mine.labels_[gold.index] == gold).all()
    np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-6)
