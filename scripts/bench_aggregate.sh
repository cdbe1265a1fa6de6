#!/usr/bin/env bash
# conal aggregate against crowd-kit 1.4.2 on one generated CSV, CSV in to labels out, in one
# invocation (benches/python/aggregate_csv.py prints the times and ratios).
#
#   scripts/bench_aggregate.sh [LABELS] [METHODS]      # defaults: 1000000 mv,ds
#   REPEAT=3 TIMEOUT=1800 scripts/bench_aggregate.sh 1000000 mv,ds,glad
#
# REPEAT: best of that many runs of each side; TIMEOUT: seconds after which crowd-kit's run
# is stopped (its time and the ratios are then printed as lower bounds, "> T"); POSTERIORS=1:
# conal writes the posteriors too, not only task,label as crowd-kit's fit_predict does.
#
# Builds the release binary, installs crowd-kit (with scikit-learn<1.6, which it needs) into
# a venv under the build directory, and writes the crowd with `conal bench --shape aggregate
# --write-csv` (seeded: the same crowd each time).
set -euo pipefail
cd "$(dirname "$0")/.."
labels="${1:-1000000}"
methods="${2:-mv,ds}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/conal/target}"
cargo build --release --quiet
conal="$CARGO_TARGET_DIR/release/conal"
venv="$CARGO_TARGET_DIR/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "crowd-kit==1.4.2" "scikit-learn<1.6"
fi
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
"$conal" --progress none bench --shape aggregate --labels "$labels" --method mv --write-csv "$dir"
"$venv/bin/python" benches/python/aggregate_csv.py "$conal" "$dir" --methods "$methods" \
    --repeat "${REPEAT:-1}" ${TIMEOUT:+--timeout "$TIMEOUT"} ${POSTERIORS:+--posteriors}
