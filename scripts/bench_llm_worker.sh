#!/usr/bin/env bash
# A language model as one more annotator (benches/python/llm_worker.py): dropping it, voting
# with its label, or giving Dawid-Skene its probabilities, on generated crowds.
#
#   scripts/bench_llm_worker.sh [--items 2000] [--crowds 5] [--classes 4]
#
# Installs conal's Python package (release build) into a venv under the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/conal/target}"
venv="$CARGO_TARGET_DIR/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check maturin pandas numpy
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python
"$venv/bin/python" benches/python/llm_worker.py "$@"
