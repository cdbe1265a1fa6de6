"""conal.aggregation against crowd-kit 1.4 on the same DataFrames: the same labels (ties
aside), posteriors within 1e-6, the same shapes, index names and column layout."""

import numpy as np
import pandas as pd
import pytest

import conal.aggregation as ours
from conftest import require

ck = require("crowdkit.aggregation")

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
def test_weighted_majority_vote_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    workers = df.worker.unique()
    rng = np.random.default_rng(1)
    skills = pd.Series(rng.uniform(0.1, 1.0, len(workers)), index=workers)
    cases = [({}, skills)]
    # A tenth of the workers without a skill: dropped, or given the default.
    partial = skills.iloc[len(skills) // 10 :]
    cases.append(({"on_missing_skill": "value", "default_skill": 0.3}, partial))
    has_skill = df.worker.isin(partial.index)
    if df[has_skill].task.nunique() == df.task.nunique():
        cases.append(({"on_missing_skill": "ignore"}, partial))
    for params, given in cases:
        theirs = ck.MajorityVote(**params).fit(df, skills=given)
        mine = ours.MajorityVote(**params).fit(df, skills=given)
        same_layout(mine.probas_, theirs.probas_)
        np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-12)
        same_layout(mine.labels_, theirs.labels_)
        p = theirs.probas_.to_numpy()
        top2 = np.sort(p, axis=1)[:, -2:]
        ties = (top2[:, 1] - top2[:, 0]) < 1e-12
        assert ((mine.labels_ == theirs.labels_).to_numpy() | ties).all(), params
        same_layout(mine.skills_, theirs.skills_)
        np.testing.assert_allclose(mine.skills_.to_numpy(dtype=float), theirs.skills_.to_numpy(dtype=float), atol=1e-12)


def test_weighted_majority_vote_bad_skills(generated):
    workers = generated.worker.unique()
    full = pd.Series(1.0, index=workers)
    with pytest.raises(TypeError, match="skills must be a pandas Series"):
        ours.MajorityVote().fit(generated, skills=[1.0] * len(workers))
    with pytest.raises(ValueError, match=r"column 'worker', row \d+: worker .* has no skill"):
        ours.MajorityVote().fit(generated, skills=full.iloc[1:])
    with pytest.raises(ValueError, match="default_skill is used but on_missing_skill is not"):
        ours.MajorityVote(default_skill=0.5).fit(generated, skills=full)
    with pytest.raises(ValueError, match="must be finite and non-negative"):
        ours.MajorityVote().fit(generated, skills=full.mul(-1))
    # A task left without a skilled worker.
    only = generated[generated.task == generated.task.iloc[0]].worker
    with pytest.raises(ValueError, match="tasks have no label from a worker with a skill"):
        ours.MajorityVote(on_missing_skill="ignore").fit(generated, skills=full.drop(only))


@pytest.mark.parametrize("name", SETS)
def test_wawa_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    theirs, mine = ck.Wawa(), ours.Wawa()
    theirs_labels, mine_labels = theirs.fit_predict(df), mine.fit_predict(df)
    same_layout(mine.skills_, theirs.skills_)
    np.testing.assert_allclose(mine.skills_.to_numpy(dtype=float), theirs.skills_.to_numpy(dtype=float), atol=1e-12)
    same_layout(mine.probas_, theirs.probas_)
    np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-12)
    same_layout(mine_labels, theirs_labels)
    p = theirs.probas_.to_numpy()
    top2 = np.sort(p, axis=1)[:, -2:]
    ties = (top2[:, 1] - top2[:, 0]) < 1e-12
    assert ((mine_labels == theirs_labels).to_numpy() | ties).all()
    with pytest.raises(ValueError, match="not fitted"):
        ours.Wawa().predict(df)


