"""Bad input gives ValueError or TypeError naming the column and the first bad row."""

import numpy as np
import pandas as pd
import pytest

import conal.aggregation as agg
from conal.learning import CoNAL


def frame(**cols):
    base = {"task": ["a", "a", "b", "c"], "worker": ["w1", "w2", "w1", "w2"], "label": ["x", "y", "x", "y"]}
    base.update(cols)
    return pd.DataFrame(base)


def test_missing_column():
    # A ValueError, and a KeyError as in crowd-kit (test_crowdkit_edges.py).
    with pytest.raises(ValueError, match="has no column 'worker'"):
        agg.DawidSkene().fit(frame().drop(columns="worker"))


def test_not_a_dataframe():
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        agg.MajorityVote().fit([("a", "w", "x")])


def test_nan_label_names_column_and_row():
    with pytest.raises(ValueError, match=r"column \"label\", row 2: missing value"):
        agg.DawidSkene().fit(frame(label=["x", "y", None, "y"]))


def test_nan_task_names_column_and_row():
    with pytest.raises(ValueError, match=r"column \"task\", row 1: missing value"):
        agg.GLAD().fit(frame(task=["a", np.nan, "b", "c"]))


def test_zero_rows():
    # Majority vote returns empty results, as crowd-kit's does (test_crowdkit_edges.py);
    # where crowd-kit fails (GLAD divides by zero) and in training, 0 rows are an error.
    with pytest.raises(ValueError, match="0 rows"):
        agg.GLAD().fit(frame().iloc[:0])
    with pytest.raises(ValueError, match="0 rows"):
        CoNAL(progress=False).fit(np.zeros((0, 3), dtype=np.float32), frame().iloc[:0])


def test_repeated_pair():
    # The core names the rows; the message names the frame's own worker and task.
    with pytest.raises(ValueError, match=r"rows 0 and 2: worker 'w1' labelled task 'a' twice"):
        agg.DawidSkene().fit(frame(task=["a", "a", "a", "c"], worker=["w1", "w2", "w1", "w2"]))


def test_bad_parameter_type_and_value():
    with pytest.raises(TypeError, match="n_iter must be an integer"):
        agg.DawidSkene(n_iter="many").fit(frame())
    with pytest.raises(ValueError, match="n_iter must be at least 0"):
        agg.DawidSkene(n_iter=-3).fit(frame())
    with pytest.raises(ValueError, match="n_restarts must be at least 1"):
        agg.MACE(n_restarts=0).fit(frame())


def test_unknown_task_in_answers():
    x = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"column 'task', row 2: task 'b' is not a row of X"):
        CoNAL(progress=False).fit(x, frame(task=["a", "a", "b", "c"]), tasks=["a", "c"])


def test_nan_feature_names_row_and_column():
    x = np.ones((3, 2))
    x[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"X row 1 \(task 'b'\), column 1: value is not finite"):
        CoNAL(progress=False).fit(x, frame(), tasks=["a", "b", "c"])


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="tasks= names 2 rows, X has 3"):
        CoNAL(progress=False).fit(np.ones((3, 2)), frame(), tasks=["a", "b"])


def test_wrong_x_type():
    with pytest.raises(TypeError, match="X must hold real numbers"):
        CoNAL(progress=False).fit(np.array([["a", "b"], ["c", "d"], ["e", "f"]]), frame(), tasks=["a", "b", "c"])


def test_bad_estimator_parameter_names_it():
    x = np.ones((3, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="batch_size = 0: must be at least 1"):
        CoNAL(batch_size=0, progress=False).fit(x, frame(), tasks=["a", "b", "c"])
    with pytest.raises(ValueError, match="has no parameter 'epoch'"):
        CoNAL().set_params(epoch=3)


def test_predict_before_fit():
    with pytest.raises(ValueError, match="not fitted yet"):
        CoNAL().predict(np.ones((1, 2)))
