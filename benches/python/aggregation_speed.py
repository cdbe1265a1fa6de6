"""Side by side in one run: conal.aggregation against crowd-kit 1.4 on the same DataFrame of
string ids (conversion included), printing each time and the ratio.

    python benches/python/aggregation_speed.py [--labels 1000000] [--repeat 3]

The crowd: tasks × 5 labels from 2,000 workers of Zipf-like activity, 5 classes, seeded.
"""

import argparse
import time

import numpy as np
import pandas as pd


def crowd(n_labels: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_tasks, k, r = n_labels // 5, 5, 2000
    truth = rng.integers(0, k, n_tasks)
    activity = 1.0 / np.arange(1, r + 1) ** 0.8
    activity /= activity.sum()
    skill = rng.uniform(0.4, 0.95, r)
    tasks = np.repeat(np.arange(n_tasks), 5)
    workers = rng.choice(r, size=len(tasks), p=activity)
    # One label per (task, worker): redraw the rare repeats within a task.
    frame = pd.DataFrame({"t": tasks, "w": workers}).drop_duplicates()
    right = rng.random(len(frame)) < skill[frame.w.to_numpy()]
    labels = np.where(right, truth[frame.t.to_numpy()], rng.integers(0, k, len(frame)))
    return pd.DataFrame({
        "task": "t" + frame.t.astype(str),
        "worker": "w" + frame.w.astype(str),
        "label": "c" + pd.Series(labels, index=frame.index).astype(str),
    }).reset_index(drop=True)


def best(f, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import warnings

    warnings.filterwarnings("ignore")
    import crowdkit.aggregation as ck

    import conal.aggregation as ours

    df = crowd(args.labels)
    print(f"{len(df):,} labels, {df.task.nunique():,} tasks, {df.worker.nunique():,} workers")
    for name, theirs, mine in [
        ("MajorityVote", lambda: ck.MajorityVote().fit_predict(df), lambda: ours.MajorityVote().fit_predict(df)),
        ("DawidSkene", lambda: ck.DawidSkene(n_iter=100).fit_predict(df), lambda: ours.DawidSkene(n_iter=100).fit_predict(df)),
    ]:
        t_ck = best(theirs, args.repeat)
        t_me = best(mine, args.repeat)
        print(f"{name:<14} crowd-kit {t_ck:8.3f} s   conal {t_me:8.3f} s   conal is {t_ck / t_me:5.1f}x faster")


if __name__ == "__main__":
    main()
