"""Pairwise comparisons at scale: conal.aggregation's BradleyTerry and NoisyBradleyTerry
against crowd-kit 1.4.2's on the same generated comparisons, side by side in one invocation,
printing fit times, peak memory and the ratios. Run by scripts/bench_pairwise.sh.

    python benches/python/pairwise_speed.py [--sizes 100000,1000000,10000000]
        [--items 10000] [--workers 2000] [--timeout 600]

The comparisons (seeded, generated in each child process before the clock starts): items
with normal strengths, workers of varied skill (chance of comparing by strength, 0.3–1)
and bias (chance of "left" otherwise, 0.2–0.8), ids as strings ("i17", "w3"). Each fit runs
in its own Python process: the time is the `fit` call (the frame's encoding included), the
memory the process's peak RSS less its RSS before the fit. crowd-kit's process is stopped
after --timeout seconds (the line then says "> T s"); a method that timed out at one size is
not run by crowd-kit at larger ones. Settings compared:
- bt: `BradleyTerry(n_iter=100)` as users call it (crowd-kit stops after 2 iterations, see
  docs/PAIRWISE.md; conal runs to convergence or 100);
- bt-100: `BradleyTerry(n_iter=100, tol=0)`: 100 iterations on both sides, the same work;
- noisy-bt: `NoisyBradleyTerry()` defaults.
Also printed: each side's Spearman correlation with the planted strengths.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

SETTINGS = {
    "bt": ("BradleyTerry", {"n_iter": 100}),
    "bt-100": ("BradleyTerry", {"n_iter": 100, "tol": 0}),
    "noisy-bt": ("NoisyBradleyTerry", {}),
}


def generate(n, n_items, n_workers, seed=0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 1, n_items)
    skill = rng.uniform(0.3, 1, n_workers)
    bias = rng.uniform(0.2, 0.8, n_workers)
    i = rng.integers(0, n_items, n)
    j = (i + rng.integers(1, n_items, n)) % n_items
    w = rng.integers(0, n_workers, n)
    p_left = 1 / (1 + np.exp(strength[j] - strength[i]))
    left_won = np.where(rng.random(n) < skill[w], rng.random(n) < p_left, rng.random(n) < bias[w])
    items = np.array([f"i{k}" for k in range(n_items)], dtype=object)
    workers = np.array([f"w{k}" for k in range(n_workers)], dtype=object)
    df = pd.DataFrame({"worker": workers[w], "left": items[i], "right": items[j]})
    df["label"] = np.where(left_won, df["left"].to_numpy(), df["right"].to_numpy())
    return df, pd.Series(strength, index=items)


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one(impl, setting, n, n_items, n_workers):
    warnings.filterwarnings("ignore")
    module = __import__("conal.aggregation" if impl == "conal" else "crowdkit.aggregation", fromlist=["x"])
    cls, params = SETTINGS[setting]
    df, truth = generate(n, n_items, n_workers)
    before = rss_mb()
    start = time.perf_counter()
    scores = getattr(module, cls)(**params).fit(df).scores_
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rho = float(truth.corr(scores, method="spearman"))
    print(json.dumps({"seconds": seconds, "memory_mb": peak - before, "spearman": rho}))


def child(impl, setting, n, args):
    cmd = [sys.executable, __file__, "--one", impl, setting, str(n), "--items", str(args.items), "--workers", str(args.workers)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=True)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as e:
        raise SystemExit(f"{impl} {setting} {n}: failed:\n{e.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000,10000000")
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2_000)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--settings", default="bt,bt-100,noisy-bt")
    ap.add_argument("--one", nargs=3, metavar=("IMPL", "SETTING", "N"))
    args = ap.parse_args()
    if args.one:
        impl, setting, n = args.one
        one(impl, setting, int(n), args.items, args.workers)
        return
    print(f"{args.items} items, {args.workers} workers; fit time (s), memory added (MB), Spearman with the truth")
    print(f"{'comparisons':>12} {'setting':>9} | {'conal s':>8} {'MB':>7} {'rho':>6} | {'crowd-kit s':>11} {'MB':>7} {'rho':>6} | {'ratio':>6}")
    gave_up = set()
    for n in map(int, args.sizes.split(",")):
        for setting in args.settings.split(","):
            ours = child("conal", setting, n, args)
            theirs = None if setting in gave_up else child("crowdkit", setting, n, args)
            if theirs is None:
                gave_up.add(setting)
                ck = f"{'> %d' % args.timeout if setting else '':>11} {'':>7} {'':>6}"
                ratio = f"> {args.timeout / ours['seconds']:.0f}"
            else:
                ck = f"{theirs['seconds']:>11.2f} {theirs['memory_mb']:>7.0f} {theirs['spearman']:>6.3f}"
                ratio = f"{theirs['seconds'] / ours['seconds']:.1f}"
            print(
                f"{n:>12} {setting:>9} | {ours['seconds']:>8.2f} {ours['memory_mb']:>7.0f} {ours['spearman']:>6.3f} | {ck} | {ratio:>6}",
                flush=True,
            )


if __name__ == "__main__":
    main()
