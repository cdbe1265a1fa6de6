"""CSV in, labels out: `conal aggregate` against crowd-kit 1.4 on the same answers.csv, in one
invocation, printing each time and the ratio. Run by scripts/bench_aggregate.sh, which builds
conal, installs crowd-kit into a venv and generates the crowd with `conal bench --shape
aggregate --write-csv`.

    python benches/python/aggregate_csv.py CONAL_BINARY DIR [--methods mv,ds] [--repeat 1]

crowd-kit's side: pandas.read_csv, fit_predict, to_csv of the labels. conal's side: the
`conal aggregate --task table --answers DIR/answers.csv --out …` process, at 1 and 2 threads.
"""

import argparse
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

CROWD_KIT = {
    "mv": "MajorityVote",
    "ds": "DawidSkene",
    "glad": "GLAD",
    "wawa": "Wawa",
    "one-coin-ds": "OneCoinDawidSkene",
    "zbs": "ZeroBasedSkill",
    "kos": "KOS",
    "mace": "MACE",
    "mmsr": "MMSR",
}


def best(f, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("conal")
    parser.add_argument("dir", type=Path)
    parser.add_argument("--methods", default="mv,ds")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import pandas as pd
    import crowdkit.aggregation as ck

    answers = args.dir / "answers.csv"
    out = Path(tempfile.mkdtemp())
    n = sum(1 for _ in open(answers)) - 1
    print(f"{answers}: {n:,} labels")
    for method in args.methods.split(","):
        def theirs():
            df = pd.read_csv(answers)
            getattr(ck, CROWD_KIT[method])().fit_predict(df).to_csv(out / "crowdkit.csv")

        def ours(threads):
            subprocess.run(
                [args.conal, "--threads", str(threads), "--progress", "none", "-q", "aggregate",
                 "--task", "table", "--answers", str(answers), "--method", method,
                 "--out", str(out / "conal.csv")],
                check=True, stdout=subprocess.DEVNULL,
            )

        t_ck = best(theirs, args.repeat)
        t1, t2 = best(lambda: ours(1), args.repeat), best(lambda: ours(2), args.repeat)
        print(
            f"{method:<12} crowd-kit {t_ck:8.2f} s   conal 1 thread {t1:6.2f} s ({t_ck / t1:5.1f}x)"
            f"   2 threads {t2:6.2f} s ({t_ck / t2:5.1f}x)"
        )


if __name__ == "__main__":
    main()