@pytest.mark.parametrize("name", SETS)
def test_gold_majority_vote_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    # Known labels for every task: crowd-kit's majority vote, with a third of them flipped
    # to another label seen in data (so that skills differ from agreement).
    truth = ck.MajorityVote().fit_predict(df)
    labels = df.label.unique()
    flip = np.arange(len(truth)) % 3 == 0
    truth[flip] = [labels[(list(labels).index(v) + 1) % len(labels)] for v in truth[flip]]
    theirs = ck.GoldMajorityVote()
    mine = ours.GoldMajorityVote()
    theirs_labels, mine_labels = theirs.fit_predict(df, truth), mine.fit_predict(df, truth)
    same_layout(mine.skills_, theirs.skills_)
    np.testing.assert_allclose(mine.skills_.to_numpy(dtype=float), theirs.skills_.to_numpy(dtype=float), atol=1e-12)
    same_layout(mine.probas_, theirs.probas_)
    np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-12)
    p = theirs.probas_.to_numpy()
    top2 = np.sort(p, axis=1)[:, -2:]
    ties = (top2[:, 1] - top2[:, 0]) < 1e-12
    assert ((mine_labels == theirs_labels).to_numpy() | ties).all()
    # A worker without a known task has no skill: predicting on its labels is an error.
    with pytest.raises(ValueError, match="has no skill"):
        ours.GoldMajorityVote().fit(df, truth.iloc[:1]).predict(df)


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


@pytest.mark.parametrize("name", ["generated", "music"])
def test_dawid_skene_initial_error_as_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    # Probabilities for every (worker, label) pair (assign), and counts for half the workers
    # (addition), as a worker's history would give them.
    history = ck.DawidSkene(n_iter=2).fit(df).errors_
    workers = history.index.get_level_values("worker").unique()
    counts = history.loc[list(workers[::2])] * 20
    for strategy, initial in [("assign", history), ("addition", counts)]:
        theirs = ck.DawidSkene(n_iter=100, initial_error_strategy=strategy).fit(df, initial_error=initial)
        mine = ours.DawidSkene(n_iter=100, initial_error_strategy=strategy).fit(df, initial_error=initial)
        np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-6)
        np.testing.assert_allclose(mine.errors_.to_numpy(), theirs.errors_.to_numpy(), atol=1e-6)
        assert len(mine.loss_history_) == len(theirs.loss_history_), strategy
        np.testing.assert_allclose(mine.loss_history_, theirs.loss_history_, atol=1e-6)
    # The initial errors change the first E-step, hence the history.
    plain = ours.DawidSkene(n_iter=100).fit(df)
    assert plain.loss_history_[0] != mine.loss_history_[0]
    # Without a strategy initial_error is ignored, as in crowd-kit.
    ignored = ours.DawidSkene(n_iter=100).fit(df, initial_error=counts)
    assert ignored.loss_history_ == plain.loss_history_


def test_dawid_skene_bad_initial_error(generated):
    history = ck.DawidSkene(n_iter=2).fit(generated).errors_
    assign = ours.DawidSkene(initial_error_strategy="assign")
    with pytest.raises(ValueError, match="Can not find 1 workers' error matrix"):
        first = history.index[0][0]
        assign.fit(generated, initial_error=history.drop(first, level="worker"))
    with pytest.raises(ValueError, match="should be 1.0"):
        assign.fit(generated, initial_error=history * 0.5)
    with pytest.raises(ValueError, match="The index of initial_error must be"):
        assign.fit(generated, initial_error=history.reset_index(drop=True))
    with pytest.raises(ValueError, match="no column for true label"):
        assign.fit(generated, initial_error=history.iloc[:, 1:])
    with pytest.raises(TypeError, match="initial_error must be a pandas DataFrame"):
        assign.fit(generated, initial_error=history.to_numpy())
    with pytest.raises(ValueError, match="is not 'assign', 'addition' or None"):
        ours.DawidSkene(initial_error_strategy="replace").fit(generated, initial_error=history)


