"""Image segmentation: ``SegmentationMajorityVote``, ``SegmentationRASA`` and
``SegmentationEM`` beside crowd-kit 1.4.2's on generated masks (equal masks, loss histories
equal to 1e-12), with skills, and their errors."""

import numpy as np
import pandas as pd
import pytest

import conal.aggregation as ours
from conftest import require

ck = require("crowdkit.aggregation")

CLASSES = ["SegmentationMajorityVote", "SegmentationRASA", "SegmentationEM"]


def generated(n_tasks=120, n_workers=8, per=5, seed=0):
    """Rectangles of varied size and place, each marked by `per` workers who flip pixels at
    their own rate (every third worker is sloppy)."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        h, w = int(rng.integers(3, 40)), int(rng.integers(3, 50))
        truth = np.zeros((h, w), dtype=bool)
        y, x = int(rng.integers(0, h // 2 + 1)), int(rng.integers(0, w // 2 + 1))
        truth[y : y + h // 2, x : x + w // 2] = True
        for k in rng.choice(n_workers, per, replace=False):
            noise = rng.random((h, w)) < (0.05 + 0.3 * (k % 3 == 0))
            rows.append([f"t{t}", f"w{k}", truth ^ noise])
    return pd.DataFrame(rows, columns=["task", "worker", "segmentation"])


def assert_same_masks(got: pd.Series, want: pd.Series) -> None:
    assert list(got.index) == list(want.index)
    assert got.index.name == want.index.name == "task"
    assert got.name == want.name == "agg_segmentation"
    for task in want.index:
        assert got[task].shape == want[task].shape and got[task].dtype == np.bool_
        assert np.array_equal(got[task], want[task]), task


@pytest.mark.parametrize("name", CLASSES)
def test_masks_equal_crowd_kits(name):
    df = generated()
    theirs = getattr(ck, name)().fit(df)
    mine = getattr(ours, name)().fit(df)
    assert_same_masks(mine.segmentations_, theirs.segmentations_)
    if name != "SegmentationMajorityVote":
        # The last task's history, as crowd-kit keeps it.
        assert np.allclose(mine.loss_history_, theirs.loss_history_, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["SegmentationRASA", "SegmentationEM"])
@pytest.mark.parametrize("n_iter,tol", [(1, 1e-5), (3, 0.0), (50, 1e-9)])
def test_iterations_and_tolerances_as_crowd_kit(name, n_iter, tol):
    df = generated(n_tasks=40, seed=1)
    theirs = getattr(ck, name)(n_iter=n_iter, tol=tol).fit(df)
    mine = getattr(ours, name)(n_iter=n_iter, tol=tol).fit(df)
    assert_same_masks(mine.segmentations_, theirs.segmentations_)
    assert len(mine.loss_history_) == len(theirs.loss_history_)
    assert np.allclose(mine.loss_history_, theirs.loss_history_, rtol=1e-12, atol=0)


def test_skill_weighted_vote_as_crowd_kit():
    df = generated(n_tasks=40, seed=2)
    skills = pd.Series(np.linspace(0.1, 1.0, 8), index=[f"w{k}" for k in range(8)])
    want = ck.SegmentationMajorityVote().fit(df, skills=skills).segmentations_
    assert_same_masks(ours.SegmentationMajorityVote().fit(df, skills=skills).segmentations_, want)
    partial = skills.drop(["w0", "w1"])
    with pytest.raises(ValueError, match="has no skill"):
        ours.SegmentationMajorityVote().fit(df, skills=partial)
    kw = dict(on_missing_skill="value", default_skill=0.5)
    want = ck.SegmentationMajorityVote(**kw).fit(df, skills=partial).segmentations_
    assert_same_masks(ours.SegmentationMajorityVote(**kw).fit(df, skills=partial).segmentations_, want)


def test_a_hand_built_task():
    # Three workers, one 2 × 3 image: two mark the left column pair, one the right pair.
    a = np.array([[1, 1, 0], [1, 1, 0]], dtype=bool)
    b = a.copy()
    c = np.array([[0, 1, 1], [0, 1, 1]], dtype=bool)
    df = pd.DataFrame({"task": ["img"] * 3, "worker": ["a", "b", "c"], "segmentation": [a, b, c]})
    for name in CLASSES:
        assert np.array_equal(getattr(ours, name)().fit_predict(df)["img"], a), name
    # 0/1 integers are masks too.
    ints = df.assign(segmentation=[m.astype(np.uint8) for m in df["segmentation"]])
    assert np.array_equal(ours.SegmentationEM().fit_predict(ints)["img"], a)


def test_masks_in_any_layout_read_as_the_same_masks():
    """The core reads C-contiguous boolean arrays in place and converts the rest: strided views,
    Fortran order, nested lists, read-only arrays and one array shared by two rows give the
    masks of plain copies."""
    df = generated(n_tasks=30, seed=3)
    want = ours.SegmentationEM().fit_predict(df)
    big = [np.repeat(m, 2, axis=1) for m in df["segmentation"]]
    frozen = [m.copy() for m in df["segmentation"]]
    for m in frozen:
        m.flags.writeable = False
    layouts = {
        "strided views": [b[:, ::2] for b in big],
        "Fortran order": [np.asfortranarray(m) for m in df["segmentation"]],
        "nested lists": [m.tolist() for m in df["segmentation"]],
        "read-only": frozen,
    }
    for what, masks in layouts.items():
        assert_same_masks(ours.SegmentationEM().fit_predict(df.assign(segmentation=masks)), want), what
    # One array object in two rows of one task.
    m = np.array([[1, 0], [0, 1]], dtype=bool)
    shared = pd.DataFrame({"task": ["t"] * 3, "worker": ["a", "b", "c"], "segmentation": [m, m, ~m]})
    assert np.array_equal(ours.SegmentationMajorityVote().fit_predict(shared)["t"], m)


def test_bad_masks_are_named():
    m = np.zeros((2, 3), dtype=bool)
    df = pd.DataFrame({"task": ["t", "t", "u"], "worker": ["a", "b", "a"], "segmentation": [m, np.zeros((3, 2), bool), m]})
    with pytest.raises(ValueError, match=r'row 1: the mask of task "t" is 3 × 2, its mask in row 0 is 2 × 3'):
        ours.SegmentationRASA().fit(df)
    flat = df.assign(segmentation=[m, m, np.zeros(6, bool)])
    with pytest.raises(ValueError, match="row 2: a mask must be a 2-D array"):
        ours.SegmentationEM().fit(flat)
    twos = df.assign(segmentation=[m, m, np.full((2, 3), 2)])
    with pytest.raises(ValueError, match="row 2: a mask must hold booleans or 0/1"):
        ours.SegmentationMajorityVote().fit(twos)
    with pytest.raises(KeyError, match="'segmentation'"):
        ours.SegmentationEM().fit(df.drop(columns="segmentation"))


@pytest.mark.parametrize("name", CLASSES)
def test_an_empty_frame_gives_no_masks(name):
    empty = pd.DataFrame([], columns=["task", "worker", "segmentation"])
    assert len(getattr(ours, name)().fit_predict(empty)) == 0
