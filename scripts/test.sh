#!/usr/bin/env bash
# The test command (README, and .ci/run calls it). Runs every test: unit and integration tests
# through cargo-nextest (falls back to `cargo test` where it is not installed), then the doc
# tests, which nextest does not run.
#
# Tests that need the real data sets read them from $CONAL_DATA_DIR (default ../shared/data);
# without them they print SKIPPED, unless CONAL_REQUIRE_DATA is set (CI), where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --all-targets --no-fail-fast "$@"
else
    echo "cargo-nextest not found; running cargo test (install it with: cargo install cargo-nextest)" >&2
    cargo test --all-targets --no-fail-fast "$@"
fi
cargo test --doc