@pytest.mark.parametrize("name", SETS)
def test_one_coin_dawid_skene_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    theirs, mine = ck.OneCoinDawidSkene(n_iter=100).fit(df), ours.OneCoinDawidSkene(n_iter=100).fit(df)
    same_layout(mine.probas_, theirs.probas_)
    np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-6)
    p = theirs.probas_.to_numpy()
    top2 = np.sort(p, axis=1)[:, -2:]
    ties = (top2[:, 1] - top2[:, 0]) < 1e-6
    assert ((mine.labels_ == theirs.labels_).to_numpy() | ties).all()
    np.testing.assert_allclose(mine.priors_.to_numpy(), theirs.priors_.to_numpy(), atol=1e-6)
    assert mine.skills_.name == theirs.skills_.name
    assert list(mine.skills_.index) == list(theirs.skills_.index)
    np.testing.assert_allclose(mine.skills_.to_numpy(), theirs.skills_.to_numpy(), atol=1e-6)
    assert list(mine.errors_.index) == list(theirs.errors_.index)
    assert list(mine.errors_.columns) == list(theirs.errors_.columns)
    np.testing.assert_allclose(mine.errors_.to_numpy(), theirs.errors_.to_numpy(dtype=float), atol=1e-6)
    assert len(mine.loss_history_) == len(theirs.loss_history_)
    np.testing.assert_allclose(mine.loss_history_, theirs.loss_history_, atol=1e-6)


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


@pytest.mark.parametrize("name", ["generated", "music"])
def test_glad_priors_as_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    labels = sorted(df.label.unique())
    rng = np.random.default_rng(2)
    priors = pd.Series(rng.dirichlet(np.ones(len(labels)) * 3), index=labels)
    alphas = pd.Series(rng.uniform(0.5, 2.0, df.worker.nunique()), index=df.worker.unique())
    betas = pd.Series(rng.uniform(0.0, 1.5, df.task.nunique()), index=df.task.unique())
    params = dict(labels_priors=priors, alphas_priors_mean=alphas, betas_priors_mean=betas)
    theirs, mine = ck.GLAD(**params).fit(df), ours.GLAD(**params).fit(df)
    same_layout(mine.probas_, theirs.probas_)
    agreement = (mine.labels_ == theirs.labels_).mean()
    assert agreement >= 0.995, f"GLAD with priors: labels agree on {agreement:.4f} of tasks"
    # The M-steps' conjugate gradients take different paths (see the test above): the
    # abilities agree closely, not to the last digit.
    a, b = mine.alphas_.to_numpy(), theirs.alphas_.loc[mine.alphas_.index].to_numpy()
    assert np.corrcoef(a, b)[0, 1] > 0.98 and np.abs(a - b).mean() < 0.03, (np.corrcoef(a, b)[0, 1], np.abs(a - b).mean())
    assert len(mine.loss_history_) == len(theirs.loss_history_)
    np.testing.assert_allclose(mine.loss_history_, theirs.loss_history_, rtol=5e-3)
    plain = ours.GLAD().fit(df)
    assert not np.allclose(plain.alphas_.to_numpy(), mine.alphas_.to_numpy())


def test_glad_bad_priors(generated):
    labels = generated.label.unique()
    with pytest.raises(ValueError, match="alphas_priors_mean has no value for worker"):
        ours.GLAD(alphas_priors_mean=pd.Series({"nobody": 1.0})).fit(generated)
    with pytest.raises(TypeError, match="betas_priors_mean must be a pandas Series"):
        ours.GLAD(betas_priors_mean=[1.0]).fit(generated)
    with pytest.raises(ValueError, match="is not one of the classes"):
        ours.GLAD(labels_priors=pd.Series(0.5, index=labels[:2])).fit(generated)
    with pytest.raises(ValueError, match="class_priors"):
        ours.GLAD(labels_priors=pd.Series(0.0, index=labels)).fit(generated)



