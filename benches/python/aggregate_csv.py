"""CSV in, labels out: `conal aggregate` against crowd-kit 1.4 on the same answers.csv, in one
invocation, printing each time and the ratio. Run by scripts/bench_aggregate.sh, which builds
conal, installs crowd-kit into a venv and generates the crowd with `conal bench --shape
aggregate --write-csv`.

    python benches/python/aggregate_csv.py CONAL_BINARY DIR [--methods mv,ds] [--repeat 1]
        [--timeout SECONDS] [--posteriors]

crowd-kit's side: pandas.read_csv, fit_predict, to_csv of the labels, timed inside a child
Python process (imports not counted) that is stopped after --timeout seconds: the line then
says "> T s" and the ratios are lower bounds. conal's side: the `conal aggregate --task table
--answers DIR/answers.csv --out … --labels-only` process, at 1 and 2 threads: both write
task,label. With --posteriors conal also writes each item's posterior (five times the bytes;
crowd-kit's side is unchanged).
"""

import argparse
import subprocess
import sys
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


CHILD = """
import sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
import crowdkit.aggregation as ck
start = time.perf_counter()
df = pd.read_csv(sys.argv[1])
getattr(ck, sys.argv[2])().fit_predict(df).to_csv(sys.argv[3])
print(time.perf_counter() - start)
"""


def crowd_kit(answers, name, out, timeout):
    """crowd-kit's CSV-to-file time in a child process, or None past `timeout` seconds."""
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, str(answers), name, str(out)],
                              check=True, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return float(done.stdout.strip().splitlines()[-1])


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
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--posteriors", action="store_true",
                        help="conal writes the posteriors too (crowd-kit still the labels)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    answers = args.dir / "answers.csv"
    out = Path(tempfile.mkdtemp())
    n = sum(1 for _ in open(answers)) - 1
    print(f"{answers}: {n:,} labels")
    for method in args.methods.split(","):
        def ours(threads):
            subprocess.run(
                [args.conal, "--threads", str(threads), "--progress", "none", "-q", "aggregate",
                 "--task", "table", "--answers", str(answers), "--method", method,
                 "--out", str(out / "conal.csv")]
                + ([] if args.posteriors else ["--labels-only"]),
                check=True, stdout=subprocess.DEVNULL,
            )

        finished = []
        for _ in range(args.repeat):
            t = crowd_kit(answers, CROWD_KIT[method], out / "crowdkit.csv", args.timeout)
            if t is None:
                break  # past the timeout: no point in trying again
            finished.append(t)
        t_ck = min(finished) if finished else args.timeout
        over = ">" if not finished else " "
        t1, t2 = best(lambda: ours(1), args.repeat), best(lambda: ours(2), args.repeat)
        print(
            f"{method:<12} crowd-kit {over}{t_ck:8.2f} s   conal 1 thread {t1:6.2f} s ({over}{t_ck / t1:5.1f}x)"
            f"   2 threads {t2:6.2f} s ({over}{t_ck / t2:5.1f}x)"
        )


if __name__ == "__main__":
    main()
