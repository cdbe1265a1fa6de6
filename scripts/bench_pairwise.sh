#!/usr/bin/env bash
# Bradley-Terry and noisy Bradley-Terry, conal.aggregation against crowd-kit 1.4.2 on the same
# generated comparisons (10,000 items, 2,000 workers), side by side in one invocation
# (benches/python/pairwise_speed.py prints the times, memory, accuracy and ratios).
#
#   scripts/bench_pairwise.sh [SIZES]        # default: 100000,1000000,10000000
#   TIMEOUT=600 scripts/bench_pairwise.sh 100000,1000000
#
# Installs crowd-kit (with scikit-learn<1.6, which it needs) and conal's Python package
# (release build) into a venv under the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="${1:-100000,1000000,10000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/conal/target}"
venv="$CARGO_TARGET_DIR/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "crowd-kit==1.4.2" "scikit-learn<1.6"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check maturin
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python
"$venv/bin/python" benches/python/pairwise_speed.py --sizes "$sizes" --timeout "${TIMEOUT:-600}"