def first_appearance_codes(df):
    """The same crowd with workers and labels renamed to their rank of first appearance, so
    that sorted order is first-appearance order (crowd-kit's MACE mixes the two orders)."""
    workers = {v: i for i, v in enumerate(pd.unique(df.worker))}
    labels = {v: i for i, v in enumerate(pd.unique(df.label))}
    return df.assign(worker=df.worker.map(workers), label=df.label.map(labels))


def binary(df):
    """The crowd asked "is it the most common label?"."""
    top = df.label.value_counts().index[0]
    return df.assign(label=np.where(df.label == top, "yes", "no"))


@pytest.mark.parametrize("name", SETS)
def test_zero_based_skill_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    theirs, mine = ck.ZeroBasedSkill(), ours.ZeroBasedSkill()
    theirs_labels, mine_labels = theirs.fit_predict(df), mine.fit_predict(df)
    same_layout(mine.skills_, theirs.skills_)
    np.testing.assert_allclose(mine.skills_.to_numpy(dtype=float), theirs.skills_.to_numpy(dtype=float), atol=1e-9)
    same_layout(mine.probas_, theirs.probas_)
    np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-9)
    same_layout(mine_labels, theirs_labels)
    assert (mine_labels == theirs_labels).all()
    with pytest.raises(ValueError, match="not fitted"):
        ours.ZeroBasedSkill().predict(df)


@pytest.mark.parametrize("name", SETS)
def test_kos_matches_crowd_kit(name, request):
    df = binary(request.getfixturevalue(name))
    for seed in (0, 3):
        theirs = ck.KOS(random_state=seed).fit_predict(df)
        mine = ours.KOS(random_state=seed).fit_predict(df)
        same_layout(mine, theirs)
        assert (mine == theirs).all(), seed
    with pytest.raises(ValueError, match="binary classification only"):
        ours.KOS().fit(request.getfixturevalue(name))
    with pytest.raises(ValueError, match="random_state=-1"):
        ours.KOS(random_state=-1).fit(df)


@pytest.mark.parametrize("name", SETS)
def test_mace_matches_crowd_kit(name, request):
    df = first_appearance_codes(request.getfixturevalue(name))
    for method in ("vb", "em"):
        theirs = ck.MACE(n_restarts=1, method=method).fit(df)
        mine = ours.MACE(n_restarts=1, method=method).fit(df)
        same_layout(mine.probas_, theirs.probas_)
        np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy(), atol=1e-9)
        same_layout(mine.labels_, theirs.labels_)
        assert (mine.labels_ == theirs.labels_).all()
        np.testing.assert_allclose(mine.spamming_, theirs.spamming_, atol=1e-9)
        np.testing.assert_allclose(mine.thetas_, theirs.thetas_, atol=1e-9)
        if method == "vb":
            np.testing.assert_array_equal(mine.theta_priors_, theirs.theta_priors_)
            np.testing.assert_array_equal(mine.strategy_priors_, theirs.strategy_priors_)
        assert mine.smoothing_ == theirs.smoothing_
    # Restarts from random_state + r: the most likely run is kept, never a worse one.
    one = ours.MACE(n_restarts=1).fit(df)
    many = ours.MACE(n_restarts=4).fit(df)
    assert many.log_marginal_likelihood_ >= one.log_marginal_likelihood_
    assert 0 <= many.restart_ < 4
    with pytest.raises(ValueError, match="method='map' is not one of"):
        ours.MACE(method="map").fit(df)


@pytest.mark.parametrize("name", SETS)
def test_mmsr_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    theirs, mine = ck.MMSR(), ours.MMSR()
    theirs_labels, mine_labels = theirs.fit_predict(df), mine.fit_predict(df)
    same_layout(mine.skills_, theirs.skills_)
    np.testing.assert_allclose(mine.skills_.to_numpy(dtype=float), theirs.skills_.to_numpy(dtype=float), atol=1e-6)
    assert len(mine.loss_history_) == len(theirs.loss_history_)
    same_layout(mine.scores_, theirs.scores_)
    np.testing.assert_allclose(mine.scores_.to_numpy(), theirs.scores_.to_numpy(), atol=1e-6)
    same_layout(mine_labels, theirs_labels)
    assert (mine_labels == theirs_labels).all()


