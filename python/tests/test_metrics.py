"""conal.metrics against crowd-kit 1.4's metrics on the same DataFrames (within 1e-6)."""

import numpy as np
import pandas as pd
import pytest

from conftest import require

import conal.aggregation as ours_agg
import conal.metrics as ours

ck_metrics = require("crowdkit.metrics.data")
ck_workers = require("crowdkit.metrics.workers")
ck = require("crowdkit.aggregation")

SETS = ["generated", "music", "labelme"]


@pytest.mark.parametrize("name", SETS)
def test_alpha_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    assert ours.alpha_krippendorff(df) == pytest.approx(ck_metrics.alpha_krippendorff(df), abs=1e-6)


def test_alpha_known_cases():
    agree = pd.DataFrame({"task": ["a", "a", "b", "b"], "worker": [1, 2, 1, 2], "label": [0, 0, 1, 1]})
    assert ours.alpha_krippendorff(agree) == 1.0
    # crowd-kit's docstring example: partially inconsistent answers give 4/9.
    partial = pd.DataFrame(
        {
            "task": ["X", "X", "Y", "Y", "Z", "Z"],
            "worker": ["A", "B", "A", "B", "A", "B"],
            "label": ["Yes", "Yes", "No", "No", "Yes", "No"],
        }
    )
    assert ours.alpha_krippendorff(partial) == pytest.approx(0.4444444444444444, abs=1e-12)
    single = pd.DataFrame({"task": ["a", "b"], "worker": [1, 2], "label": [0, 1]})
    with pytest.raises(ValueError, match="no item has two labels"):
        ours.alpha_krippendorff(single)


@pytest.mark.parametrize("name", SETS)
def test_uncertainty_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    if name != "generated":
        # crowd-kit's uncertainty applies a Python function per label and row: slow on the
        # real sets, so they are compared on their first 1,000 labels.
        df = df.iloc[:1000]
    workers = df.worker.unique()
    skills = pd.Series(np.random.default_rng(0).uniform(0.3, 0.95, len(workers)), index=workers)
    for by in ("task", "worker"):
        for given in (None, skills):
            theirs = ck_metrics.uncertainty(df, workers_skills=given, compute_by=by, aggregate=False)
            mine = ours.uncertainty(df, workers_skills=given, compute_by=by, aggregate=False)
            assert list(mine.index) == list(theirs.index) and mine.index.name == theirs.index.name
            np.testing.assert_allclose(mine.to_numpy(), theirs.to_numpy(), atol=1e-6)
            mean = ck_metrics.uncertainty(df, workers_skills=given, compute_by=by)
            assert ours.uncertainty(df, workers_skills=given, compute_by=by) == pytest.approx(mean, abs=1e-6)
    with pytest.raises(ValueError, match="no skill for worker"):
        ours.uncertainty(df, workers_skills=skills.iloc[1:])


@pytest.mark.parametrize("name", SETS)
def test_accuracy_on_aggregates_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    aggregates = ck.MajorityVote().fit_predict(df)
    assert ours.accuracy_on_aggregates(df, aggregates=aggregates) == pytest.approx(
        ck_workers.accuracy_on_aggregates(df, aggregates=aggregates), abs=1e-12
    )
    theirs = ck_workers.accuracy_on_aggregates(df, aggregates=aggregates, by="worker")
    mine = ours.accuracy_on_aggregates(df, aggregator=ours_agg.MajorityVote(), by="worker")
    assert list(mine.index) == list(theirs.index)
    np.testing.assert_allclose(mine.to_numpy(), theirs.to_numpy(), atol=1e-12)


@pytest.mark.parametrize("name", SETS)
def test_consistency_matches_crowd_kit(name, request):
    df = request.getfixturevalue(name)
    theirs = ck_metrics.consistency(df, by_task=True)
    mine = ours.consistency(df, by_task=True)
    assert list(mine.index) == list(theirs.index)
    assert mine.index.name == theirs.index.name
    np.testing.assert_allclose(mine.to_numpy(), theirs.to_numpy(dtype=float), atol=1e-9)
    assert abs(ours.consistency(df) - ck_metrics.consistency(df)) < 1e-9
    # Given skills and another aggregator.
    workers = df.worker.unique()
    skills = pd.Series(np.linspace(0.3, 0.9, len(workers)), index=workers)
    theirs = ck_metrics.consistency(df, workers_skills=skills, aggregator=ck.DawidSkene())
    mine = ours.consistency(df, workers_skills=skills, aggregator=ours_agg.DawidSkene())
    assert abs(mine - theirs) < 1e-6
    with pytest.raises(ValueError, match="has no skill for worker"):
        ours.consistency(df, workers_skills=skills.iloc[1:])


def test_spammer_score_ranks_a_spammer_last(generated):
    # A worker who answers "cat" to everything, on 300 tasks.
    tasks = generated.task.unique()[:300]
    spam = pd.DataFrame({"task": tasks, "worker": "spammer", "label": "cat"})
    df = pd.concat([generated, spam], ignore_index=True)
    scores = ours.spammer_score(df)
    assert scores.name == "spammer_score" and scores.index.name == "worker"
    assert len(scores) == df.worker.nunique()
    assert scores.idxmin() == "spammer"
    assert scores["spammer"] < 0.01
    assert ((scores >= 0) & (scores <= 1)).all()
    # Correlates with the workers' true skill (the fixture draws it per worker).
    acc = (df.label == df.task.map(ours_agg.DawidSkene().fit_predict(df))).groupby(df.worker).mean()
    assert np.corrcoef(acc.reindex(scores.index), scores)[0, 1] > 0.8
