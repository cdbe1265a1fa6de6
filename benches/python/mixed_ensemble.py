"""A mixed ensemble on LabelMe: the default CoNAL ensemble (ten members) and ten Annot-Mix
members (the benchmark recipe, each selected on the validation split) averaged with weight w
on CoNAL, scored on the validation split (the criterion) and the test split (information).
One row of docs/RESULTS.md's "Toward a new default".

    python benches/python/mixed_ensemble.py CONAL_BINARY [--seeds 3] [--data ../shared/data]

Needs the conal Python package (pip install ./python) and numpy.
"""

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np

import conal


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("conal")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    labelme = args.data / "labelme"
    pooled = labelme / "pylearningcrowds"
    x = {s: np.load(pooled / f"LabelMe_VGG_avg_{s}.npy").astype(np.float32) for s in ("valid", "test")}
    y = {s: np.loadtxt(labelme / f"labels_{s}.txt", dtype=int) for s in ("valid", "test")}
    weights = (1.0, 0.75, 0.5, 0.0)
    scores = {w: {"valid": [], "test": []} for w in weights}
    work = Path(tempfile.mkdtemp())
    for seed in range(args.seeds):
        dirs = {}
        for name, flags in (("conal", []), ("annot-mix", ["--method", "annot-mix", "--ensemble", "10", "--select", "valid"])):
            dirs[name] = work / f"{name}-{seed}"
            subprocess.run(
                [args.conal, "--progress", "none", "-q", "train", "--task", "labelme", "--train-data", str(labelme),
                 "--valid-data", str(labelme), "--seed", str(seed), "--save-dir", str(dirs[name]), *flags],
                check=True, stdout=subprocess.DEVNULL,
            )
        models = {name: conal.load(str(d)) for name, d in dirs.items()}
        for w in weights:
            for split in ("valid", "test"):
                p = w * models["conal"].predict_proba(x[split]) + (1 - w) * models["annot-mix"].predict_proba(x[split])
                # Class codes are label indices (the classes_ are their names, in index order).
                scores[w][split].append(float(np.mean(p.argmax(axis=1) == y[split])))
    print(f"LabelMe, seeds 0–{args.seeds - 1}: weight on CoNAL, validation accuracy, test accuracy (%)")
    for w in weights:
        v, t = np.array(scores[w]["valid"]) * 100, np.array(scores[w]["test"]) * 100
        print(f"w = {w:4.2f}   valid {v.mean():.1f}   test {t.mean():.1f} ± {t.std():.1f}")


if __name__ == "__main__":
    main()
