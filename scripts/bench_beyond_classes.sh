#!/usr/bin/env bash
# The segmentation, text and embedding aggregators, conal.aggregation against crowd-kit 1.4.2
# on the same generated data, side by side in one invocation
# (benches/python/beyond_classes_speed.py prints the times, ratios and whether results agree).
#
#   scripts/bench_beyond_classes.sh [--tasks 2000] [--size 120x160] [--workers 5]
#
# Installs crowd-kit (with scikit-learn<1.6, which it needs) and conal's Python package
# (release build) into a venv under the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/conal/target}"
venv="$CARGO_TARGET_DIR/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "crowd-kit==1.4.2" "scikit-learn<1.6"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check maturin
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python
"$venv/bin/python" benches/python/beyond_classes_speed.py "$@"
