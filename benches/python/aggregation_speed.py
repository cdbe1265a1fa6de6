"""Side by side in one run: conal.aggregation against crowd-kit 1.4 on the same DataFrame of
string ids (conversion included), printing each time and the ratio.

    python benches/python/aggregation_speed.py [--labels 1000000] [--repeat 3]

crowd-kit runs in this process; conal in one child process per thread count (1 and 2).

The crowd: tasks × 5 labels from 2,000 workers of Zipf-like activity, 5 classes, seeded.
"""

import argparse
import json
import os
import subprocess
import sys
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


METHODS = {
    "MajorityVote": lambda lib: lib.MajorityVote().fit_predict,
    "DawidSkene": lambda lib: lib.DawidSkene(n_iter=100).fit_predict,
}


def conal_times(n_labels: int, repeat: int) -> dict:
    """conal's best times in this process (its thread count fixed by RAYON_NUM_THREADS,
    which must be set before conal first runs)."""
    import conal.aggregation as ours

    df = crowd(n_labels)
    return {name: best(lambda: make(ours)(df), repeat) for name, make in METHODS.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--conal-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.conal_only:
        print(json.dumps(conal_times(args.labels, args.repeat)))
        return
    import warnings

    warnings.filterwarnings("ignore")
    import crowdkit.aggregation as ck

    df = crowd(args.labels)
    print(f"{len(df):,} labels, {df.task.nunique():,} tasks, {df.worker.nunique():,} workers")
    theirs = {name: best(lambda: make(ck)(df), args.repeat) for name, make in METHODS.items()}
    # conal in a child process per thread count (the thread pool is set once per process).
    ours = {}
    for threads in (1, 2):
        env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
        out = subprocess.run(
            [sys.executable, __file__, "--conal-only", "--labels", str(args.labels), "--repeat", str(args.repeat)],
            env=env, capture_output=True, text=True, check=True,
        )
        ours[threads] = json.loads(out.stdout.strip().splitlines()[-1])
    for name in METHODS:
        t_ck = theirs[name]
        cells = "   ".join(
            f"conal {t} thread{'s' if t > 1 else ''} {ours[t][name]:7.3f} s ({t_ck / ours[t][name]:5.1f}x)"
            for t in (1, 2)
        )
        print(f"{name:<14} crowd-kit {t_ck:8.3f} s   {cells}")


if __name__ == "__main__":
    main()
