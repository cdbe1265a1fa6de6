"""A language model as one more annotator: generated crowds where people label a few items
each and a model labels every item with a probability per class — calibrated, but biased
(it systematically mistakes one class for another). Compares, on the same crowds, what a
user can do with the model's answers: drop them, add its top label as one more majority-vote
voter, add it to Dawid-Skene as a labeller, or give Dawid-Skene its probabilities (conal's
soft answers). Prints each way's accuracy on the true labels (mean ± sd over --crowds crowds).

    python benches/python/llm_worker.py [--items 2000] [--crowds 5] [--classes 4]

The people: 30 workers of accuracy uniform in [0.5, 0.8], three per item, wrong uniformly.
The model: it perceives the true class, except that it takes class 0 for class 1 half the
time (its bias); it is sure of its perception with a confidence uniform in [0.4, 1.0] and
right about it that often (calibrated to its perception), spreading the rest evenly.
Run by scripts/bench_llm_worker.sh.
"""

import argparse

import numpy as np
import pandas as pd


def crowd(seed, n_items, k):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    accuracy = rng.uniform(0.5, 0.8, 30)
    rows = []
    for i in range(n_items):
        for w in rng.choice(30, 3, replace=False):
            y = truth[i] if rng.random() < accuracy[w] else rng.choice([c for c in range(k) if c != truth[i]])
            p = np.zeros(k)
            p[y] = 1.0
            rows.append((f"t{i}", f"w{w}", *p))
        seen = 1 if truth[i] == 0 and rng.random() < 0.5 else truth[i]
        sure = rng.uniform(0.4, 1.0)
        said = seen if rng.random() < sure else rng.choice([c for c in range(k) if c != seen])
        p = np.full(k, (1 - sure) / (k - 1))
        p[said] = sure
        rows.append((f"t{i}", "model", *p))
    soft = pd.DataFrame(rows, columns=["task", "worker", *[f"p_{c}" for c in range(k)]])
    probs = soft[[f"p_{c}" for c in range(k)]].to_numpy()
    hard = soft[["task", "worker"]].assign(label=probs.argmax(axis=1).astype(str))
    want = pd.Series(truth.astype(str), index=[f"t{i}" for i in range(n_items)])
    return soft, hard, want


def main():
    import conal.aggregation as ours

    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--crowds", type=int, default=5)
    ap.add_argument("--classes", type=int, default=4)
    args = ap.parse_args()
    ways = {
        "majority vote, people only (model dropped)": lambda s, h: ours.MajorityVote().fit_predict(h[h.worker != "model"]),
        "majority vote, model's label as one more vote": lambda s, h: ours.MajorityVote().fit_predict(h),
        "Dawid-Skene, people only (model dropped)": lambda s, h: ours.DawidSkene().fit_predict(h[h.worker != "model"]),
        "Dawid-Skene, model's label": lambda s, h: ours.DawidSkene().fit_predict(h),
        "Dawid-Skene, model's probabilities (soft answers)": lambda s, h: ours.DawidSkene().fit_predict(s),
        "  the same, confusion_prior=1": lambda s, h: ours.DawidSkene(confusion_prior=1.0).fit_predict(s),
    }
    scores = {name: [] for name in ways}
    for seed in range(args.crowds):
        soft, hard, want = crowd(seed, args.items, args.classes)
        for name, way in ways.items():
            labels = way(soft, hard)
            scores[name].append(float((labels.reindex(want.index) == want).mean()))
    soft = np.array(scores["Dawid-Skene, model's probabilities (soft answers)"])
    print(f"{args.crowds} crowds of {args.items} items, {args.classes} classes; accuracy on the true labels")
    print(f"{'way':<52} | {'mean':>6} | {'sd':>4} | soft answers' gain (crowds it wins)")
    for name, values in scores.items():
        gain = soft - np.array(values)
        print(
            f"{name:<52} | {100 * np.mean(values):>5.1f}% | {100 * np.std(values):>4.1f} | "
            f"{100 * gain.mean():+.1f} ({int((gain > 0).sum())} of {len(gain)})"
        )


if __name__ == "__main__":
    main()
