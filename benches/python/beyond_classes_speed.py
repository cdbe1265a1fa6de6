"""Segmentations, texts and embeddings: conal.aggregation's SegmentationMajorityVote,
SegmentationRASA, SegmentationEM, ROVER and RASA against crowd-kit 1.4.2's on the same
generated data, side by side in one invocation (best of --repeat runs each, in this
process), checking that the results are equal. Run by scripts/bench_beyond_classes.sh.

    python benches/python/beyond_classes_speed.py [--tasks 2000] [--size 120x160] [--workers 5]

The masks: per task an image of random size up to --size, a rectangle as the truth, and
--workers workers per task (of 8) who flip each pixel at their own rate (5 %, every third
worker 35 %). The texts: --tasks transcriptions of 1–8 words by 5 of 10 workers of varied
care (substitutions, insertions, deletions), split on spaces. The embeddings: --tasks tasks
of 4 answers from 20 workers of varied noise, 64 numbers each. Times include conal's
conversion of the DataFrame's columns.
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def generate(n_tasks, max_h, max_w, per, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        h, w = int(rng.integers(5, max_h)), int(rng.integers(5, max_w))
        truth = np.zeros((h, w), dtype=bool)
        y, x = int(rng.integers(0, h // 2 + 1)), int(rng.integers(0, w // 2 + 1))
        truth[y : y + h // 2, x : x + w // 2] = True
        for k in rng.choice(8, per, replace=False):
            noise = rng.random((h, w)) < (0.05 + 0.3 * (k % 3 == 0))
            rows.append([f"t{t}", f"w{k}", truth ^ noise])
    return pd.DataFrame(rows, columns=["task", "worker", "segmentation"])


def best(fit, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    warnings.filterwarnings("ignore")
    import conal.aggregation as ours
    import crowdkit.aggregation as ck

    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--size", default="120x160")
    ap.add_argument("--workers", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    h, w = map(int, args.size.split("x"))
    df = generate(args.tasks, h, w, args.workers)
    pixels = sum(m.size for m in df["segmentation"])
    print(f"{args.tasks} tasks, {len(df)} masks, {pixels / 1e6:.1f} M mask pixels; best of {args.repeat}")
    print(f"{'method':>26} | {'conal s':>8} | {'crowd-kit s':>11} | {'ratio':>6} | masks equal")
    for name in ["SegmentationMajorityVote", "SegmentationRASA", "SegmentationEM"]:
        theirs_s, theirs = best(lambda: getattr(ck, name)().fit(df).segmentations_, args.repeat)
        ours_s, mine = best(lambda: getattr(ours, name)().fit(df).segmentations_, args.repeat)
        equal = all(np.array_equal(a, b) for a, b in zip(mine, theirs)) and list(mine.index) == list(theirs.index)
        print(f"{name:>26} | {ours_s:>8.3f} | {theirs_s:>11.3f} | {theirs_s / ours_s:>6.1f} | {equal}", flush=True)

    texts = generate_texts(args.tasks)
    split, join = (lambda t: t.split(" ")), " ".join
    theirs_s, theirs = best(lambda: ck.ROVER(split, join).fit_predict(texts), args.repeat)
    ours_s, mine = best(lambda: ours.ROVER(split, join).fit_predict(texts), args.repeat)
    equal = (mine.to_numpy() == theirs.to_numpy()).all()
    print(f"{'ROVER (' + str(len(texts)) + ' texts)':>26} | {ours_s:>8.3f} | {theirs_s:>11.3f} | {theirs_s / ours_s:>6.1f} | {equal}")

    answers = generate_embeddings(args.tasks)
    theirs_s, theirs = best(lambda: ck.RASA().fit_predict(answers), args.repeat)
    ours_s, mine = best(lambda: ours.RASA().fit_predict(answers), args.repeat)
    equal = (mine["output"].to_numpy() == theirs["output"].to_numpy()).all()
    print(f"{'RASA (' + str(len(answers)) + ' answers)':>26} | {ours_s:>8.3f} | {theirs_s:>11.3f} | {theirs_s / ours_s:>6.1f} | {equal}")


WORDS = "the a cat dog sat ran on under mat rug big small red blue quickly slowly".split()


def generate_texts(n_tasks, n_workers=10, per=5, seed=0):
    rng = np.random.default_rng(seed)
    care = rng.uniform(0.6, 0.98, n_workers)
    rows = []
    for t in range(n_tasks):
        truth = list(rng.choice(WORDS, int(rng.integers(1, 9))))
        for w in rng.choice(n_workers, per, replace=False):
            words = []
            for word in truth:
                u = rng.random()
                if u < care[w]:
                    words.append(word)
                elif u < care[w] + (1 - care[w]) / 3:
                    words.append(str(rng.choice(WORDS)))
                elif u < care[w] + 2 * (1 - care[w]) / 3:
                    words.extend([word, str(rng.choice(WORDS))])
            rows.append([f"t{t}", f"w{w}", " ".join(words)])
    return pd.DataFrame(rows, columns=["task", "worker", "text"])


def generate_embeddings(n_tasks, n_workers=20, per=4, dim=64, seed=0):
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0.05, 1.0, n_workers)
    rows = []
    for t in range(n_tasks):
        truth = rng.normal(size=dim)
        for w in rng.choice(n_workers, per, replace=False):
            rows.append([f"t{t}", f"w{w}", f"answer {t}/{w}", truth + rng.normal(scale=noise[w], size=dim)])
    return pd.DataFrame(rows, columns=["task", "worker", "output", "embedding"])


if __name__ == "__main__":
    main()
