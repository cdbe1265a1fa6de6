#!/usr/bin/env bash
# The test command (README, and .ci/run calls it). Runs every test: unit and integration tests
# through cargo-nextest (falls back to `cargo test` where it is not installed), then the doc
# tests, which nextest does not run.
#
# Tests that need the real data sets read them from $CONAL_DATA_DIR (default ../shared/data);
# without them they print SKIPPED, unless CONAL_REQUIRE_DATA is set (CI), where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

# TensorBoard interoperability: install the `tensorboard` Python package into a throwaway venv
# so that a test can read our event files back with TensorBoard's own reader. Without Python
# or network the test says SKIPPED (CI sets CONAL_REQUIRE_TENSORBOARD=1, which fails it).
if [ -z "${CONAL_TENSORBOARD_PYTHON:-}" ] && command -v python3 >/dev/null 2>&1; then
    venv="$(mktemp -d)/tb-venv"
    trap 'rm -rf "$(dirname "$venv")"' EXIT
    if python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check tensorboard; then
        export CONAL_TENSORBOARD_PYTHON="$venv/bin/python"
    else
        echo "could not install tensorboard into a venv; its interoperability test will be skipped" >&2
    fi
fi

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --all-targets --no-fail-fast "$@"
else
    echo "cargo-nextest not found; running cargo test (install it with: cargo install cargo-nextest)" >&2
    cargo test --all-targets --no-fail-fast "$@"
fi
cargo test --doc
