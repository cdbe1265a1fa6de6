"""conal.postprocessing against crowd-kit 1.4's on the same DataFrames."""

import warnings

import numpy as np
import pandas as pd
import pytest

from conftest import require

import conal.postprocessing as ours

ck_post = require("crowdkit.postprocessing")


def with_spammers(df: pd.DataFrame) -> pd.DataFrame:
    """The crowd with three workers who always answer 'cat' on 40 tasks each."""
    tasks = df.task.unique()
    rows = [
        {"task": t, "worker": f"spam{s}", "label": "cat"}
        for s in range(3)
        for t in tasks[s * 40 : (s + 1) * 40]
    ]
    return pd.concat([df, pd.DataFrame(rows)], ignore_index=True)


@pytest.mark.parametrize("percentile,min_answers", [(10, 2), (3, 2), (25, 30), (0, 1)])
def test_entropy_threshold_matches_crowd_kit(generated, percentile, min_answers):
    df = with_spammers(generated).assign(extra=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = ck_post.entropy_threshold(df, percentile=percentile, min_answers=min_answers)
        got = ours.entropy_threshold(df, percentile=percentile, min_answers=min_answers)
    pd.testing.assert_frame_equal(got, want)
    # The workers who always gave one label are the first to go.
    assert not got.worker.str.startswith("spam").any()


def test_entropy_threshold_with_skills_matches_crowd_kit(generated):
    df = with_spammers(generated)
    rng = np.random.default_rng(1)
    skills = pd.Series(rng.uniform(0.3, 0.9, df.worker.nunique()), index=df.worker.unique())
    want = ck_post.entropy_threshold(df, skills, percentile=20)
    got = ours.entropy_threshold(df, skills, percentile=20)
    pd.testing.assert_frame_equal(got, want)


def test_entropy_threshold_docstring_example_and_warning():
    # crowd-kit's docstring case: A varies, B always says 'cat' and is dropped.
    answers = pd.DataFrame(
        {"task": ["1", "1", "2", "2", "3", "3"], "worker": ["A", "B"] * 3,
         "label": ["dog", "cat", "cat", "cat", "dog", "cat"]}
    )
    with pytest.warns(UserWarning, match="half or more"):
        kept = ours.entropy_threshold(answers)
    assert list(kept.index) == [0, 2, 4] and set(kept.worker) == {"A"}
    # Nobody at min_answers: nothing dropped.
    assert ours.entropy_threshold(answers, min_answers=10).equals(answers)
    with pytest.raises(ValueError, match="percentile=120"):
        ours.entropy_threshold(answers, percentile=120)
    with pytest.raises(KeyError):
        ours.entropy_threshold(answers.drop(columns="worker"))
