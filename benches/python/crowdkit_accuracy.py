"""crowd-kit 1.4.2's accuracy against the true labels on Music, LabelMe and a generated crowd,
beside conal's Python classes on the same DataFrames: the figures tests/aggregate.rs pins the
Rust estimators to (within 0.5 points).

    python benches/python/crowdkit_accuracy.py [METHOD ...]   # default: zbs kos mace mmsr

Needs crowd-kit 1.4.2 (with scikit-learn<1.6) and this package (`pip install ./python`) in
one environment, as scripts/test.sh sets up, and the data in $CONAL_DATA_DIR (default
../shared/data). KOS is for two labels: it runs on each set made
binary (a task's label "is it the set's most common true class?"), as the Rust test does.
"""

import os
import pathlib
import sys
import time

import crowdkit.aggregation as ck
import numpy as np
import pandas as pd

import conal.aggregation as ours

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = pathlib.Path(os.environ.get("CONAL_DATA_DIR", REPO.parent / "shared" / "data"))


def music():
    d = DATA / "music_genre"
    raw = pd.read_csv(d / "music_genre_mturk.csv", usecols=["id", "annotator", "class"])
    gold = pd.read_csv(d / "music_genre_gold.csv", usecols=["id", "class"]).set_index("id")["class"]
    return raw.rename(columns={"id": "task", "annotator": "worker", "class": "label"}), gold


def labelme():
    d = DATA / "labelme"
    m = np.loadtxt(d / "answers.txt", dtype=np.int64)
    tasks, workers = np.nonzero(m >= 0)
    truth = pd.Series(np.loadtxt(d / "labels_train.txt", dtype=np.int64))
    return pd.DataFrame({"task": tasks, "worker": workers, "label": m[tasks, workers]}), truth


def generated(k):
    """2,000 tasks × 5 labels from 100 workers of skill U(0.3, 0.95), k classes."""
    rng = np.random.default_rng(0)
    n, r = 2000, 100
    truth = rng.integers(0, k, n)
    skill = rng.uniform(0.3, 0.95, r)
    tasks = np.repeat(np.arange(n), 5)
    workers = np.concatenate([rng.choice(r, 5, replace=False) for _ in range(n)])
    right = rng.random(len(tasks)) < skill[workers]
    labels = np.where(right, truth[tasks], rng.integers(0, k, len(tasks)))
    return pd.DataFrame({"task": tasks, "worker": workers, "label": labels}), pd.Series(truth)


def binary(df, truth):
    """The same crowd asked "is it the most common true class?"."""
    top = truth.value_counts().index[0]
    return df.assign(label=(df.label == top).map({True: "yes", False: "no"})), (truth == top).map(
        {True: "yes", False: "no"}
    )


METHODS = {"zbs": "ZeroBasedSkill", "kos": "KOS", "mace": "MACE", "mmsr": "MMSR"}


def main():
    wanted = sys.argv[1:] or list(METHODS)
    sets = {"music": music(), "labelme": labelme(), "generated": generated(4)}
    print(f"{'method':6} {'data':18} {'crowd-kit %':>11} {'conal %':>8} {'crowd-kit s':>11} {'conal s':>8}")
    for method in wanted:
        for name, (df, truth) in sets.items():
            if method == "kos":
                df, truth = binary(df, truth) if name != "generated" else generated(2)
                name += " (binary)"
            scores = []
            for lib in (ck, ours):
                # crowd-kit's MACE restarts repeat one run (every restart draws from the same
                # random_state), so n_restarts=1 gives its result in a tenth of the time.
                kw = {"n_restarts": 1} if method == "mace" and lib is ck else {}
                t = time.perf_counter()
                labels = getattr(lib, METHODS[method])(**kw).fit_predict(df)
                scores.append((100 * (labels.reindex(truth.index) == truth).mean(), time.perf_counter() - t))
            (a, ta), (b, tb) = scores
            print(f"{method:6} {name:18} {a:11.2f} {b:8.2f} {ta:11.2f} {tb:8.3f}", flush=True)
            if method == "mmsr":
                # crowd-kit's vote divides the weight sums by their total; where the total is
                # negative that picks the class of least weight. The plain largest sum:
                fitted = ours.MMSR().fit(df)
                weights = df.worker.map(fitted.skills_)
                sums = weights.groupby([df.task, df.label]).sum().unstack(fill_value=0)
                plain = 100 * (sums.idxmax(axis=1).reindex(truth.index) == truth).mean()
                below = int((fitted.skills_ < 0).sum())
                print(
                    f"{method:6} {name + ' (plain sum)':18} {'':11} {plain:8.2f}   "
                    f"({below} of {len(fitted.skills_)} workers weighted below chance)",
                    flush=True,
                )
            if method == "mace":
                # crowd-kit's M-step reads its counts in sorted order into parameters in
                # first-appearance order; renaming workers and labels by first appearance
                # makes the two agree, which is MACE as defined (and conal's result).
                workers = {v: i for i, v in enumerate(pd.unique(df.worker))}
                classes = {v: i for i, v in enumerate(pd.unique(df.label))}
                aligned = df.assign(worker=df.worker.map(workers), label=df.label.map(classes))
                labels = ck.MACE(n_restarts=1).fit_predict(aligned)
                a = 100 * (labels.reindex(truth.index) == truth.map(classes)).mean()
                print(f"{method:6} {name + ' (aligned)':18} {a:11.2f}", flush=True)


if __name__ == "__main__":
    main()