ONE_CLASS = {
    "one task, one label": pd.DataFrame({"task": ["t1"], "worker": ["w1"], "label": ["cat"]}),
    "a batch of one class": pd.DataFrame(
        {"task": ["t1", "t1", "t2", "t3"], "worker": ["w1", "w2", "w1", "w2"], "label": ["cat"] * 4}
    ),
}


@pytest.mark.parametrize("case", list(ONE_CLASS))
@pytest.mark.parametrize(
    "method", ["MajorityVote", "Wawa", "ZeroBasedSkill", "DawidSkene", "OneCoinDawidSkene", "GLAD", "MACE"]
)
def test_a_one_class_crowd_aggregates_as_crowd_kit(case, method):
    data = ONE_CLASS[case]
    theirs, mine = getattr(ck, method)(), getattr(ours, method)()
    want, got = theirs.fit_predict(data), mine.fit_predict(data)
    assert list(got.index) == list(want.index) and list(got) == list(want)
    if hasattr(theirs, "probas_"):
        np.testing.assert_allclose(mine.probas_.to_numpy(), theirs.probas_.to_numpy())
    if hasattr(theirs, "skills_"):
        np.testing.assert_allclose(mine.skills_.sort_index().to_numpy(), theirs.skills_.sort_index().to_numpy())


@pytest.mark.parametrize("case", list(ONE_CLASS))
def test_one_class_where_crowd_kit_refuses(case):
    data = ONE_CLASS[case]
    # KOS is for two labels, M-MSR needs two (crowd-kit divides by zero): both refuse.
    with pytest.raises(ValueError, match="binary classification only"):
        ours.KOS().fit(data)
    with pytest.raises(ValueError, match="two distinct labels"):
        ours.MMSR().fit(data)
    got = ours.GoldMajorityVote().fit_predict(data, pd.Series({"t1": "cat"}))
    want = ck.GoldMajorityVote().fit_predict(data, pd.Series({"t1": "cat"}))
    assert list(got) == list(want)


def test_every_fitted_aggregator_pickles_to_the_same_results(generated, tmp_path):
    import copy
    import pickle

    import joblib

    small = generated.iloc[:2000]
    truth = pd.Series({t: l for t, l in zip(small.task, small.label)})
    fitted = [
        ours.MajorityVote().fit(small),
        ours.Wawa().fit(small),
        ours.GoldMajorityVote().fit(small, truth),
        ours.ZeroBasedSkill(n_iter=5).fit(small),
        ours.DawidSkene(n_iter=5).fit(small),
        ours.OneCoinDawidSkene(n_iter=5).fit(small),
        ours.GLAD(n_iter=3).fit(small),
        ours.MACE(n_restarts=1, n_iter=5).fit(small),
        ours.MMSR(n_iter=50).fit(small),
    ]
    for model in fitted:
        if hasattr(model, "predict") and not isinstance(model, ours.MajorityVote):
            model.predict(small)  # every attribute set before the copies are made
        for again in (
            pickle.loads(pickle.dumps(model)),
            copy.deepcopy(model),
            joblib.load(joblib.dump(model, tmp_path / "a.joblib")[0]),
        ):
            for attr in ("labels_", "probas_", "skills_", "errors_", "alphas_"):
                if hasattr(model, attr):
                    a, b = getattr(again, attr), getattr(model, attr)
                    assert a.equals(b), (type(model).__name__, attr)
            if hasattr(model, "predict") and not isinstance(model, ours.MajorityVote):
                assert again.predict(small).equals(model.predict(small)), type(model).__name__
